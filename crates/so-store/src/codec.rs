//! Conversions between domain values and the column types both backends share through sqlx's
//! `Any` driver (which knows only integers, floats, text, blobs and booleans).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use so_domain::ShopifyId;

use crate::error::{Error, Result};

/// Ids go into BIGINT columns as they are: exact, unlike anything passing through a double.
pub(crate) fn id_to_db(id: ShopifyId) -> Result<i64> {
    i64::try_from(id.get()).map_err(|_| Error::IdOutOfRange(id))
}

pub(crate) fn id_from_db(raw: i64, what: &'static str) -> Result<ShopifyId> {
    u64::try_from(raw)
        .map(ShopifyId::new)
        .map_err(|_| Error::Corrupt { what, source: None })
}

/// Microseconds since the epoch: exact for Shopify's second-resolution versions and ordered the
/// same way as the instants, so SQL can compare them.
pub(crate) fn time_to_db(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn time_from_db(raw: i64, what: &'static str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(raw).ok_or(Error::Corrupt { what, source: None })
}

pub(crate) fn to_json(value: &impl Serialize, what: &'static str) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Encode { what, source })
}

pub(crate) fn from_json<T: DeserializeOwned>(raw: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(raw).map_err(|source| Error::Corrupt {
        what,
        source: Some(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_exactly_and_refuse_the_unsigned_top_half() {
        let big = ShopifyId::new(9_007_199_254_740_993);
        assert_eq!(id_from_db(id_to_db(big).unwrap(), "id").unwrap(), big);
        assert!(id_to_db(ShopifyId::new(u64::MAX)).is_err());
        assert!(id_from_db(-1, "id").is_err());
    }

    #[test]
    fn times_round_trip_to_the_microsecond() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        assert_eq!(time_from_db(time_to_db(at), "t").unwrap(), at);
    }
}
