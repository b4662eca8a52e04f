//! Before any lookup: decide what can be decided from the message alone
//! (paused shop, unsupported or privacy topic, undecodable payload), and
//! find the keys the batch should prefetch.

use so_domain::freshness::EntityKind;
use so_domain::identity::Namespace;
use so_domain::shopify::{self, ShopifyId, ShopifyPayload};
use so_domain::{EventMeta, ReasonCode, Topic, TopicName};
use so_runtime::Config;

use crate::prepare::Plan;

/// A message that needs the store and possibly Ometria.
#[derive(Debug)]
pub(crate) struct Screened {
    pub(crate) payload: ShopifyPayload,
    pub(crate) ns: Namespace,
}

pub(crate) fn screen(config: &Config, meta: &EventMeta, body: &[u8]) -> Result<Screened, Plan> {
    let shop_settings = config.shops.get(meta.shop.as_str());
    if shop_settings.is_some_and(|s| !s.enabled) {
        return Err(Plan::Park {
            reason: "shop_paused",
        });
    }
    let TopicName::Known(topic) = meta.topic else {
        return Err(Plan::Park {
            reason: "unsupported_topic",
        });
    };
    if matches!(
        topic,
        Topic::CustomersRedact
            | Topic::CustomersDataRequest
            | Topic::ShopRedact
            | Topic::AppUninstalled
    ) {
        // Privacy and lifecycle topics have their own handling (issue 5);
        // parked, they are kept until it exists.
        return Err(Plan::Park {
            reason: "privacy_or_lifecycle_topic",
        });
    }
    let ns =
        Namespace::parse(shop_settings.map_or("", |s| s.namespace.as_str())).map_err(|_| {
            Plan::DeadLetter {
                stage: "config",
                reason: ReasonCode::Internal,
                detail: format!("the namespace configured for {} is invalid", meta.shop),
            }
        })?;
    let payload = shopify::decode(topic, body).map_err(|e| Plan::DeadLetter {
        stage: "decode",
        reason: ReasonCode::InvalidPayload,
        detail: crate::prepare::error_chain(&e),
    })?;
    Ok(Screened { payload, ns })
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
        ShopifyPayload::CustomerMerge(_)
        | ShopifyPayload::Checkout(_)
        | ShopifyPayload::CheckoutDelete(_)
        | ShopifyPayload::OrderEdited(_)
        | ShopifyPayload::NotMapped(_) => (Vec::new(), None),
    }
}
