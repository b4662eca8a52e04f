//! Marketing consent → Ometria `marketing_optin` and `channels.sms`.
//!
//! Only explicit states become explicit Ometria values. Everything else
//! (`not_subscribed`, `pending` double opt-in, `invalid`, `redacted`, new
//! values) becomes `NOT_SPECIFIED`. With what is known of the contact's
//! history ([`ConsentHistory`], applied by [`settle_email_consent`]):
//! `NOT_SPECIFIED` is sent only over a contact whose consent we set
//! explicitly before (a move from `subscribed` to `pending` must withdraw
//! our opt-in, but over anyone else it could clear an opt-in Ometria got
//! from its own forms), and `@force_optin` only for an explicit Shopify
//! opt-in newer than an unsubscribe made in Ometria (forced values beat
//! every unforced source, so anything less would override the shopper's
//! own later choice in Ometria).

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

use super::contact::contact_record;
use super::record::{Record, timestamp};
use super::{MappingContext, MappingError};
use crate::identity::ContactRef;
use crate::ometria::{PushRecord, RecordType};
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

/// What is known of a contact's email consent beside the change in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsentHistory {
    /// This service pushed an explicit opt-in or opt-out for the contact.
    pub set_before: bool,
    /// ... and at least one of them with `@force_optin`: only another
    /// forced value overrides a forced one, so every later explicit value
    /// is forced too (or a Shopify unsubscribe could never undo it).
    pub forced_before: bool,
    /// The latest unsubscribe the contact made in Ometria (read by the
    /// consent write-back), if any.
    pub ometria_unsubscribed_at: Option<DateTime<Utc>>,
}

/// What [`settle_email_consent`] did to the contact record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEffect {
    /// The record sets an explicit opt-in or opt-out, `forced` with
    /// `@force_optin`.
    SetExplicitly { forced: bool },
    /// `NOT_SPECIFIED` over a contact never set explicitly: left out.
    NotSpecifiedLeftOut,
    /// Nothing about email consent (or `NOT_SPECIFIED` over our own value).
    Unchanged,
}

/// Adjusts the contact records that carry `consent` (mapped by
/// [`map_email_consent`], or by `map_customer` from a pre-2025 payload) to
/// the contact's `history`: a `NOT_SPECIFIED` over a contact whose consent
/// we never set is removed, and an explicit opt-in whose
/// `consent_updated_at` is newer than an Ometria-side unsubscribe is sent
/// with `@force_optin: true`, as is every explicit value after one we
/// forced. A non-explicit state never forces, nor does an opt-in without
/// its time (it cannot be shown to be newer).
pub fn settle_email_consent(
    records: &mut [PushRecord],
    consent: &MarketingConsent,
    history: &ConsentHistory,
) -> ConsentEffect {
    let Some(state) = &consent.state else {
        return ConsentEffect::Unchanged;
    };
    let optin = marketing_optin(state);
    let contacts = records
        .iter_mut()
        .filter(|r| r.record_type == RecordType::Contact)
        .filter(|r| r.body.get("marketing_optin").and_then(Value::as_str) == Some(optin.as_str()));
    let mut effect = ConsentEffect::Unchanged;
    for record in contacts {
        match optin {
            MarketingOptIn::NotSpecified if !history.set_before => {
                record.body.remove("marketing_optin");
                effect = ConsentEffect::NotSpecifiedLeftOut;
            }
            MarketingOptIn::NotSpecified => {}
            MarketingOptIn::ExplicitlyOptedIn | MarketingOptIn::ExplicitlyOptedOut => {
                let forced = history.forced_before
                    || optin == MarketingOptIn::ExplicitlyOptedIn
                        && opts_in_after_unsubscribe(consent, history);
                if forced {
                    record
                        .body
                        .insert("@force_optin".to_owned(), Value::Bool(true));
                }
                effect = ConsentEffect::SetExplicitly { forced };
            }
        }
    }
    effect
}

/// Whether an explicit opt-in was given after the contact's latest
/// unsubscribe in Ometria.
fn opts_in_after_unsubscribe(consent: &MarketingConsent, history: &ConsentHistory) -> bool {
    match (consent.consent_updated_at, history.ometria_unsubscribed_at) {
        (Some(opted_in), Some(unsubscribed)) => opted_in.with_timezone(&Utc) > unsubscribed,
        _ => false,
    }
}

fn when(at: Option<DateTime<FixedOffset>>, ctx: &MappingContext) -> Value {
    timestamp(&at.unwrap_or_else(|| ctx.event_time.fixed_offset()))
}
