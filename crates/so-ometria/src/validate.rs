//! Local validation of what Ometria documents about a record, before it is
//! pushed. Ometria answers a push with `OK` and validates later, so a record
//! it refuses is only visible in `GET /v2/push/_errors`; whatever can be
//! known here is caught here instead, and the record is never sent.
//!
//! What is checked (shared/reference/ometria.md §2, the parts marked [C]):
//! - `custom_event`: `event_type` a string of at most 32 characters (Ometria
//!   would silently truncate a longer one, so two types could collide); each
//!   `properties` value a string of at most 512 characters, a boolean, a
//!   number, a date (a string), or a product list (an array of product ids
//!   or product objects). `null` counts as "not sent": no documented type,
//!   but no documented refusal either.
//! - every record: the timestamps it carries are ISO 8601 with an offset or
//!   `Z` (a local time would be read in Ometria's zone).
//!
//! Size (60,000 bytes) is checked by [`crate::plan_batches`] beside this.
//! Messages name the field and the rule, never the value: values are
//! customer data.

use serde_json::{Map, Value};
use so_domain::ReasonCode;
use so_domain::ometria::{PushRecord, RecordType};

/// Longest `event_type` Ometria keeps whole.
pub const MAX_EVENT_TYPE_CHARS: usize = 32;
/// Longest string value of a custom-event property.
pub const MAX_PROPERTY_STRING_CHARS: usize = 512;

/// Top-level timestamp fields, by record type.
const TIMESTAMPS: &[(RecordType, &str)] = &[
    (RecordType::Order, "timestamp"),
    (RecordType::CustomEvent, "timestamp"),
    (RecordType::Contact, "timestamp_acquired"),
    (RecordType::Contact, "timestamp_subscribed"),
    (RecordType::Contact, "timestamp_unsubscribed"),
    (RecordType::Product, "special_price_dt_from"),
    (RecordType::Product, "special_price_dt_to"),
];

/// Why a record must not be sent: where, in Ometria's path notation
/// (`root > properties > x`), and which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct Invalid {
    /// Ometria's notation, e.g. `root > event_type`.
    pub path: String,
    /// The documented rule it breaks.
    pub rule: &'static str,
}

impl Invalid {
    /// Why the caller dead-letters the record.
    pub const REASON: ReasonCode = ReasonCode::RecordInvalid;
}

/// The first documented rule `record` breaks, if any.
pub fn validate_record(record: &PushRecord) -> Result<(), Invalid> {
    let body = &record.body;
    for (_, key) in TIMESTAMPS.iter().filter(|(t, _)| *t == record.record_type) {
        check_timestamp(body, key, &path(&[key]))?;
    }
    if let Some(Value::Object(sms)) = body.get("channels").and_then(|c| c.get("sms")) {
        for key in ["dt_updated_marketing", "dt_updated_transactional"] {
            check_timestamp(sms, key, &path(&["channels", "sms", key]))?;
        }
    }
    if record.record_type == RecordType::CustomEvent {
        custom_event(body)?;
    }
    Ok(())
}

fn custom_event(body: &Map<String, Value>) -> Result<(), Invalid> {
    match body.get("event_type") {
        Some(Value::String(s)) if s.chars().count() <= MAX_EVENT_TYPE_CHARS => {}
        Some(Value::String(_)) => {
            return Err(invalid(&["event_type"], "longer than 32 characters"));
        }
        _ => return Err(invalid(&["event_type"], "a string is required")),
    }
    let Some(props) = body.get("properties") else {
        return Ok(());
    };
    let Value::Object(props) = props else {
        return Err(invalid(&["properties"], "must be an object"));
    };
    for (key, value) in props {
        property(value).map_err(|rule| invalid(&["properties", key], rule))?;
    }
    Ok(())
}

/// One custom-event property value against Ometria's five types.
fn property(value: &Value) -> Result<(), &'static str> {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        Value::String(s) if s.chars().count() <= MAX_PROPERTY_STRING_CHARS => Ok(()),
        Value::String(_) => Err("string longer than 512 characters"),
        Value::Array(items) if items.iter().all(is_product) => Ok(()),
        Value::Array(_) => Err("a list must be a product list (product ids or objects)"),
        Value::Object(_) => Err("not a string, boolean, number, date or product list"),
    }
}

fn is_product(item: &Value) -> bool {
    match item {
        Value::String(s) => s.chars().count() <= MAX_PROPERTY_STRING_CHARS,
        Value::Number(_) | Value::Object(_) => true,
        _ => false,
    }
}

fn check_timestamp(body: &Map<String, Value>, key: &str, at: &str) -> Result<(), Invalid> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Ok(()),
        Some(_) => Err(Invalid {
            path: at.to_owned(),
            rule: "not an ISO 8601 timestamp with an offset",
        }),
    }
}

fn invalid(segments: &[&str], rule: &'static str) -> Invalid {
    Invalid {
        path: path(segments),
        rule,
    }
}

fn path(segments: &[&str]) -> String {
    std::iter::once("root")
        .chain(segments.iter().copied())
        .collect::<Vec<_>>()
        .join(" > ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn record(record_type: RecordType, body: Value) -> PushRecord {
        let Value::Object(body) = body else {
            unreachable!()
        };
        PushRecord {
            record_type,
            id: "r1".to_owned(),
            body,
        }
    }

    fn event(props: Value) -> PushRecord {
        record(
            RecordType::CustomEvent,
            json!({"@type": "custom_event", "id": "e", "event_type": "checkout_abandoned",
                   "timestamp": "2026-11-20T10:00:00+01:00", "properties": props}),
        )
    }

    fn path_of(r: &PushRecord) -> Option<String> {
        validate_record(r).err().map(|e| e.path)
    }

    #[test]
    fn documented_property_types_pass() {
        let ok = event(json!({
            "s": "x".repeat(512), "b": true, "n": 12.5, "d": "2026-11-20T10:00:00Z",
            "ids": ["p1", "p2"], "items": [{"product_id": "p1", "quantity": 2}], "none": null
        }));
        assert_eq!(validate_record(&ok), Ok(()));
    }

    #[test]
    fn undocumented_property_values_are_named_by_path() {
        assert_eq!(
            path_of(&event(json!({"s": "x".repeat(513)}))).as_deref(),
            Some("root > properties > s")
        );
        assert_eq!(
            path_of(&event(json!({"nested": {"a": 1}}))).as_deref(),
            Some("root > properties > nested")
        );
        assert_eq!(
            path_of(&event(json!({"matrix": [[1]]}))).as_deref(),
            Some("root > properties > matrix")
        );
        assert_eq!(
            path_of(&event(json!("flat"))).as_deref(),
            Some("root > properties")
        );
    }

    #[test]
    fn event_type_is_a_string_of_at_most_32_characters() {
        let mut r = event(json!({}));
        r.body.insert("event_type".into(), json!("e".repeat(32)));
        assert_eq!(validate_record(&r), Ok(()));
        r.body.insert("event_type".into(), json!("é".repeat(33)));
        assert_eq!(path_of(&r).as_deref(), Some("root > event_type"));
        r.body.remove("event_type");
        assert_eq!(path_of(&r).as_deref(), Some("root > event_type"));
    }

    #[test]
    fn timestamps_need_an_offset() {
        let order = |ts: Value| record(RecordType::Order, json!({"id": "o", "timestamp": ts}));
        assert_eq!(
            validate_record(&order(json!("2026-11-20T10:00:00Z"))),
            Ok(())
        );
        assert_eq!(
            validate_record(&order(json!("2026-11-20T10:00:00-05:00"))),
            Ok(())
        );
        assert_eq!(
            path_of(&order(json!("2026-11-20T10:00:00"))).as_deref(),
            Some("root > timestamp")
        );
        assert_eq!(
            path_of(&order(json!(1_700_000_000))).as_deref(),
            Some("root > timestamp")
        );
        let contact = record(
            RecordType::Contact,
            json!({"id": "c", "channels": {"sms": {"allow_marketing": true,
                   "dt_updated_marketing": "2026-11-20 10:00"}}}),
        );
        assert_eq!(
            path_of(&contact).as_deref(),
            Some("root > channels > sms > dt_updated_marketing")
        );
    }

    #[test]
    fn messages_never_carry_the_value() {
        let secret = "someone@example.com".repeat(40);
        let err = validate_record(&event(json!({ "email": secret }))).unwrap_err();
        assert!(!err.to_string().contains("someone@example.com"));
    }

    proptest! {
        #[test]
        fn strings_pass_exactly_up_to_512_characters(s in "\\PC{0,600}") {
            let chars = s.chars().count();
            let verdict = validate_record(&event(json!({ "p": s })));
            prop_assert_eq!(verdict.is_ok(), chars <= 512);
        }

        #[test]
        fn numbers_and_booleans_always_pass(n in any::<i64>(), f in -1e12f64..1e12, b in any::<bool>()) {
            let r = event(json!({"n": n, "f": f, "b": b}));
            prop_assert!(validate_record(&r).is_ok());
        }

        #[test]
        fn rfc3339_with_any_offset_passes(secs in 0i64..4_000_000_000, offset_min in -720i32..=840) {
            let tz = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let ts = chrono::DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&tz).to_rfc3339();
            let r = record(RecordType::Order, json!({"id": "o", "timestamp": ts}));
            prop_assert!(validate_record(&r).is_ok());
        }
    }
}
