//! Ometria's timestamp formats. The read endpoints do not use ISO 8601:
//! `/v2/unsubscribes` answers `"2017-05-17 22:08:07+00"` and the GDPR API
//! Postgres' text form `"2017-02-04 10:18:12.833949+00"`. Both, ISO 8601 /
//! RFC 3339 and a zone-less time (taken as UTC) are accepted.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// The query format of `since`/`before` (UTC, no zone): `YYYY-MM-DDTHH:MM:SS`.
pub(crate) const QUERY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Parses any of the formats above; `None` if it is none of them.
pub(crate) fn parse(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // `%#z` takes `+00`, `+0000` and `+00:00`.
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// `since`/`before` as Ometria wants them.
pub(crate) fn query(t: DateTime<Utc>) -> String {
    t.format(QUERY_FORMAT).to_string()
}

/// Serde: a required timestamp in any accepted format.
pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let raw = String::deserialize(d)?;
    parse(&raw).ok_or_else(|| invalid(&raw))
}

/// Serde: a timestamp that may be null, absent (with `#[serde(default)]`) or
/// empty. Anything else unreadable is an error, not "absent": a completion
/// time Ometria sent must not be mistaken for none.
pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(raw) if raw.trim().is_empty() => Ok(None),
        Some(raw) => parse(&raw).map(Some).ok_or_else(|| invalid(&raw)),
    }
}

fn invalid<E: serde::de::Error>(raw: &str) -> E {
    // The value is a timestamp, never personal data, so it may be quoted.
    E::custom(format!("unrecognised Ometria timestamp {raw:?}"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2017, 5, 17, h, m, s).unwrap()
    }

    #[test]
    fn parses_the_unsubscribe_format() {
        assert_eq!(parse("2017-05-17 22:08:07+00"), Some(at(22, 8, 7)));
        assert_eq!(parse("2017-05-17 23:08:07+01"), Some(at(22, 8, 7)));
        assert_eq!(parse("2017-05-17 22:08:07+0000"), Some(at(22, 8, 7)));
        assert_eq!(parse(" 2017-05-17 22:08:07 "), Some(at(22, 8, 7)));
    }

    #[test]
    fn parses_postgres_timestamps_with_microseconds() {
        let t = Utc.with_ymd_and_hms(2017, 2, 4, 10, 18, 12).unwrap()
            + TimeDelta::microseconds(833_949);
        assert_eq!(parse("2017-02-04 10:18:12.833949+00"), Some(t));
        assert_eq!(parse("2017-02-04 12:18:12.833949+02:00"), Some(t));
        assert_eq!(parse("2017-02-04 10:18:12.833949"), Some(t));
    }

    #[test]
    fn parses_iso_8601_too() {
        assert_eq!(parse("2017-05-17T22:08:07Z"), Some(at(22, 8, 7)));
        assert_eq!(parse("2017-05-17T22:08:07+00:00"), Some(at(22, 8, 7)));
        assert_eq!(
            parse("2017-05-17T22:08:07.5+00"),
            Some(at(22, 8, 7) + TimeDelta::milliseconds(500))
        );
        assert_eq!(parse("2017-05-17T22:08:07"), Some(at(22, 8, 7)));
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2017-05-17",
            "17/05/2017 22:08",
            "2017-05-17 25:00:00+00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn query_format_is_utc_without_zone() {
        assert_eq!(query(at(22, 8, 7)), "2017-05-17T22:08:07");
        let with_nanos = at(22, 8, 7) + TimeDelta::nanoseconds(999);
        assert_eq!(query(with_nanos), "2017-05-17T22:08:07");
    }

    #[test]
    fn serde_helpers_tolerate_null_and_refuse_garbage() {
        #[derive(Debug, Deserialize)]
        struct T {
            #[serde(deserialize_with = "required")]
            a: DateTime<Utc>,
            #[serde(default, deserialize_with = "optional")]
            b: Option<DateTime<Utc>>,
        }
        let t: T = serde_json::from_str(r#"{"a": "2017-05-17 22:08:07+00", "b": null}"#).unwrap();
        assert_eq!((t.a, t.b), (at(22, 8, 7), None));
        let t: T = serde_json::from_str(r#"{"a": "2017-05-17 22:08:07+00"}"#).unwrap();
        assert_eq!(t.b, None);
        let t: T =
            serde_json::from_str(r#"{"a": "2017-05-17 22:08:07+00", "b": "2017-05-17T22:08:07Z"}"#)
                .unwrap();
        assert_eq!(t.b, Some(at(22, 8, 7)));
        let e = serde_json::from_str::<T>(r#"{"a": "2017-05-17 22:08:07+00", "b": "soon"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unrecognised Ometria timestamp"));
        assert!(serde_json::from_str::<T>(r#"{"a": null}"#).is_err());
    }
}
