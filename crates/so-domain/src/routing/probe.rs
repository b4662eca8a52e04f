//! The fields routing reads from a body, and the two ways of reading them.
//!
//! [`Exact`] reads each probed field as a `serde_json::Value`, then as its
//! type: the reference behaviour, whose error texts the parked events carry.
//! [`Fast`] reads the same fields in place ([`super::fast`]), without
//! building values; it refuses anything unusual, so that whenever it routes
//! a body, the exact reading routes it the same way (see `route_payload`).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Probed fields read through `serde_json::Value` (the reference).
pub(super) struct Exact;
/// Probed fields read in place; refuses unusual shapes.
pub(super) struct Fast;

/// Only the fields routing needs; everything else is skipped unparsed.
/// Each is [`Lenient`]: a field of the wrong type fails only the topics
/// that need it (an `order_id` string does not matter to `products/update`).
#[derive(Deserialize)]
#[serde(bound(deserialize = "Lenient<ResourceId, M>: Deserialize<'de>, \
                             Lenient<String, M>: Deserialize<'de>, \
                             Lenient<OrderEditProbe<M>, M>: Deserialize<'de>, \
                             Lenient<CustomerProbe<M>, M>: Deserialize<'de>"))]
pub(super) struct Probe<M> {
    pub(super) id: Option<Lenient<ResourceId, M>>,
    pub(super) order_id: Option<Lenient<ResourceId, M>>,
    pub(super) customer_id: Option<Lenient<ResourceId, M>>,
    #[serde(rename = "customerId")]
    pub(super) customer_gid: Option<Lenient<ResourceId, M>>,
    #[serde(rename = "admin_graphql_api_customer_kept_id")]
    pub(super) kept_customer_gid: Option<Lenient<ResourceId, M>>,
    pub(super) token: Option<Lenient<String, M>>,
    pub(super) cart_token: Option<Lenient<String, M>>,
    pub(super) order_edit: Option<Lenient<OrderEditProbe<M>, M>>,
    pub(super) customer: Option<Lenient<CustomerProbe<M>, M>>,
}

impl<M> Probe<M> {
    pub(super) fn empty() -> Self {
        Probe {
            id: None,
            order_id: None,
            customer_id: None,
            customer_gid: None,
            kept_customer_gid: None,
            token: None,
            cart_token: None,
            order_edit: None,
            customer: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "Lenient<ResourceId, M>: Deserialize<'de>"))]
pub(super) struct OrderEditProbe<M> {
    pub(super) order_id: Option<Lenient<ResourceId, M>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "Lenient<ResourceId, M>: Deserialize<'de>"))]
pub(super) struct CustomerProbe<M> {
    pub(super) id: Option<Lenient<ResourceId, M>>,
}

/// A probed object of one id field (`order_edit`, `customer`), for the
/// fast reading.
pub(super) trait OneIdObject<M>: Sized {
    /// serde's name for it in error texts (`struct CustomerProbe`).
    const EXPECTED: &'static str;
    const FIELD: &'static str;
    fn with_id(id: Option<Lenient<ResourceId, M>>) -> Self;
}

impl<M> OneIdObject<M> for OrderEditProbe<M> {
    const EXPECTED: &'static str = "struct OrderEditProbe";
    const FIELD: &'static str = "order_id";
    fn with_id(order_id: Option<Lenient<ResourceId, M>>) -> Self {
        OrderEditProbe { order_id }
    }
}

impl<M> OneIdObject<M> for CustomerProbe<M> {
    const EXPECTED: &'static str = "struct CustomerProbe";
    const FIELD: &'static str = "id";
    fn with_id(id: Option<Lenient<ResourceId, M>>) -> Self {
        CustomerProbe { id }
    }
}

/// A field read as any JSON value, then as `T`: its problem is kept instead
/// of failing the whole probe, so routing can say which field was unusable.
pub(super) struct Lenient<T, M>(Result<T, String>, PhantomData<M>);

impl<T, M> Lenient<T, M> {
    pub(super) fn new(result: Result<T, String>) -> Self {
        Lenient(result, PhantomData)
    }

    pub(super) fn into_result(self) -> Result<T, String> {
        self.0
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T, Exact> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Lenient::new(
            T::deserialize(value).map_err(|e| e.to_string()),
        ))
    }
}

/// A Shopify resource id: a JSON integer (exact, up to u64) or a GID string
/// such as `gid://shopify/Customer/123`. Floats are refused: an id that went
/// through an f64 has lost precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId(pub u64);

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ResourceIdVisitor)
    }
}

/// What a [`ResourceId`] accepts; the fast reading calls it directly.
pub(super) struct ResourceIdVisitor;

impl<'de> Visitor<'de> for ResourceIdVisitor {
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

/// Accepts `123` or `gid://shopify/<Type>/123` (query strings ignored).
pub fn parse_gid_or_number(raw: &str) -> Option<u64> {
    let tail = raw.strip_prefix("gid://shopify/").map_or(raw, |rest| {
        let rest = rest.split('?').next().unwrap_or(rest);
        rest.rsplit('/').next().unwrap_or(rest)
    });
    tail.parse().ok()
}
