//! A Shopify opt-in the worker applied before the write-back saw the
//! Ometria unsubscribe it overrides (decision `shopify_consent_newer`).
//!
//! The worker forces an explicit opt-in newer than an Ometria-side
//! unsubscribe (`@force_optin`), but it knows of the unsubscribe only once
//! the write-back recorded it. When the opt-in came first, it went out
//! unforced and Ometria kept the profile opted out. So, after recording the
//! decision, the write-back publishes that opt-in again as the consent
//! webhook it was (deterministic webhook id, the consent time as version):
//! the worker applies it (an equal version from another webhook is applied)
//! and, now knowing the unsubscribe, forces it.

use serde_json::json;
use so_queue::Publisher;
use so_shopify_admin::{Customer, EmailMarketingState, Synthesized};

/// Where the opt-in is published again.
#[derive(Clone, Copy)]
pub struct Republish<'a> {
    pub publisher: &'a Publisher,
    /// `shopify_admin.api_version`, the version the event claims.
    pub api_version: &'a str,
}

/// The `customers_email_marketing_consent/update` of `customer`'s current
/// opt-in, if it is an explicit, dated one.
pub(crate) fn opt_in_event(customer_id: u64, customer: &Customer) -> Option<Synthesized> {
    if customer.marketing_state() != Some(EmailMarketingState::Subscribed) {
        return None;
    }
    let at = customer.marketing_changed_at()?;
    Some(Synthesized {
        topic: "customers_email_marketing_consent/update",
        entity_id: customer_id.to_string(),
        updated_at: Some(at),
        body: json!({
            "customer_id": customer_id,
            "email_address": customer.email_address(),
            "email_marketing_consent": {
                "state": "subscribed",
                "consent_updated_at": at.to_rfc3339(),
            },
        }),
    })
}
