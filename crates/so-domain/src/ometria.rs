//! The unit of delivery to Ometria's Data API (`POST /v2/push`).
//!
//! Mapping (Shopify payload -> Ometria record) produces [`PushRecord`]s; the
//! Ometria client batches them (one [`RecordType`] per request, at most 100
//! per request, each at most 60 KB) and coalesces several updates of the same
//! `(type, id)` into the latest one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Ometria record types (`"@type"`). One type per push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Contact,
    Order,
    Product,
    CustomEvent,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Contact => "contact",
            RecordType::Order => "order",
            RecordType::Product => "product",
            RecordType::CustomEvent => "custom_event",
        }
    }
}

/// One record ready to push: its JSON object already contains `@type` and
/// `id`, duplicated here so batching and coalescing need not re-parse it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRecord {
    pub record_type: RecordType,
    /// Ometria record id. Never contains PII (see docs/identity.md).
    pub id: String,
    pub body: serde_json::Map<String, serde_json::Value>,
}

impl PushRecord {
    /// Folds a later update of the same record into this one the way
    /// Ometria folds pushes into a stored record (supplied fields replace,
    /// absent ones stay), so two partial updates sent as one keep both
    /// halves: the later's fields win, `properties` merges key by key, and
    /// list directives accumulate, a later join cancelling an earlier leave
    /// of the same list and the other way round.
    pub fn merge(&mut self, later: PushRecord) {
        let later_adds = list(&later.body, ADD_TO_LISTS);
        let later_removes = list(&later.body, REMOVE_FROM_LISTS);
        for (key, value) in later.body {
            match (key.as_str(), self.body.get_mut(&key), value) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    mine.extend(theirs);
                }
                (
                    ADD_TO_LISTS | REMOVE_FROM_LISTS,
                    Some(Value::Array(mine)),
                    Value::Array(theirs),
                ) => {
                    for v in theirs {
                        if !mine.contains(&v) {
                            mine.push(v);
                        }
                    }
                }
                (_, _, value) => {
                    self.body.insert(key, value);
                }
            }
        }
        drop_from(&mut self.body, REMOVE_FROM_LISTS, &later_adds);
        drop_from(&mut self.body, ADD_TO_LISTS, &later_removes);
    }
}

/// Ometria's list directives on a contact.
pub const ADD_TO_LISTS: &str = "@add_to_lists";
pub const REMOVE_FROM_LISTS: &str = "@remove_from_lists";

fn list(body: &Map<String, Value>, key: &str) -> Vec<Value> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn drop_from(body: &mut Map<String, Value>, key: &str, gone: &[Value]) {
    if gone.is_empty() {
        return;
    }
    if let Some(Value::Array(items)) = body.get_mut(key) {
        items.retain(|v| !gone.contains(v));
        if items.is_empty() {
            body.remove(key);
        }
    }
}

/// Ometria's documented per-record size limit: "60 KB", read as 60,000
/// bytes rather than 61,440, since which one Ometria means is not documented
/// and the smaller one is safe either way.
pub const MAX_RECORD_BYTES: usize = 60_000;
/// Ometria's documented per-request record limit.
pub const MAX_RECORDS_PER_REQUEST: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(body: Value) -> PushRecord {
        let mut body = body.as_object().unwrap().clone();
        body.insert("@type".to_owned(), json!("contact"));
        body.insert("id".to_owned(), json!("c1"));
        PushRecord {
            record_type: RecordType::Contact,
            id: "c1".to_owned(),
            body,
        }
    }

    #[test]
    fn merging_keeps_both_partial_updates() {
        let mut r = contact(json!({
            "email": "a@b.co", "firstname": "A",
            "properties": {"shopify_state": "enabled", "shopify_tags": ["x"]},
            "@add_to_lists": [42], "@remove_from_lists": [9],
        }));
        r.merge(contact(json!({
            "firstname": "Ann", "marketing_optin": "EXPLICITLY_OPTEDOUT",
            "properties": {"shopify_tags": ["y"]},
            "@add_to_lists": [9, 7], "@remove_from_lists": [42],
        })));
        assert_eq!(r.body["email"], "a@b.co");
        assert_eq!(r.body["firstname"], "Ann");
        assert_eq!(r.body["marketing_optin"], "EXPLICITLY_OPTEDOUT");
        assert_eq!(
            r.body["properties"],
            json!({"shopify_state": "enabled", "shopify_tags": ["y"]})
        );
        assert_eq!(r.body["@add_to_lists"], json!([9, 7]));
        assert_eq!(r.body["@remove_from_lists"], json!([42]));
    }
}
