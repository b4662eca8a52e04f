//! Before any lookup: decide what can be decided from the message alone
//! (paused shop, unsupported or privacy topic, undecodable payload), and
//! find the keys the batch should prefetch.

use std::ops::ControlFlow;
use std::sync::Arc;

use so_domain::freshness::EntityKind;
use so_domain::mapping::MappedEntity;
use so_domain::profile_send::PROFILE_SEND_KEY;
use so_domain::shopify::{self, ShopifyId, ShopifyPayload};
use so_domain::{EventMeta, ParkReason, ReasonCode, Stage, TopicName, error_chain};

use crate::accounts::{Account, Accounts};
use crate::outcome::{Failure, Outcome};
use crate::rules::{Rules, ShopRules};

/// The mark on a checkout copy scheduled to come back as its abandonment
/// check.
pub(crate) const ABANDONMENT_CHECK: &str = "abandonment";

/// A message that needs the store and possibly Ometria.
#[derive(Debug)]
pub(crate) struct Screened {
    pub(crate) payload: ShopifyPayload,
    pub(crate) rules: Arc<ShopRules>,
    pub(crate) account: Arc<Account>,
    /// The payload as JSON, only when the shop maps extra fields from it.
    pub(crate) raw: Option<serde_json::Value>,
    /// This is the scheduled abandonment check of the checkout in the body.
    pub(crate) abandonment_check: bool,
    /// When that check first fell due (as scheduled, else when the broker
    /// returned it).
    pub(crate) check_due: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a message is: `Continue` with what preparing it needs, or `Break`
/// with its outcome already.
pub(crate) fn screen(
    rules: &Rules,
    accounts: &Accounts,
    meta: &EventMeta,
    headers: &so_queue::Headers,
    body: &[u8],
) -> ControlFlow<Outcome, Screened> {
    let rules = rules.for_shop(&meta.shop);
    if !rules.settings.enabled {
        return ControlFlow::Break(Outcome::Park(ParkReason::ShopPaused));
    }
    let TopicName::Known(topic) = meta.topic else {
        return ControlFlow::Break(Outcome::Park(ParkReason::UnsupportedTopic));
    };
    let Some(account) = accounts.for_shop(&meta.shop) else {
        // Kept, not failed: configuring the key releases them (dlq replay
        // --queue parked).
        return ControlFlow::Break(Outcome::Park(ParkReason::NoOmetriaAccount));
    };
    let payload = match shopify::decode(topic, body) {
        Ok(payload) => payload,
        Err(e) => {
            return ControlFlow::Break(Outcome::Failed(Failure::DeadLetter {
                stage: Stage::Decode,
                reason: ReasonCode::InvalidPayload,
                detail: error_chain(&e),
            }));
        }
    };
    // A profile send's customer carries its chosen list in the payload.
    let send_marked = matches!(payload, ShopifyPayload::Customer(_))
        && body
            .windows(PROFILE_SEND_KEY.len())
            .any(|w| w == PROFILE_SEND_KEY.as_bytes());
    let raw = MappedEntity::of_payload(&payload)
        .filter(|e| send_marked || !rules.mappings.is_empty(*e))
        .and_then(|_| serde_json::from_slice(body).ok());
    let abandonment_check = matches!(payload, ShopifyPayload::Checkout(_))
        && headers.scheduled.as_deref() == Some(ABANDONMENT_CHECK);
    let check_due = headers
        .due_at
        .or_else(|| headers.broker_death.as_ref().and_then(|d| d.at))
        .filter(|_| abandonment_check);
    ControlFlow::Continue(Screened {
        payload,
        rules,
        account,
        raw,
        abandonment_check,
        check_due,
    })
}

/// Watermark keys (kind, id) and the order id an event will read.
pub(crate) fn lookups(payload: &ShopifyPayload) -> (Vec<(EntityKind, String)>, Option<ShopifyId>) {
    let id = |i: ShopifyId| i.to_string();
    match payload {
        ShopifyPayload::Order(o) => (vec![(EntityKind::Order, id(o.id))], Some(o.id)),
        ShopifyPayload::Refund(r) => (vec![(EntityKind::Order, id(r.order_id))], Some(r.order_id)),
        ShopifyPayload::OrderDelete(d) => (vec![(EntityKind::Order, id(d.id))], Some(d.id)),
        ShopifyPayload::Customer(c) => (
            vec![
                (EntityKind::Customer, id(c.id)),
                (EntityKind::EmailConsent, id(c.id)),
                (EntityKind::SmsConsent, id(c.id)),
            ],
            None,
        ),
        ShopifyPayload::CustomerDelete(d) => (vec![(EntityKind::Customer, id(d.id))], None),
        ShopifyPayload::EmailConsent(u) => {
            (vec![(EntityKind::EmailConsent, id(u.customer_id))], None)
        }
        ShopifyPayload::SmsConsent(u) => (vec![(EntityKind::SmsConsent, id(u.id))], None),
        ShopifyPayload::TagsAdded(e) | ShopifyPayload::TagsRemoved(e) => {
            (vec![(EntityKind::CustomerTags, id(e.customer_id))], None)
        }
        ShopifyPayload::PurchasingSummary(s) => (
            vec![(EntityKind::PurchasingSummary, id(s.customer_id))],
            None,
        ),
        ShopifyPayload::Product(p) => (vec![(EntityKind::Product, id(p.id))], None),
        ShopifyPayload::ProductDelete(d) => (vec![(EntityKind::Product, id(d.id))], None),
        ShopifyPayload::Checkout(c) => (
            c.key()
                .map(|t| vec![(EntityKind::Checkout, t.to_owned())])
                .unwrap_or_default(),
            None,
        ),
        ShopifyPayload::CustomerMerge(_)
        | ShopifyPayload::CustomerRedact(_)
        | ShopifyPayload::DataRequest(_)
        | ShopifyPayload::ShopRedact
        | ShopifyPayload::AppUninstalled
        | ShopifyPayload::CheckoutDelete(_)
        | ShopifyPayload::OrderEdited(_)
        | ShopifyPayload::NotMapped(_) => (Vec::new(), None),
    }
}
