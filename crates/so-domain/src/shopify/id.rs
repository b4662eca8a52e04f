//! Exact Shopify resource ids.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::routing::{ResourceId, parse_gid_or_number};

/// A Shopify resource id (order, customer, product, variant, line item...).
///
/// Real ids exceed 2^53, so they are never allowed near an `f64`: JSON
/// integers and GID strings are accepted, floats refused (the parsing rules
/// are [`ResourceId`]'s, shared with routing so both agree on every id).
/// Serialised as a decimal string, so JSON stored by the worker stays exact
/// even when read back by a tool that uses doubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShopifyId(u64);

impl ShopifyId {
    pub const fn new(raw: u64) -> ShopifyId {
        ShopifyId(raw)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// Accepts `123` or `gid://shopify/<Type>/123`.
    pub fn parse(raw: &str) -> Option<ShopifyId> {
        parse_gid_or_number(raw).map(ShopifyId)
    }
}

impl fmt::Display for ShopifyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for ShopifyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ResourceId::deserialize(d).map(|r| ShopifyId(r.0))
    }
}

impl Serialize for ShopifyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ids_above_2_pow_53_exact_from_integers_and_gids() {
        let from_int: ShopifyId = serde_json::from_str("820982911946154508").unwrap();
        let from_gid: ShopifyId =
            serde_json::from_str(r#""gid://shopify/Order/820982911946154508""#).unwrap();
        assert_eq!(from_int.get(), 820_982_911_946_154_508);
        assert_eq!(from_int, from_gid);
    }

    #[test]
    fn refuses_floats_and_negative_numbers() {
        assert!(serde_json::from_str::<ShopifyId>("8.2e17").is_err());
        assert!(serde_json::from_str::<ShopifyId>("1.5").is_err());
        assert!(serde_json::from_str::<ShopifyId>("-3").is_err());
    }

    #[test]
    fn serialises_as_a_string_and_reads_it_back() {
        let id = ShopifyId::new(820_982_911_946_154_508);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#""820982911946154508""#);
        assert_eq!(serde_json::from_str::<ShopifyId>(&json).unwrap(), id);
    }
}
