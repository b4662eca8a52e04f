//! `Duration` fields that configuration files write as whole milliseconds
//! (`*_ms` keys) or seconds (`*_secs` keys), for `#[serde(with = ...)]`.
//!
//! One helper for every settings type, so the units are converted once, at
//! the configuration boundary, and nothing downstream juggles them. The
//! serialized form is the written form, so `check-config` prints the keys
//! and numbers the file holds.

/// `Duration` <-> integer milliseconds.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// `Duration` <-> integer seconds.
pub mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Timing {
        #[serde(rename = "timeout_ms", with = "super::millis")]
        timeout: Duration,
        #[serde(rename = "interval_secs", with = "super::secs")]
        interval: Duration,
    }

    #[test]
    fn round_trips_through_the_written_units() {
        let t: Timing =
            serde_json::from_str(r#"{"timeout_ms": 1500, "interval_secs": 300}"#).unwrap();
        assert_eq!(t.timeout, Duration::from_millis(1500));
        assert_eq!(t.interval, Duration::from_secs(300));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"timeout_ms":1500,"interval_secs":300}"#
        );
    }

    #[test]
    fn refuses_what_a_u64_refuses() {
        for bad in [
            r#"{"timeout_ms": -1, "interval_secs": 1}"#,
            r#"{"timeout_ms": 1.5, "interval_secs": 1}"#,
            r#"{"timeout_ms": "1s", "interval_secs": 1}"#,
        ] {
            assert!(serde_json::from_str::<Timing>(bad).is_err(), "{bad}");
        }
    }
}
