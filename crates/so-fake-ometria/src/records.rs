//! Applied records, upserted with Ometria's push merge semantics.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use so_domain::ometria::RecordType;

/// Identity of a stored record: contact ids are unique only within their
/// `@collection`, so the collection is part of the key (`None` if omitted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    /// `@type`.
    pub record_type: RecordType,
    /// `@collection`, if the record named one.
    pub collection: Option<String>,
    /// `id`, as a string even if it was sent as a number.
    pub id: String,
}

impl RecordKey {
    /// The key of a record body, if it has a usable `id`.
    pub(crate) fn of(record_type: RecordType, body: &Map<String, Value>) -> Option<Self> {
        let collection = body
            .get("@collection")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(RecordKey {
            record_type,
            collection,
            id: id_of(body)?,
        })
    }
}

/// `id` as a non-empty string; numbers are accepted (Ometria's own Magento
/// extension sends product ids as integers).
pub(crate) fn id_of(body: &Map<String, Value>) -> Option<String> {
    match body.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) body: Map<String, Value>,
    pub(crate) writes: u32,
    /// Global write order of the first write, for deterministic clustering.
    pub(crate) first_write: u64,
    /// Global write order of the latest write, for "most recent wins".
    pub(crate) last_write: u64,
    /// Ometria lists the contact is on (`@add_to_lists`/`@remove_from_lists`
    /// are directives, not stored fields).
    pub(crate) lists: std::collections::BTreeSet<String>,
    /// Global write order of the latest push carrying `@force_optin: true`.
    pub(crate) forced_at: Option<u64>,
    /// The latest consent change made in Ometria itself (unsubscribe link,
    /// preference centre), not through a push: `(order, opted_in)`.
    pub(crate) preference: Option<(u64, bool)>,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    records: BTreeMap<RecordKey, Stored>,
    seq: u64,
}

impl Store {
    /// The record as it would be after merging `incoming` (for validation
    /// before applying).
    pub(crate) fn merged(
        &self,
        key: &RecordKey,
        incoming: &Map<String, Value>,
    ) -> Map<String, Value> {
        let mut body = self
            .records
            .get(key)
            .map(|s| s.body.clone())
            .unwrap_or_default();
        merge(&mut body, incoming);
        body
    }

    /// Upsert: a new id is added; otherwise the supplied top-level fields
    /// replace the stored ones and the others are kept.
    pub(crate) fn upsert(&mut self, key: RecordKey, incoming: &Map<String, Value>) {
        self.seq += 1;
        let seq = self.seq;
        let entry = self.records.entry(key).or_insert_with(|| Stored {
            body: Map::new(),
            writes: 0,
            first_write: seq,
            last_write: seq,
            lists: Default::default(),
            forced_at: None,
            preference: None,
        });
        if incoming.get("@force_optin") == Some(&Value::Bool(true)) {
            entry.forced_at = Some(seq);
        }
        for (directive, join) in [("@add_to_lists", true), ("@remove_from_lists", false)] {
            for list in incoming
                .get(directive)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let list = match list {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if join {
                    entry.lists.insert(list);
                } else {
                    entry.lists.remove(&list);
                }
            }
        }
        merge(&mut entry.body, incoming);
        entry.writes += 1;
        entry.last_write = seq;
    }

    /// Records a consent change made in Ometria (not a push: the write count
    /// and recency are unchanged); true if the record exists.
    pub(crate) fn set_preference(&mut self, key: &RecordKey, opted_in: bool) -> bool {
        self.seq += 1;
        let seq = self.seq;
        self.records
            .get_mut(key)
            .map(|s| s.preference = Some((seq, opted_in)))
            .is_some()
    }

    /// The stored body, for changes Ometria makes itself (anonymisation);
    /// not a write.
    pub(crate) fn body_mut(&mut self, key: &RecordKey) -> Option<&mut Map<String, Value>> {
        self.records.get_mut(key).map(|s| &mut s.body)
    }

    /// Deletes a record (a merged listing); true if it was there.
    pub(crate) fn remove(&mut self, key: &RecordKey) -> bool {
        self.records.remove(key).is_some()
    }

    pub(crate) fn get(&self, key: &RecordKey) -> Option<&Stored> {
        self.records.get(key)
    }

    pub(crate) fn of_type(&self, t: RecordType) -> impl Iterator<Item = (&RecordKey, &Stored)> {
        self.records.iter().filter(move |(k, _)| k.record_type == t)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = (&RecordKey, &Stored)> {
        self.records.iter()
    }
}

/// Supplied fields replace stored ones; `properties` merges key by key
/// (custom attributes sent by different sources accumulate, as partial
/// pushes in Ometria's examples assume; ometria.md §1, "Upsert semantics").
/// List directives are applied to the membership, not stored.
fn merge(into: &mut Map<String, Value>, incoming: &Map<String, Value>) {
    for (k, v) in incoming {
        match (k.as_str(), into.get_mut(k), v) {
            ("@add_to_lists" | "@remove_from_lists", _, _) => {}
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (pk, pv) in theirs {
                    mine.insert(pk.clone(), pv.clone());
                }
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn upsert_merges_supplied_fields_and_counts_writes() {
        let mut store = Store::default();
        let a = obj(json!({"@type":"contact","id":"c1","email":"a@x","firstname":"A"}));
        let key = RecordKey::of(RecordType::Contact, &a).unwrap();
        store.upsert(key.clone(), &a);
        store.upsert(key.clone(), &obj(json!({"id":"c1","firstname":"B"})));
        let s = store.get(&key).unwrap();
        assert_eq!(s.body["email"], "a@x");
        assert_eq!(s.body["firstname"], "B");
        assert_eq!(s.writes, 2);
    }

    #[test]
    fn properties_accumulate_and_list_directives_change_membership() {
        let mut store = Store::default();
        let a = obj(json!({"id":"c1","properties":{"tier":"gold","x":1},"@add_to_lists":[1,2]}));
        let key = RecordKey::of(RecordType::Contact, &a).unwrap();
        store.upsert(key.clone(), &a);
        store.upsert(
            key.clone(),
            &obj(json!({"id":"c1","properties":{"x":2},"@remove_from_lists":[1]})),
        );
        let s = store.get(&key).unwrap();
        assert_eq!(s.body["properties"], json!({"tier":"gold","x":2}));
        assert!(!s.body.contains_key("@add_to_lists"));
        assert_eq!(s.lists.iter().collect::<Vec<_>>(), ["2"]);
    }

    #[test]
    fn collection_is_part_of_the_key_and_numeric_ids_are_strings() {
        let a = obj(json!({"id": 7, "@collection": "customers"}));
        let b = obj(json!({"id": "7"}));
        let ka = RecordKey::of(RecordType::Contact, &a).unwrap();
        let kb = RecordKey::of(RecordType::Contact, &b).unwrap();
        assert_eq!(ka.id, "7");
        assert_ne!(ka, kb);
        assert!(RecordKey::of(RecordType::Contact, &obj(json!({"id": ""}))).is_none());
    }
}
