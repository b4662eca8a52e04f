//! Asynchronous per-record validation (what Ometria does after a 200).
//!
//! Required fields are checked on the record *as it would be after the merge*,
//! so a partial update of an existing record is valid; value checks apply to
//! what was sent. Required sets follow ometria.md (partly [U] there): contact
//! needs ≥1 of email/phone_number/customer_id; order needs timestamp,
//! grand_total, currency; custom_event needs event_type, timestamp and ≥1
//! identity; product needs only its id.

use serde_json::{Map, Value};
use so_domain::ometria::RecordType;

/// Ometria's usual message for a bad field value.
pub const NOT_VALID: &str = "not a valid value";
/// Ometria's documented message for an over-size record.
pub const TOO_LARGE: &str = "Payload invalid: Record is too large.";

/// One validation failure: Ometria's `{error_message, error_path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) message: String,
    pub(crate) path: String,
}

const OPTIN_VALUES: [&str; 3] = ["EXPLICITLY_OPTEDIN", "EXPLICITLY_OPTEDOUT", "NOT_SPECIFIED"];

pub(crate) fn validate(
    record_type: RecordType,
    sent: &Map<String, Value>,
    merged: &Map<String, Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match record_type {
        RecordType::Contact => contact(sent, merged, &mut errors),
        RecordType::Order => order(sent, merged, &mut errors),
        RecordType::Product => product(sent, &mut errors),
        RecordType::CustomEvent => custom_event(sent, merged, &mut errors),
    }
    errors
}

fn contact(sent: &Map<String, Value>, merged: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    if !["email", "phone_number", "customer_id"]
        .iter()
        .any(|k| present(merged, k))
    {
        errors.push(required_one_of("email, phone_number or customer_id"));
    }
    // Booleans are tolerated: importer feeds use them (ometria.md §2a).
    check(sent, "marketing_optin", errors, |v| match v {
        Value::Null | Value::Bool(_) => true,
        Value::String(s) => OPTIN_VALUES.contains(&s.as_str()),
        _ => false,
    });
    check(sent, "email", errors, |v| {
        v.is_null() || v.as_str().is_some_and(|s| s.contains('@'))
    });
    check(sent, "@force_optin", errors, Value::is_boolean);
    check(sent, "properties", errors, |v| v.is_object() || v.is_null());
}

fn order(sent: &Map<String, Value>, merged: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for key in ["timestamp", "grand_total", "currency"] {
        if !present(merged, key) {
            errors.push(required(key));
        }
    }
    check(sent, "timestamp", errors, is_timestamp);
    check(sent, "grand_total", errors, is_number);
    check(sent, "currency", errors, |v| {
        v.as_str()
            .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
    });
    for key in ["subtotal", "discount", "shipping", "tax"] {
        check(sent, key, errors, |v| v.is_null() || is_number(v));
    }
    check(sent, "is_valid", errors, is_bool);
    check(sent, "lineitems", errors, |v| {
        v.as_array()
            .is_some_and(|items| items.iter().all(Value::is_object))
    });
}

fn product(sent: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    check(sent, "price", errors, |v| v.is_null() || is_number(v));
    for key in ["is_active", "is_in_stock", "is_variant"] {
        check(sent, key, errors, is_bool);
    }
    check(sent, "listings", errors, |v| {
        v.as_array().is_some_and(|l| l.iter().all(Value::is_object))
    });
}

fn custom_event(
    sent: &Map<String, Value>,
    merged: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    for key in ["event_type", "timestamp"] {
        if !present(merged, key) {
            errors.push(required(key));
        }
    }
    if !["identity_email", "identity_account_id", "profile_id"]
        .iter()
        .any(|k| present(merged, k))
    {
        errors.push(required_one_of(
            "identity_email, identity_account_id or profile_id",
        ));
    }
    check(sent, "timestamp", errors, is_timestamp);
    check(sent, "event_type", errors, Value::is_string);
}

/// Present and not null or an empty string.
pub(crate) fn present(body: &Map<String, Value>, key: &str) -> bool {
    match body.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn check(
    sent: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
    ok: impl Fn(&Value) -> bool,
) {
    if let Some(v) = sent.get(key)
        && !ok(v)
    {
        errors.push(FieldError {
            message: NOT_VALID.to_owned(),
            path: path(key),
        });
    }
}

fn required(key: &str) -> FieldError {
    FieldError {
        message: "required".to_owned(),
        path: path(key),
    }
}

fn required_one_of(keys: &str) -> FieldError {
    FieldError {
        message: format!("one of {keys} is required"),
        path: "root".to_owned(),
    }
}

fn path(key: &str) -> String {
    format!("root > {key}")
}

/// Numbers, or numeric strings (Ometria's own refund example sends strings).
fn is_number(v: &Value) -> bool {
    v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok())
}

/// Booleans, or `"true"`/`"false"` strings.
fn is_bool(v: &Value) -> bool {
    v.is_boolean() || matches!(v.as_str(), Some("true" | "false"))
}

fn is_timestamp(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::obj;

    fn paths(t: RecordType, sent: Value) -> Vec<String> {
        let sent = obj(sent);
        validate(t, &sent, &sent)
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn contact_needs_an_identifier_and_a_known_optin() {
        assert_eq!(
            paths(RecordType::Contact, json!({"id":"c","email":"a@b.c"})),
            Vec::<String>::new()
        );
        assert_eq!(paths(RecordType::Contact, json!({"id":"c"})), ["root"]);
        assert_eq!(
            paths(
                RecordType::Contact,
                json!({"id":"c","customer_id":"1","marketing_optin":"YES"})
            ),
            ["root > marketing_optin"]
        );
        for ok in [json!("EXPLICITLY_OPTEDOUT"), json!(null), json!(true)] {
            assert!(
                paths(
                    RecordType::Contact,
                    json!({"id":"c","phone_number":"+44","marketing_optin":ok})
                )
                .is_empty()
            );
        }
    }

    #[test]
    fn partial_contact_update_is_valid_against_the_stored_record() {
        let stored = obj(json!({"id":"c","email":"a@b.c","marketing_optin":"NOT_SPECIFIED"}));
        let sent = obj(json!({"id":"c","marketing_optin":"EXPLICITLY_OPTEDIN"}));
        let mut merged = stored;
        merged.extend(sent.clone());
        assert!(validate(RecordType::Contact, &sent, &merged).is_empty());
    }

    #[test]
    fn order_needs_timestamp_total_and_currency() {
        let ok = json!({"id":"o","timestamp":"2024-05-01T10:00:00+01:00","grand_total":"12.50","currency":"GBP"});
        assert!(paths(RecordType::Order, ok).is_empty());
        assert_eq!(
            paths(RecordType::Order, json!({"id":"o"})),
            ["root > timestamp", "root > grand_total", "root > currency"]
        );
        assert_eq!(
            paths(
                RecordType::Order,
                json!({"id":"o","timestamp":"yesterday","grand_total":1,"currency":"gbp"})
            ),
            ["root > timestamp", "root > currency"]
        );
    }

    #[test]
    fn custom_event_needs_type_time_and_identity() {
        assert_eq!(
            paths(
                RecordType::CustomEvent,
                json!({"id":"e","event_type":"x","timestamp":"2024-05-01T10:00:00Z"})
            ),
            ["root"]
        );
        assert_eq!(
            paths(RecordType::Product, json!({"id":"p","price":"abc"})),
            ["root > price"]
        );
    }
}
