//! Ometria's property limits and the functions that fit a value to them.

use serde_json::Value;

/// Ometria's limit on a string property value, in characters.
const MAX_STRING_CHARS: usize = 512;
/// Ometria's limit on the items of an array property value.
pub(super) const MAX_ARRAY_ITEMS: usize = 100;
/// Longest namespace, key, note attribute name or target property name.
pub(super) const MAX_NAME_CHARS: usize = 64;

/// Fits a value to Ometria's property rules: strings trimmed and cut at 512
/// characters, arrays cut at 100 items (items that are objects or arrays
/// become their compact JSON text), objects sent as compact JSON text (keys
/// sorted, so the same object always gives the same text).
/// Blank strings, empty arrays and empty objects are omitted.
pub(super) fn limit(value: &Value) -> Option<Value> {
    match value {
        Value::Array(items) => non_empty(
            items
                .iter()
                .filter_map(scalar)
                .take(MAX_ARRAY_ITEMS)
                .collect(),
        ),
        other => scalar(other),
    }
}

/// A value that Ometria stores as one scalar.
fn scalar(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(_) | Value::Number(_) => Some(value.clone()),
        Value::String(s) => text(s).map(Value::String),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Array(_) | Value::Object(_) => Some(Value::String(truncate(value.to_string()))),
    }
}

pub(super) fn non_empty(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

/// Trimmed, non-blank, within the string limit.
pub(super) fn text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| truncate(s.to_owned()))
}

/// Cuts at 512 characters (Unicode scalar values), so never inside one.
fn truncate(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(MAX_STRING_CHARS) {
        s.truncate(at);
    }
    s
}
