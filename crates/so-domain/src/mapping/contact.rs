//! `customers/*` → Ometria `contact`.
//!
//! A 2025-01+ customer payload has no consent, tags or order totals; those
//! fields are then *omitted*, never sent empty, so Ometria (which merges
//! pushed fields) keeps what their own topics set. The `properties` built
//! here are only this event's part: the worker merges them into the
//! contact's property snapshot and sends the whole set, since Ometria may
//! replace `properties` whole (docs/identity.md).

use serde_json::{Map, Value};

use super::consent::{apply_email_consent, apply_sms_consent};
use super::record::{Record, text, timestamp};
use super::tags::TagSet;
use super::{MappingContext, MappingError};
use crate::identity::ContactRef;
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{Customer, Money, PurchasingSummary};

/// Whether one legacy part of a pre-2025-01 payload is applied. The worker
/// skips a part whose own watermark (consent time) says it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Apply,
    Skip,
}

/// The legacy parts of a pre-2025-01 customer payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyParts {
    pub email_consent: Part,
    pub sms_consent: Part,
    pub tags: Part,
}

impl LegacyParts {
    pub const ALL: LegacyParts = LegacyParts {
        email_consent: Part::Apply,
        sms_consent: Part::Apply,
        tags: Part::Apply,
    };
}

/// `customers/create|update|enable|disable`.
pub fn map_customer(
    ctx: &MappingContext,
    contact: &ContactRef,
    customer: &Customer,
    legacy: LegacyParts,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    record.set_text("email", customer.email.as_deref());
    record.set_text("phone_number", customer.phone.as_deref());
    record.set_text("firstname", customer.first_name.as_deref());
    record.set_text("lastname", customer.last_name.as_deref());
    record.set_opt(
        "timestamp_acquired",
        customer.created_at.as_ref().map(timestamp),
    );
    record.set_opt(
        "country_id",
        text(
            customer
                .default_address
                .as_ref()
                .and_then(|a| a.country_code.as_deref()),
        ),
    );
    record.set("store_ids", vec![ctx.store.clone()]);

    let mut properties = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            properties.insert(key.to_owned(), v);
        }
    };
    put(
        "shopify_state",
        text(customer.state.as_deref()).map(Value::from),
    );
    put(
        "shopify_verified_email",
        customer.verified_email.map(Value::from),
    );
    // Pre-2025-01 only: absent keys are left alone in Ometria.
    put(
        "shopify_orders_count",
        customer.orders_count.map(|c| Value::from(c.0)),
    );
    put(
        "shopify_total_spent",
        customer.total_spent.map(Money::to_json),
    );
    put(
        "shopify_last_order_id",
        customer.last_order_id.map(|id| Value::from(ctx.id(id))),
    );
    if let (Some(tags), Part::Apply) = (&customer.tags, legacy.tags) {
        put("shopify_tags", Some(TagSet::parse_csv(tags).to_json()));
    }
    if !properties.is_empty() {
        record.set("properties", properties);
    }
    if let (Some(consent), Part::Apply) = (&customer.email_marketing_consent, legacy.email_consent)
    {
        apply_email_consent(&mut record, consent, ctx);
    }
    if let (Some(consent), Part::Apply) = (&customer.sms_marketing_consent, legacy.sms_consent) {
        apply_sms_consent(&mut record, consent, ctx);
    }
    Ok(vec![record.finish()?])
}

/// `customers/delete`. Ometria's push API cannot delete a contact, and a
/// deleted account is no statement about consent, so the listing is kept
/// and marked; identity then suppresses any later event for this id.
/// (Erasure is `customers/redact`, through Ometria's GDPR API.)
pub fn map_customer_delete(
    _ctx: &MappingContext,
    contact: &ContactRef,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    record.set(
        "properties",
        serde_json::json!({ "shopify_state": "deleted" }),
    );
    Ok(vec![record.finish()?])
}

/// `customers/purchasing_summary`.
pub fn map_purchasing_summary(
    ctx: &MappingContext,
    contact: &ContactRef,
    summary: &PurchasingSummary,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    let mut properties = Map::new();
    if let Some(count) = summary.number_of_orders {
        properties.insert("shopify_orders_count".to_owned(), Value::from(count.0));
    }
    if let Some(spent) = &summary.amount_spent {
        properties.insert("shopify_total_spent".to_owned(), spent.amount.to_json());
        if let Some(code) = text(spent.currency_code.as_deref()) {
            properties.insert("shopify_total_spent_currency".to_owned(), Value::from(code));
        }
    }
    if let Some(id) = summary.last_order_id {
        properties.insert("shopify_last_order_id".to_owned(), Value::from(ctx.id(id)));
    }
    record.set("properties", properties);
    Ok(vec![record.finish()?])
}

/// `@type`, `id`, `@collection` and (customers only) `customer_id`.
pub(crate) fn contact_record(contact: &ContactRef) -> Record {
    let mut record = Record::new(RecordType::Contact, contact.ometria_id());
    record.set("@collection", contact.collection().as_str());
    record.set_opt("customer_id", contact.customer_id());
    record
}
