//! Marketing consent → Ometria `marketing_optin` and `channels.sms`.
//!
//! Only explicit states become explicit Ometria values. Everything else
//! (`not_subscribed`, `pending` double opt-in, `invalid`, `redacted`, new
//! values) becomes `NOT_SPECIFIED`, which is *sent* rather than omitted: a
//! move from `subscribed` to `pending` must withdraw the opt-in on our
//! listing. We never send `@force_optin`: forced values would override the
//! shopper's own choices in Ometria's preference centre.

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use super::contact::contact_record;
use super::record::{Record, timestamp};
use super::{MappingContext, MappingError};
use crate::identity::ContactRef;
use crate::ometria::PushRecord;
use crate::shopify::{ConsentState, EmailConsentUpdate, MarketingConsent, SmsConsentUpdate};

/// Ometria's `marketing_optin` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketingOptIn {
    ExplicitlyOptedIn,
    ExplicitlyOptedOut,
    NotSpecified,
}

impl MarketingOptIn {
    pub fn as_str(self) -> &'static str {
        match self {
            MarketingOptIn::ExplicitlyOptedIn => "EXPLICITLY_OPTEDIN",
            MarketingOptIn::ExplicitlyOptedOut => "EXPLICITLY_OPTEDOUT",
            MarketingOptIn::NotSpecified => "NOT_SPECIFIED",
        }
    }
}

pub fn marketing_optin(state: &ConsentState) -> MarketingOptIn {
    match state {
        ConsentState::Subscribed => MarketingOptIn::ExplicitlyOptedIn,
        ConsentState::Unsubscribed => MarketingOptIn::ExplicitlyOptedOut,
        ConsentState::NotSubscribed
        | ConsentState::Pending
        | ConsentState::Redacted
        | ConsentState::Invalid
        | ConsentState::Other(_) => MarketingOptIn::NotSpecified,
    }
}

/// `customers_email_marketing_consent/update`.
pub fn map_email_consent(
    ctx: &MappingContext,
    contact: &ContactRef,
    update: &EmailConsentUpdate,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    record.set_text("email", update.email_address.as_deref());
    if let Some(consent) = &update.email_marketing_consent {
        apply_email_consent(&mut record, consent, ctx);
    }
    Ok(vec![record.finish()?])
}

/// `customers_marketing_consent/update` (SMS).
pub fn map_sms_consent(
    ctx: &MappingContext,
    contact: &ContactRef,
    update: &SmsConsentUpdate,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    record.set_text("phone_number", update.phone.as_deref());
    if let Some(consent) = &update.sms_marketing_consent {
        apply_sms_consent(&mut record, consent, ctx);
    }
    Ok(vec![record.finish()?])
}

/// Sets `marketing_optin` and the matching timestamp. Ometria fires its
/// subscribe event only when `marketing_optin` and `timestamp_subscribed`
/// arrive together, so a `null` consent time falls back to the event time.
pub(crate) fn apply_email_consent(
    record: &mut Record,
    consent: &MarketingConsent,
    ctx: &MappingContext,
) {
    let Some(state) = &consent.state else { return };
    let optin = marketing_optin(state);
    record.set("marketing_optin", optin.as_str());
    let at = when(consent.consent_updated_at, ctx);
    match optin {
        MarketingOptIn::ExplicitlyOptedIn => record.set("timestamp_subscribed", at),
        MarketingOptIn::ExplicitlyOptedOut => record.set("timestamp_unsubscribed", at),
        MarketingOptIn::NotSpecified => {}
    }
}

/// `channels.sms`: marketing is allowed only for `subscribed`. A `null`
/// state (no phone, as in Shopify's sample) says nothing and sends nothing.
pub(crate) fn apply_sms_consent(
    record: &mut Record,
    consent: &MarketingConsent,
    ctx: &MappingContext,
) {
    let Some(state) = &consent.state else { return };
    let sms = json!({
        "allow_marketing": *state == ConsentState::Subscribed,
        "dt_updated_marketing": when(consent.consent_updated_at, ctx),
    });
    record.set("channels", json!({ "sms": sms }));
}

fn when(at: Option<DateTime<FixedOffset>>, ctx: &MappingContext) -> Value {
    timestamp(&at.unwrap_or_else(|| ctx.event_time.fixed_offset()))
}
