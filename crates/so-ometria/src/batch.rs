//! Turning a pile of records into valid push requests.
//!
//! Rules, in order:
//! 1. **Coalesce** several records with the same key into one. The key is
//!    `(type, @collection, id)` because contact ids are unique only within a
//!    collection. Fields are merged as Ometria merges pushes
//!    ([`PushRecord::merge`]): mappings emit partial records (a consent
//!    change, a tag change, behavioural attributes), so keeping only the last
//!    one would drop the others' fields. The survivor keeps the position of
//!    the key's first occurrence.
//! 2. **Separate oversized** records (serialized JSON above
//!    [`MAX_RECORD_BYTES`]). They must never be sent; the caller dead-letters
//!    them with [`ReasonCode::RecordTooLarge`].
//! 3. **Separate invalid** records: those breaking a documented rule
//!    ([`crate::validate_record`]); the caller dead-letters them with
//!    [`ReasonCode::RecordInvalid`], since Ometria would refuse them later
//!    where only `_errors` would say so.
//! 4. **Group by type** (one `@type` per request, in [`RecordType`] order) and
//!    **chunk** to at most `max_records` per request.
//!
//! Coalescing can be switched off ([`Coalescing::Off`], the naive baseline
//! a benchmark compares against): every record then goes as it is, in
//! order, and two records of one key never share a request.

use std::collections::HashMap;

use crate::validate::{Invalid, validate_record};
use so_domain::ReasonCode;
use so_domain::ometria::{MAX_RECORD_BYTES, MAX_RECORDS_PER_REQUEST, PushRecord, RecordType};

/// One push request's worth of records, all of one type.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The single `@type` of every record in `records`.
    pub record_type: RecordType,
    /// 1..=`max_records` records.
    pub records: Vec<PushRecord>,
}

/// A record too large to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Oversized {
    /// Serialized size in bytes.
    pub size_bytes: usize,
    /// The record, for the caller to dead-letter.
    pub record: PushRecord,
}

impl Oversized {
    /// Why the caller dead-letters it.
    pub const REASON: ReasonCode = ReasonCode::RecordTooLarge;
}

/// The result of [`plan_batches`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchPlan {
    /// Requests to send, grouped by type, each within the record limit.
    pub batches: Vec<Batch>,
    /// Records that must not be sent.
    pub oversized: Vec<Oversized>,
    /// Records that break a documented rule, with the first one broken.
    pub invalid: Vec<(PushRecord, Invalid)>,
    /// How many input records were superseded by a later one with the same key.
    pub coalesced: usize,
}

impl BatchPlan {
    /// `(batches, oversized)`, dropping the coalesced count.
    pub fn into_parts(self) -> (Vec<Batch>, Vec<Oversized>) {
        (self.batches, self.oversized)
    }

    /// Records that will be sent.
    pub fn record_count(&self) -> usize {
        self.batches.iter().map(|b| b.records.len()).sum()
    }
}

/// Whether records of one key are merged before they are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coalescing {
    /// Records of one key become one, merged as Ometria merges pushes.
    ByKey,
    /// Every record goes as it is (the naive baseline).
    Off,
}

/// Coalesces, drops oversized records and chunks. `max_records` is clamped to
/// `1..=100`.
pub fn plan_batches(records: Vec<PushRecord>, max_records: usize) -> BatchPlan {
    plan_batches_with(records, max_records, Coalescing::ByKey)
}

/// [`plan_batches`], merging records of one key only with
/// [`Coalescing::ByKey`]. With [`Coalescing::Off`] a chunk never carries
/// two records of one key: a later one goes into a later chunk, so the
/// order of one key's records is kept.
pub fn plan_batches_with(
    records: Vec<PushRecord>,
    max_records: usize,
    coalescing: Coalescing,
) -> BatchPlan {
    let max_records = max_records.clamp(1, MAX_RECORDS_PER_REQUEST);
    let input = records.len();
    let survivors = match coalescing {
        Coalescing::ByKey => coalesce(records),
        Coalescing::Off => records,
    };
    let coalesced = input - survivors.len();

    let mut by_type: Vec<(RecordType, Vec<PushRecord>)> = Vec::new();
    let mut oversized = Vec::new();
    let mut invalid = Vec::new();
    for record in survivors {
        let size_bytes = serialized_len(&record);
        if size_bytes > MAX_RECORD_BYTES {
            oversized.push(Oversized { size_bytes, record });
            continue;
        }
        if let Err(why) = validate_record(&record) {
            invalid.push((record, why));
            continue;
        }
        match by_type.iter_mut().find(|(t, _)| *t == record.record_type) {
            Some((_, group)) => group.push(record),
            None => by_type.push((record.record_type, vec![record])),
        }
    }
    by_type.sort_by_key(|(t, _)| *t);

    let mut batches = Vec::new();
    for (record_type, group) in by_type {
        for records in chunks(group, max_records) {
            batches.push(Batch {
                record_type,
                records,
            });
        }
    }
    BatchPlan {
        batches,
        oversized,
        invalid,
        coalesced,
    }
}

/// Cuts `group` (one type) into chunks of at most `max_records`, in order,
/// none carrying two records of one key: a repeated key closes the chunk.
/// (After coalescing no key repeats, so chunks are simply full.)
fn chunks(group: Vec<PushRecord>, max_records: usize) -> Vec<Vec<PushRecord>> {
    let mut out: Vec<Vec<PushRecord>> = Vec::new();
    let mut keys: std::collections::HashSet<Key> = std::collections::HashSet::new();
    let mut current: Vec<PushRecord> = Vec::new();
    for record in group {
        let k = key(&record);
        if current.len() == max_records || keys.contains(&k) {
            out.push(std::mem::take(&mut current));
            keys.clear();
        }
        keys.insert(k);
        current.push(record);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Size of the record as it goes on the wire.
pub fn serialized_len(record: &PushRecord) -> usize {
    // Serializing a `Map<String, Value>` cannot fail (string keys, no custom
    // impls); `usize::MAX` would only send it to the oversized pile.
    serde_json::to_vec(&record.body).map_or(usize::MAX, |v| v.len())
}

type Key = (RecordType, Option<String>, String);

fn key(record: &PushRecord) -> Key {
    let collection = record
        .body
        .get("@collection")
        .and_then(|c| c.as_str())
        .map(str::to_owned);
    (record.record_type, collection, record.id.clone())
}

fn coalesce(records: Vec<PushRecord>) -> Vec<PushRecord> {
    let mut position: HashMap<Key, usize> = HashMap::with_capacity(records.len());
    let mut out: Vec<PushRecord> = Vec::with_capacity(records.len());
    for record in records {
        match position.get(&key(&record)) {
            Some(&i) => out[i].merge(record),
            None => {
                position.insert(key(&record), out.len());
                out.push(record);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn rec(t: RecordType, id: &str, extra: Value) -> PushRecord {
        let mut body = serde_json::Map::new();
        body.insert("@type".into(), json!(t.as_str()));
        body.insert("id".into(), json!(id));
        if let Value::Object(m) = extra {
            body.extend(m);
        }
        PushRecord {
            record_type: t,
            id: id.to_owned(),
            body,
        }
    }

    fn ids(b: &Batch) -> Vec<&str> {
        b.records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn later_update_of_same_record_merges_into_earlier() {
        let plan = plan_batches(
            vec![
                rec(
                    RecordType::Contact,
                    "c1",
                    json!({"firstname": "A", "email": "a@b.co"}),
                ),
                rec(RecordType::Contact, "c2", json!({})),
                rec(RecordType::Contact, "c1", json!({"firstname": "B"})),
            ],
            100,
        );
        assert_eq!(plan.coalesced, 1);
        assert_eq!(plan.batches.len(), 1);
        assert_eq!(ids(&plan.batches[0]), ["c1", "c2"]);
        assert_eq!(plan.batches[0].records[0].body["firstname"], "B");
        // A partial later update keeps the earlier one's other fields, as
        // Ometria would after two pushes.
        assert_eq!(plan.batches[0].records[0].body["email"], "a@b.co");
    }

    #[test]
    fn same_id_in_different_collections_or_types_is_not_coalesced() {
        let plan = plan_batches(
            vec![
                rec(
                    RecordType::Contact,
                    "1",
                    json!({"@collection": "customers"}),
                ),
                rec(
                    RecordType::Contact,
                    "1",
                    json!({"@collection": "subscribers"}),
                ),
                rec(RecordType::Order, "1", json!({})),
            ],
            100,
        );
        assert_eq!(plan.coalesced, 0);
        assert_eq!(plan.record_count(), 3);
    }

    #[test]
    fn groups_by_type_and_chunks_to_the_limit() {
        let mut records = Vec::new();
        for i in 0..5 {
            records.push(rec(RecordType::Order, &format!("o{i}"), json!({})));
            records.push(rec(RecordType::Contact, &format!("c{i}"), json!({})));
        }
        let plan = plan_batches(records, 2);
        let shape: Vec<(RecordType, usize)> = plan
            .batches
            .iter()
            .map(|b| (b.record_type, b.records.len()))
            .collect();
        use RecordType::*;
        assert_eq!(
            shape,
            [
                (Contact, 2),
                (Contact, 2),
                (Contact, 1),
                (Order, 2),
                (Order, 2),
                (Order, 1)
            ]
        );
        assert_eq!(ids(&plan.batches[0]), ["c0", "c1"]);
    }

    #[test]
    fn max_records_is_clamped_to_ometria_limit() {
        let records = (0..250)
            .map(|i| rec(RecordType::Product, &i.to_string(), json!({})))
            .collect();
        let plan = plan_batches(records, 1_000);
        assert_eq!(
            plan.batches
                .iter()
                .map(|b| b.records.len())
                .collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(
            plan_batches(vec![rec(RecordType::Product, "p", json!({}))], 0)
                .batches
                .len(),
            1
        );
    }

    #[test]
    fn oversized_records_are_separated_never_batched() {
        let big = "x".repeat(MAX_RECORD_BYTES);
        let plan = plan_batches(
            vec![
                rec(RecordType::Contact, "ok", json!({})),
                rec(
                    RecordType::Contact,
                    "big",
                    json!({"properties": {"blob": big}}),
                ),
            ],
            100,
        );
        assert_eq!(ids(&plan.batches[0]), ["ok"]);
        assert_eq!(plan.oversized.len(), 1);
        assert_eq!(plan.oversized[0].record.id, "big");
        assert!(plan.oversized[0].size_bytes > MAX_RECORD_BYTES);
        assert_eq!(Oversized::REASON, ReasonCode::RecordTooLarge);
    }

    #[test]
    fn invalid_records_are_separated_with_their_path() {
        let plan = plan_batches(
            vec![
                rec(
                    RecordType::Order,
                    "ok",
                    json!({"timestamp": "2026-11-20T10:00:00Z"}),
                ),
                rec(
                    RecordType::Order,
                    "local",
                    json!({"timestamp": "2026-11-20T10:00:00"}),
                ),
            ],
            100,
        );
        assert_eq!(ids(&plan.batches[0]), ["ok"]);
        assert_eq!(plan.invalid.len(), 1);
        assert_eq!(plan.invalid[0].0.id, "local");
        assert_eq!(plan.invalid[0].1.path, "root > timestamp");
        assert_eq!(crate::Invalid::REASON, ReasonCode::RecordInvalid);
    }

    #[test]
    fn the_limit_is_60000_bytes_not_61440() {
        assert_eq!(MAX_RECORD_BYTES, 60_000);
    }

    #[test]
    fn record_exactly_at_the_limit_is_sent() {
        let mut r = rec(RecordType::Contact, "edge", json!({"p": ""}));
        let pad = MAX_RECORD_BYTES - serialized_len(&r);
        r.body.insert("p".into(), json!("y".repeat(pad)));
        assert_eq!(serialized_len(&r), MAX_RECORD_BYTES);
        let plan = plan_batches(vec![r], 100);
        assert!(plan.oversized.is_empty());
        assert_eq!(plan.record_count(), 1);
    }

    #[test]
    fn coalescing_happens_before_the_size_check() {
        let big = "x".repeat(MAX_RECORD_BYTES);
        let plan = plan_batches(
            vec![
                rec(
                    RecordType::Contact,
                    "c",
                    json!({"properties": {"blob": big}}),
                ),
                rec(
                    RecordType::Contact,
                    "c",
                    json!({"firstname": "small", "properties": {"blob": "now small"}}),
                ),
            ],
            100,
        );
        assert!(plan.oversized.is_empty());
        assert_eq!(plan.coalesced, 1);
        let (batches, oversized) = plan.into_parts();
        assert_eq!(batches[0].records[0].body["firstname"], "small");
        assert_eq!(
            batches[0].records[0].body["properties"]["blob"],
            "now small"
        );
        assert!(oversized.is_empty());
    }

    #[test]
    fn without_coalescing_each_record_goes_as_it_is_and_one_key_never_shares_a_chunk() {
        let plan = plan_batches_with(
            vec![
                rec(RecordType::Order, "o1", json!({"status": "pending"})),
                rec(RecordType::Order, "o2", json!({})),
                rec(RecordType::Order, "o1", json!({"status": "paid"})),
                rec(RecordType::Order, "o3", json!({})),
            ],
            100,
            Coalescing::Off,
        );
        assert_eq!(plan.coalesced, 0);
        let shape: Vec<Vec<&str>> = plan.batches.iter().map(ids).collect();
        assert_eq!(shape, [vec!["o1", "o2"], vec!["o1", "o3"]]);
        assert_eq!(plan.batches[0].records[0].body["status"], "pending");
        assert_eq!(plan.batches[1].records[0].body["status"], "paid");
    }

    #[test]
    fn empty_input_plans_nothing() {
        assert_eq!(plan_batches(Vec::new(), 100), BatchPlan::default());
    }
}
