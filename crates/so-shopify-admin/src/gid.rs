//! Shopify global ids: `gid://shopify/Customer/123` ⇄ `("Customer", 123)`.
//!
//! Numeric ids are above 2^53, so they are `u64`, never `f64`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const PREFIX: &str = "gid://shopify/";

/// A parsed global id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gid {
    kind: String,
    id: u64,
}

/// Why a string is not the global id expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GidError {
    /// Not `gid://shopify/{Kind}/{number}`.
    #[error("not a Shopify global id: {0:?}")]
    Malformed(String),
    /// A well-formed id of another resource.
    #[error("expected a {expected} id, got {found}")]
    WrongKind {
        /// The resource asked for, e.g. `Customer`.
        expected: String,
        /// The id that came instead.
        found: String,
    },
}

impl Gid {
    /// `gid://shopify/{kind}/{id}`.
    pub fn new(kind: &str, id: u64) -> Self {
        Gid {
            kind: kind.to_owned(),
            id,
        }
    }

    /// `gid://shopify/Customer/{id}`.
    pub fn customer(id: u64) -> Self {
        Gid::new("Customer", id)
    }

    /// Parses a global id. A query string (`…/123?foo=bar`, used by a few
    /// resources) is ignored.
    pub fn parse(s: &str) -> Result<Self, GidError> {
        let malformed = || GidError::Malformed(s.to_owned());
        let rest = s.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (kind, id) = rest.split_once('/').ok_or_else(malformed)?;
        let id = id.split('?').next().unwrap_or(id);
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(malformed());
        }
        let id = id.parse().map_err(|_| malformed())?;
        Ok(Gid::new(kind, id))
    }

    /// The resource name, e.g. `Customer`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The numeric (legacy REST) id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The numeric id, if this is an id of `kind`.
    pub fn expect(&self, kind: &str) -> Result<u64, GidError> {
        if self.kind == kind {
            Ok(self.id)
        } else {
            Err(GidError::WrongKind {
                expected: kind.to_owned(),
                found: self.to_string(),
            })
        }
    }
}

/// Parses `gid` and checks it is an id of `kind`.
pub fn parse_id(kind: &str, gid: &str) -> Result<u64, GidError> {
    Gid::parse(gid)?.expect(kind)
}

/// `gid://shopify/{kind}/{id}` as a string.
pub fn to_gid(kind: &str, id: u64) -> String {
    Gid::new(kind, id).to_string()
}

impl fmt::Display for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{}", self.kind, self.id)
    }
}

impl FromStr for Gid {
    type Err = GidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gid::parse(s)
    }
}

impl Serialize for Gid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Gid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Gid::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_ids_above_2_pow_53() {
        let id = 820_982_911_946_154_508_u64;
        let s = to_gid("Customer", id);
        assert_eq!(s, "gid://shopify/Customer/820982911946154508");
        assert_eq!(parse_id("Customer", &s), Ok(id));
        let g: Gid = s.parse().unwrap();
        assert_eq!((g.kind(), g.id()), ("Customer", id));
        assert_eq!(serde_json::to_value(&g).unwrap(), serde_json::json!(s));
    }

    #[test]
    fn rejects_malformed_and_wrong_kinds() {
        for bad in [
            "",
            "820982911946154508",
            "gid://shopify/Customer/",
            "gid://shopify/Customer/abc",
            "gid://shopify//1",
            "gid://other/Customer/1",
            "gid://shopify/Customer/-1",
        ] {
            assert!(Gid::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_id("Customer", "gid://shopify/Order/1"),
            Err(GidError::WrongKind { .. })
        ));
        assert_eq!(
            Gid::parse("gid://shopify/LineItem/5?variant=1").map(|g| g.id()),
            Ok(5)
        );
    }
}
