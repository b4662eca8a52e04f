//! What changed between two versions of a shop's settings, key by key, for the audit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Stands in for a secret's value in the audit. Settings written to the store hold no
/// secrets; this guards the audit should one ever arrive under a secret's name.
pub const MASK: &str = "********";

/// One changed key (`lists.subscribers`, `paused`): its value before and after; `None` where
/// the key did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The leaf keys whose values differ, as dotted paths, sorted by key.
pub(crate) fn diff(before: &Value, after: &Value) -> Vec<KeyChange> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn walk(prefix: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<KeyChange>) {
    if before == after {
        return;
    }
    if let (Some(Value::Object(b)), Some(Value::Object(a))) = (before, after) {
        walk_objects(prefix, b, a, out);
        return;
    }
    if let (Some(Value::Object(b)), None) = (before, after) {
        walk_objects(prefix, b, &Map::new(), out);
        return;
    }
    if let (None, Some(Value::Object(a))) = (before, after) {
        walk_objects(prefix, &Map::new(), a, out);
        return;
    }
    let secret = is_secret(prefix);
    let mask = |v: Option<&Value>| {
        v.map(|v| {
            if secret {
                Value::String(MASK.to_owned())
            } else {
                v.clone()
            }
        })
    };
    out.push(KeyChange {
        key: prefix.to_owned(),
        before: mask(before),
        after: mask(after),
    });
}

fn walk_objects(
    prefix: &str,
    b: &Map<String, Value>,
    a: &Map<String, Value>,
    out: &mut Vec<KeyChange>,
) {
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        walk(&path, b.get(key), a.get(key), out);
    }
}

/// Names of secret settings (`webhook_secrets`, `ometria.api_key`, `admin.token`,
/// `admin.client_secret`...).
fn is_secret(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    ["secret", "api_key", "token", "password"]
        .iter()
        .any(|s| last.contains(s))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_changed_leaves_by_dotted_path_and_masks_secrets() {
        let before =
            json!({"namespace": "uk", "lists": {"subscribers": [1]}, "admin": {"token": "a"}});
        let after = json!({"namespace": "uk", "lists": {"subscribers": [2], "every_contact": [3]}, "admin": {"token": "b"}});
        let d = diff(&before, &after);
        let keys: Vec<&str> = d.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            ["admin.token", "lists.every_contact", "lists.subscribers"]
        );
        assert_eq!(d[0].before, Some(json!(MASK)));
        assert_eq!(d[1].before, None);
        assert_eq!(d[2].after, Some(json!([2])));
        assert!(diff(&after, &after).is_empty());
    }
}
