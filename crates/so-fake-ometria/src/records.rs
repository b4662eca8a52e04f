//! Applied records, upserted with Ometria's push merge semantics, and the
//! post-2024 identity rule (ometria.md §2b): two contacts cannot share an
//! identifier, so a contact claiming one another contact holds keeps the
//! rest of its push but not that value.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use so_domain::ometria::RecordType;

use crate::config::{IdentityRule, PropertiesMerge};

/// The fields Ometria matches contacts on.
const IDENTIFIERS: [&str; 3] = ["email", "customer_id", "phone_number"];

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
    rule: IdentityRule,
    properties: PropertiesMerge,
    /// The contact that first took each identifier `(field, value)`; it owns
    /// the value while it still holds it (checked on use, so a released or
    /// deleted owner needs no bookkeeping).
    owners: HashMap<(&'static str, String), RecordKey>,
    /// Identifier values a push carried but another contact owned, in order.
    ignored: Vec<IgnoredIdentifier>,
}

/// An identifier a contact push carried that was not applied, because
/// another contact owned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredIdentifier {
    /// The contact whose push carried it.
    pub claimant: RecordKey,
    /// `email`, `customer_id` or `phone_number`.
    pub field: &'static str,
    /// The contact that kept it.
    pub owner: RecordKey,
}

/// An identifier's value as it is matched (emails case-insensitively).
fn identifier(body: &Map<String, Value>, field: &str) -> Option<String> {
    let raw = match body.get(field)? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(if field == "email" {
        raw.to_lowercase()
    } else {
        raw
    })
}

impl Store {
    pub(crate) fn new(rule: IdentityRule, properties: PropertiesMerge) -> Self {
        Store {
            rule,
            properties,
            ..Store::default()
        }
    }

    /// The contact other than `key` that owns `field = value`, if any.
    fn owner(&self, key: &RecordKey, field: &'static str, value: &str) -> Option<&RecordKey> {
        let owner = self.owners.get(&(field, value.to_owned()))?;
        let holds = self
            .records
            .get(owner)
            .is_some_and(|s| identifier(&s.body, field).as_deref() == Some(value));
        (holds && owner != key).then_some(owner)
    }

    /// `incoming` without the identifiers another contact owns, and those
    /// identifiers with their owners.
    fn admitted(
        &self,
        key: &RecordKey,
        incoming: &Map<String, Value>,
    ) -> (Map<String, Value>, Vec<IgnoredIdentifier>) {
        let mut body = incoming.clone();
        let mut ignored = Vec::new();
        if key.record_type != RecordType::Contact || self.rule == IdentityRule::Shared {
            return (body, ignored);
        }
        for field in IDENTIFIERS {
            let Some(value) = identifier(incoming, field) else {
                continue;
            };
            if let Some(owner) = self.owner(key, field, &value) {
                body.remove(field);
                ignored.push(IgnoredIdentifier {
                    claimant: key.clone(),
                    field,
                    owner: owner.clone(),
                });
            }
        }
        (body, ignored)
    }

    /// Identifier claims refused so far, in push order.
    pub(crate) fn ignored(&self) -> &[IgnoredIdentifier] {
        &self.ignored
    }

    /// The contact holding `field = value` now (emails case-insensitively).
    pub(crate) fn holder(&self, field: &'static str, value: &str) -> Option<&RecordKey> {
        let value = if field == "email" {
            value.to_lowercase()
        } else {
            value.to_owned()
        };
        self.records
            .iter()
            .find(|(k, s)| {
                k.record_type == RecordType::Contact
                    && identifier(&s.body, field).as_deref() == Some(value.as_str())
            })
            .map(|(k, _)| k)
    }

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
        // Validated as pushed: an identifier another contact owns is
        // ignored when the record is applied, not refused.
        merge(&mut body, incoming, self.properties);
        body
    }

    /// Upsert: a new id is added; otherwise the supplied top-level fields
    /// replace the stored ones and the others are kept.
    pub(crate) fn upsert(&mut self, key: RecordKey, incoming: &Map<String, Value>) {
        let (incoming, ignored) = self.admitted(&key, incoming);
        self.ignored.extend(ignored);
        self.seq += 1;
        let seq = self.seq;
        let entry = self.records.entry(key.clone()).or_insert_with(|| Stored {
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
        merge(&mut entry.body, &incoming, self.properties);
        entry.writes += 1;
        entry.last_write = seq;
        let held: Vec<(&'static str, String)> = IDENTIFIERS
            .iter()
            .filter_map(|f| Some((*f, identifier(&entry.body, f)?)))
            .collect();
        if key.record_type == RecordType::Contact {
            for (field, value) in held {
                // First come, first owner; a released value goes to the
                // next contact that takes it.
                if self.owner(&key, field, &value).is_none() {
                    self.owners.insert((field, value), key.clone());
                }
            }
        }
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

/// Supplied fields replace stored ones (ometria.md §1, "Upsert
/// semantics"); `properties` merges key by key or is replaced whole, as
/// configured. List directives are applied to the membership, not stored.
fn merge(into: &mut Map<String, Value>, incoming: &Map<String, Value>, props: PropertiesMerge) {
    for (k, v) in incoming {
        match (k.as_str(), into.get_mut(k), v) {
            ("@add_to_lists" | "@remove_from_lists", _, _) => {}
            ("properties", Some(Value::Object(mine)), Value::Object(theirs))
                if props == PropertiesMerge::KeyByKey =>
            {
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

/// A JSON object's map, for tests.
#[cfg(test)]
pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
        let mut store = Store::new(IdentityRule::default(), PropertiesMerge::KeyByKey);
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
    fn replace_mode_keeps_only_the_latest_properties_object() {
        let mut store = Store::new(IdentityRule::default(), PropertiesMerge::Replace);
        let a = obj(json!({"id":"c1","properties":{"tier":"gold","x":1}}));
        let key = RecordKey::of(RecordType::Contact, &a).unwrap();
        store.upsert(key.clone(), &a);
        store.upsert(key.clone(), &obj(json!({"id":"c1","properties":{"x":2}})));
        store.upsert(key.clone(), &obj(json!({"id":"c1","firstname":"A"})));
        assert_eq!(store.get(&key).unwrap().body["properties"], json!({"x":2}));
    }

    #[test]
    fn the_first_contact_to_carry_an_identifier_owns_it() {
        let mut store = Store::new(IdentityRule::FirstOwnerKeeps, PropertiesMerge::Replace);
        let guest = obj(json!({"id":"g","@collection":"guests","email":"Jo@x.io"}));
        let account =
            obj(json!({"id":"42","@collection":"c","email":"jo@x.io","customer_id":"42"}));
        let (g, a) = (
            RecordKey::of(RecordType::Contact, &guest).unwrap(),
            RecordKey::of(RecordType::Contact, &account).unwrap(),
        );
        store.upsert(g.clone(), &guest);
        store.upsert(a.clone(), &account);
        let held = &store.get(&a).unwrap().body;
        assert!(
            !held.contains_key("email"),
            "the guest owns the email: {held:?}"
        );
        assert_eq!(held["customer_id"], "42");
        assert_eq!(store.ignored().len(), 1);
        assert_eq!(store.ignored()[0].owner, g);
        // The guest releases the email: the next claimant gets it.
        store.upsert(g, &obj(json!({"id":"g","email":"other@x.io"})));
        store.upsert(a.clone(), &account);
        assert_eq!(store.get(&a).unwrap().body["email"], "jo@x.io");
        // Another contact cannot take the customer id either.
        let third = obj(json!({"id":"43","@collection":"c","customer_id":"42"}));
        let t = RecordKey::of(RecordType::Contact, &third).unwrap();
        store.upsert(t.clone(), &third);
        assert!(!store.get(&t).unwrap().body.contains_key("customer_id"));
        assert_eq!(store.holder("email", "JO@x.io"), Some(&a));
    }

    #[test]
    fn shared_identifiers_before_2024() {
        let mut store = Store::new(IdentityRule::Shared, PropertiesMerge::Replace);
        for id in ["a", "b"] {
            let c = obj(json!({"id": id, "email":"jo@x.io"}));
            store.upsert(RecordKey::of(RecordType::Contact, &c).unwrap(), &c);
        }
        assert!(store.all().all(|(_, s)| s.body["email"] == "jo@x.io"));
        assert!(store.ignored().is_empty());
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
