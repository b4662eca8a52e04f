//! Which entity an event belongs to, and which partition keeps its order.
//!
//! Events of one order (create, updates, refunds, fulfilments, edits) share
//! the key `order:<id>`; events of one customer (profile, consent, tags,
//! purchasing summary, privacy requests) share `customer:<id>`. The key is
//! hashed onto a fixed number of partitions, each consumed by one active
//! consumer, so one entity's events are processed in arrival order while
//! different entities run in parallel.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::{ShopDomain, Topic, TopicName};

/// The entity whose events must be processed in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    Order(u64),
    Customer(u64),
    Product(u64),
    /// Checkouts are keyed by `token` since API 2026-04 removed their `id`.
    Checkout(String),
    /// Shop-wide events (`shop/redact`, `app/uninstalled`) and unsupported
    /// topics, which have no finer key.
    Shop,
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityKey::Order(id) => write!(f, "order:{id}"),
            EntityKey::Customer(id) => write!(f, "customer:{id}"),
            EntityKey::Product(id) => write!(f, "product:{id}"),
            EntityKey::Checkout(token) => write!(f, "checkout:{token}"),
            EntityKey::Shop => f.write_str("shop"),
        }
    }
}

impl EntityKey {
    /// Parses the `Display` form back (used when reading queue headers).
    pub fn parse(raw: &str) -> Option<EntityKey> {
        if raw == "shop" {
            return Some(EntityKey::Shop);
        }
        let (kind, value) = raw.split_once(':')?;
        match kind {
            "order" => value.parse().ok().map(EntityKey::Order),
            "customer" => value.parse().ok().map(EntityKey::Customer),
            "product" => value.parse().ok().map(EntityKey::Product),
            "checkout" if !value.is_empty() => Some(EntityKey::Checkout(value.to_owned())),
            _ => None,
        }
    }
}

/// Why a verified body cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body must be a JSON object")]
    NotAnObject,
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("field `{field}` is required for topic {topic} and must be an integer id or GID")]
    MissingEntityId {
        field: &'static str,
        topic: &'static str,
    },
}

/// Shopify's payloads nest a handful of levels (order, line item, tax line,
/// price set, money); anything far deeper is not a webhook, and refusing it
/// here keeps it from reaching decoders with recursion limits.
pub const MAX_DEPTH: usize = 64;

/// The byte offset where `body` first opens more than `max` nested arrays or
/// objects (outside strings), if it does.
fn nested_too_deep(body: &[u8], max: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in body.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Checks that `body` is a JSON object and finds the entity it is about.
pub fn route_payload(topic: &TopicName, body: &[u8]) -> Result<EntityKey, PayloadError> {
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Err(PayloadError::InvalidJson(
            "starts with a byte order mark (JSON must not, RFC 8259)".to_owned(),
        ));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(PayloadError::NotAnObject);
    }
    if let Some(at) = nested_too_deep(body, MAX_DEPTH) {
        return Err(PayloadError::InvalidJson(format!(
            "nested deeper than {MAX_DEPTH} levels at byte {at}"
        )));
    }
    // JSON is UTF-8 (RFC 8259); serde skips unread strings without checking.
    if let Err(e) = std::str::from_utf8(body) {
        return Err(PayloadError::InvalidJson(format!(
            "invalid UTF-8 at byte {}",
            e.valid_up_to()
        )));
    }
    let probe: Probe =
        serde_json::from_slice(body).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
    let TopicName::Known(topic) = topic else {
        return Ok(EntityKey::Shop);
    };
    let missing = |field| PayloadError::MissingEntityId {
        field,
        topic: topic.as_str(),
    };
    let key = match topic {
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersPaid
        | Topic::OrdersFulfilled
        | Topic::OrdersPartiallyFulfilled
        | Topic::OrdersCancelled
        | Topic::OrdersDelete => EntityKey::Order(probe.id.ok_or_else(|| missing("id"))?.0),
        Topic::OrdersEdited => EntityKey::Order(
            probe
                .order_edit
                .and_then(|e| e.order_id)
                .ok_or_else(|| missing("order_edit.order_id"))?
                .0,
        ),
        Topic::RefundsCreate | Topic::FulfillmentsCreate | Topic::FulfillmentsUpdate => {
            EntityKey::Order(probe.order_id.ok_or_else(|| missing("order_id"))?.0)
        }
        Topic::CustomersCreate
        | Topic::CustomersUpdate
        | Topic::CustomersEnable
        | Topic::CustomersDisable
        | Topic::CustomersDelete
        | Topic::CustomersMarketingConsentUpdate => {
            EntityKey::Customer(probe.id.ok_or_else(|| missing("id"))?.0)
        }
        Topic::CustomersEmailMarketingConsentUpdate => {
            EntityKey::Customer(probe.customer_id.ok_or_else(|| missing("customer_id"))?.0)
        }
        Topic::CustomersPurchasingSummary
        | Topic::CustomerTagsAdded
        | Topic::CustomerTagsRemoved => {
            EntityKey::Customer(probe.customer_gid.ok_or_else(|| missing("customerId"))?.0)
        }
        Topic::CustomersMerge => EntityKey::Customer(
            probe
                .kept_customer_gid
                .ok_or_else(|| missing("admin_graphql_api_customer_kept_id"))?
                .0,
        ),
        Topic::CustomersRedact | Topic::CustomersDataRequest => EntityKey::Customer(
            probe
                .customer
                .and_then(|c| c.id)
                .ok_or_else(|| missing("customer.id"))?
                .0,
        ),
        Topic::ProductsCreate | Topic::ProductsUpdate | Topic::ProductsDelete => {
            EntityKey::Product(probe.id.ok_or_else(|| missing("id"))?.0)
        }
        Topic::CheckoutsCreate | Topic::CheckoutsUpdate | Topic::CheckoutsDelete => {
            // `checkouts/delete` samples still carry only the legacy id and cart token.
            match (probe.token, probe.cart_token, probe.id) {
                (Some(token), _, _) if !token.is_empty() => EntityKey::Checkout(token),
                (_, Some(cart), _) if !cart.is_empty() => EntityKey::Checkout(cart),
                (_, _, Some(id)) => EntityKey::Checkout(id.0.to_string()),
                _ => return Err(missing("token")),
            }
        }
        Topic::ShopRedact | Topic::AppUninstalled => EntityKey::Shop,
    };
    Ok(key)
}

/// The partition (0..partitions) that keeps `entity` of `shop` in order.
/// FNV-1a: stable across releases and platforms, unlike `DefaultHasher`,
/// so a rolling deploy never moves a key to another partition.
pub fn partition_for(shop: &ShopDomain, entity: &EntityKey, partitions: u16) -> u16 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let key = format!("{shop}/{entity}");
    let hash = key
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    (hash % u64::from(partitions.max(1))) as u16
}

/// Only the fields routing needs; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Probe {
    id: Option<ResourceId>,
    order_id: Option<ResourceId>,
    customer_id: Option<ResourceId>,
    #[serde(rename = "customerId")]
    customer_gid: Option<ResourceId>,
    #[serde(rename = "admin_graphql_api_customer_kept_id")]
    kept_customer_gid: Option<ResourceId>,
    token: Option<String>,
    cart_token: Option<String>,
    order_edit: Option<OrderEditProbe>,
    customer: Option<CustomerProbe>,
}

#[derive(Deserialize)]
struct OrderEditProbe {
    order_id: Option<ResourceId>,
}

#[derive(Deserialize)]
struct CustomerProbe {
    id: Option<ResourceId>,
}

/// A Shopify resource id: a JSON integer (exact, up to u64) or a GID string
/// such as `gid://shopify/Customer/123`. Floats are refused: an id that went
/// through an f64 has lost precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId(pub u64);

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResourceId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer id or a Shopify GID")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResourceId, E> {
                Ok(ResourceId(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResourceId, E> {
                u64::try_from(v)
                    .map(ResourceId)
                    .map_err(|_| E::custom("negative id"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ResourceId, E> {
                Err(E::custom(
                    "id is not an exact integer (beyond 64 bits or fractional)",
                ))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResourceId, E> {
                parse_gid_or_number(v)
                    .map(ResourceId)
                    .ok_or_else(|| E::custom("malformed id"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Accepts `123` or `gid://shopify/<Type>/123` (query strings ignored).
pub fn parse_gid_or_number(raw: &str) -> Option<u64> {
    let tail = raw.strip_prefix("gid://shopify/").map_or(raw, |rest| {
        let rest = rest.split('?').next().unwrap_or(rest);
        rest.rsplit('/').next().unwrap_or(rest)
    });
    tail.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(t: Topic) -> TopicName {
        TopicName::Known(t)
    }

    #[test]
    fn orders_refunds_and_fulfilments_share_the_order_key() {
        let create = route_payload(&known(Topic::OrdersCreate), br#"{"id":820982911946154508}"#);
        let refund = route_payload(
            &known(Topic::RefundsCreate),
            br#"{"id":1,"order_id":820982911946154508}"#,
        );
        let edit = route_payload(
            &known(Topic::OrdersEdited),
            br#"{"order_edit":{"id":5,"order_id":820982911946154508}}"#,
        );
        assert_eq!(create, Ok(EntityKey::Order(820_982_911_946_154_508)));
        assert_eq!(refund, create);
        assert_eq!(edit, create);
    }

    #[test]
    fn customer_topics_share_the_customer_key_from_ids_and_gids() {
        let a = route_payload(&known(Topic::CustomersUpdate), br#"{"id":42}"#);
        let b = route_payload(
            &known(Topic::CustomerTagsAdded),
            br#"{"customerId":"gid://shopify/Customer/42","tags":[]}"#,
        );
        let c = route_payload(
            &known(Topic::CustomersEmailMarketingConsentUpdate),
            br#"{"customer_id":42}"#,
        );
        assert_eq!(a, Ok(EntityKey::Customer(42)));
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn refuses_non_objects_and_inexact_ids() {
        let t = known(Topic::OrdersCreate);
        assert_eq!(route_payload(&t, b"[1,2]"), Err(PayloadError::NotAnObject));
        let deep = format!("{{\"id\":1,\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert!(
            matches!(route_payload(&t, deep.as_bytes()), Err(PayloadError::InvalidJson(e)) if e.contains("nested deeper"))
        );
        let fine = format!(
            "{{\"id\":1,\"a\":{}{},\"s\":\"[[[[\\\"[[\"}}",
            "[".repeat(62),
            "]".repeat(62)
        );
        assert!(route_payload(&t, fine.as_bytes()).is_ok(), "{fine}");
        assert_eq!(route_payload(&t, b"  "), Err(PayloadError::NotAnObject));
        assert!(matches!(
            route_payload(&t, br#"{"id":123456789012345678901234567890}"#),
            Err(PayloadError::InvalidJson(_))
        ));
        assert!(matches!(
            route_payload(&t, br#"{"id":1.5}"#),
            Err(PayloadError::InvalidJson(_))
        ));
        assert_eq!(
            route_payload(&t, br#"{"name":"x"}"#),
            Err(PayloadError::MissingEntityId {
                field: "id",
                topic: "orders/create"
            })
        );
    }

    #[test]
    fn unsupported_topics_route_by_shop() {
        let t = TopicName::Unsupported("carts/create".into());
        assert_eq!(
            route_payload(&t, br#"{"anything":true}"#),
            Ok(EntityKey::Shop)
        );
    }

    #[test]
    fn partitions_are_stable_and_in_range() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let p = partition_for(&shop, &EntityKey::Order(1), 8);
        assert!(p < 8);
        assert_eq!(p, partition_for(&shop, &EntityKey::Order(1), 8));
        let spread: std::collections::HashSet<_> = (0..200)
            .map(|i| partition_for(&shop, &EntityKey::Order(i), 8))
            .collect();
        assert_eq!(spread.len(), 8);
    }

    #[test]
    fn entity_keys_round_trip() {
        for k in [
            EntityKey::Order(1),
            EntityKey::Customer(2),
            EntityKey::Product(3),
            EntityKey::Checkout("t".into()),
            EntityKey::Shop,
        ] {
            assert_eq!(EntityKey::parse(&k.to_string()), Some(k));
        }
    }
}
