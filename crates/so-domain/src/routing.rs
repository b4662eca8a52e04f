//! Which entity an event belongs to, and which partition keeps its order.
//!
//! Events of one order (create, updates, refunds, fulfilments, edits) share
//! the key `order:<id>`; events of one customer (profile, consent, tags,
//! purchasing summary, privacy requests) share `customer:<id>`. The key is
//! hashed onto a fixed number of partitions, each consumed by one active
//! consumer, so one entity's events are processed in arrival order while
//! different entities run in parallel.

use std::fmt;

use crate::{ParkReason, ShopDomain, Topic, TopicName};

mod fast;
mod probe;

use probe::{Exact, Lenient, Probe};
pub use probe::{ResourceId, parse_gid_or_number};

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
///
/// The first two mean the body is not a JSON object at all (the ingress
/// refuses it); the others are about a JSON object whose entity cannot be
/// derived, which the ingress keeps on the parked queue
/// ([`PayloadError::park_reason`]): an authentic webhook is never refused.
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
    #[error("field `{field}` of topic {topic} is not a usable id: {problem}")]
    InvalidEntityId {
        field: &'static str,
        topic: &'static str,
        problem: String,
    },
}

impl PayloadError {
    /// Where a JSON object that cannot be routed is kept; `None` for a body
    /// that is not a JSON object.
    pub fn park_reason(&self) -> Option<ParkReason> {
        match self {
            PayloadError::NotAnObject | PayloadError::InvalidJson(_) => None,
            PayloadError::MissingEntityId { .. } => Some(ParkReason::MissingEntityId),
            PayloadError::InvalidEntityId { .. } => Some(ParkReason::InvalidEntityId),
        }
    }
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
    // The common case in one pass (`fast`); whatever it does not route is
    // checked and decided, its problem worded, by the reference path.
    if let Some(entity) = route_fast(topic, body) {
        return Ok(entity);
    }
    check_text(body)?;
    route_exact(topic, body)
}

/// What is checked before any parsing: an object, not too deep, UTF-8.
fn check_text(body: &[u8]) -> Result<(), PayloadError> {
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
    Ok(())
}

/// The entity, when the one-pass reading (`fast`) routes the body.
fn route_fast(topic: &TopicName, body: &[u8]) -> Option<EntityKey> {
    route_probe(topic, fast::probe(body)?).ok()
}

/// The reference reading: each probed field as a `serde_json::Value`.
fn route_exact(topic: &TopicName, body: &[u8]) -> Result<EntityKey, PayloadError> {
    let probe: Probe<Exact> = match serde_json::from_slice(body) {
        Ok(probe) => probe,
        // Well-formed JSON whose probed fields are unusable (a duplicate
        // `id`, say): an object we cannot route, not a broken body.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            let TopicName::Known(topic) = topic else {
                return Ok(EntityKey::Shop);
            };
            return Err(PayloadError::InvalidEntityId {
                field: "id",
                topic: topic.as_str(),
                problem: e.to_string(),
            });
        }
        Err(e) => return Err(PayloadError::InvalidJson(e.to_string())),
    };
    route_probe(topic, probe)
}

fn route_probe<M>(topic: &TopicName, probe: Probe<M>) -> Result<EntityKey, PayloadError> {
    let TopicName::Known(topic) = topic else {
        return Ok(EntityKey::Shop);
    };
    route_known(*topic, probe)
}

/// The entity of a known topic from the probed fields.
fn route_known<M>(topic: Topic, probe: Probe<M>) -> Result<EntityKey, PayloadError> {
    let missing = |field: &'static str| PayloadError::MissingEntityId {
        field,
        topic: topic.as_str(),
    };
    // A field that is present but not an id is told apart from one that is absent.
    let id = |field: &'static str, value: Option<Lenient<ResourceId, M>>| match value {
        None => Err(missing(field)),
        Some(l) => l
            .into_result()
            .map_err(|problem| PayloadError::InvalidEntityId {
                field,
                topic: topic.as_str(),
                problem,
            }),
    };
    let key = match topic {
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersPaid
        | Topic::OrdersFulfilled
        | Topic::OrdersPartiallyFulfilled
        | Topic::OrdersCancelled
        | Topic::OrdersDelete => EntityKey::Order(id("id", probe.id)?.0),
        Topic::OrdersEdited => {
            let edit = probe.order_edit.map(Lenient::into_result).transpose();
            let edit = edit.map_err(|problem| PayloadError::InvalidEntityId {
                field: "order_edit.order_id",
                topic: topic.as_str(),
                problem,
            })?;
            EntityKey::Order(id("order_edit.order_id", edit.and_then(|e| e.order_id))?.0)
        }
        Topic::RefundsCreate | Topic::FulfillmentsCreate | Topic::FulfillmentsUpdate => {
            EntityKey::Order(id("order_id", probe.order_id)?.0)
        }
        Topic::CustomersCreate
        | Topic::CustomersUpdate
        | Topic::CustomersEnable
        | Topic::CustomersDisable
        | Topic::CustomersDelete
        | Topic::CustomersMarketingConsentUpdate => EntityKey::Customer(id("id", probe.id)?.0),
        Topic::CustomersEmailMarketingConsentUpdate => {
            EntityKey::Customer(id("customer_id", probe.customer_id)?.0)
        }
        Topic::CustomersPurchasingSummary
        | Topic::CustomerTagsAdded
        | Topic::CustomerTagsRemoved => {
            EntityKey::Customer(id("customerId", probe.customer_gid)?.0)
        }
        Topic::CustomersMerge => EntityKey::Customer(
            id(
                "admin_graphql_api_customer_kept_id",
                probe.kept_customer_gid,
            )?
            .0,
        ),
        Topic::CustomersRedact | Topic::CustomersDataRequest => {
            let customer = probe.customer.map(Lenient::into_result).transpose();
            let customer = customer.map_err(|problem| PayloadError::InvalidEntityId {
                field: "customer.id",
                topic: topic.as_str(),
                problem,
            })?;
            EntityKey::Customer(id("customer.id", customer.and_then(|c| c.id))?.0)
        }
        Topic::ProductsCreate | Topic::ProductsUpdate | Topic::ProductsDelete => {
            EntityKey::Product(id("id", probe.id)?.0)
        }
        Topic::CheckoutsCreate | Topic::CheckoutsUpdate | Topic::CheckoutsDelete => {
            // `checkouts/delete` samples still carry only the legacy id and cart token.
            let text = |v: Option<Lenient<String, M>>| {
                v.and_then(|l| l.into_result().ok())
                    .filter(|t| !t.is_empty())
            };
            match (text(probe.token), text(probe.cart_token), probe.id) {
                (Some(token), _, _) => EntityKey::Checkout(token),
                (_, Some(cart), _) => EntityKey::Checkout(cart),
                (_, _, Some(legacy)) => EntityKey::Checkout(id("id", Some(legacy))?.0.to_string()),
                _ => return Err(missing("token")),
            }
        }
        Topic::ShopRedact | Topic::AppUninstalled => EntityKey::Shop,
    };
    Ok(key)
}

/// The partition (0..partitions) that keeps `entity` of `shop` in order.
/// FNV-1a over `<shop>/<entity>`: stable across releases and platforms,
/// unlike `DefaultHasher`, so a rolling deploy never moves a key to another
/// partition. The key is hashed as it is written, not built (per webhook).
pub fn partition_for(shop: &ShopDomain, entity: &EntityKey, partitions: u16) -> u16 {
    let mut hash = Fnv1a(0xcbf2_9ce4_8422_2325);
    // Writing into the hasher cannot fail.
    let _infallible = fmt::Write::write_fmt(&mut hash, format_args!("{shop}/{entity}"));
    (hash.0 % u64::from(partitions.max(1))) as u16
}

struct Fnv1a(u64);

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        self.0 = s
            .bytes()
            .fold(self.0, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
        Ok(())
    }
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;
