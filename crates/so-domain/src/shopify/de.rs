//! Deserialisation helpers for fields Shopify sends in more than one shape.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// `null` and a missing field both become the default (an empty list...).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A non-negative count that GraphQL-shaped payloads send as a string
/// (`UnsignedInt64`) and REST-shaped ones as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a string holding one")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map(Count)
                    .map_err(|_| E::custom("negative count"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                v.trim()
                    .parse()
                    .map(Count)
                    .map_err(|_| E::custom("malformed count"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "null_default")]
        items: Vec<u8>,
        count: Count,
    }

    #[test]
    fn null_lists_are_empty_and_counts_accept_strings() {
        let p: Probe = serde_json::from_str(r#"{"items":null,"count":"7"}"#).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.count, Count(7));
        let p: Probe = serde_json::from_str(r#"{"count":7}"#).unwrap();
        assert_eq!(p.count, Count(7));
    }
}
