//! The push journal: for a bounded time, which records each accepted push
//! request carried and which events (webhooks) each record came from, with
//! the events' messages, so that an error Ometria lists later in `_errors`
//! can be tied to its shop, record and events, and those events
//! dead-lettered for a replay.
//!
//! In memory, per account and per process: the watcher of the process that
//! made a push is the one that can tie its errors (the store only shares
//! which errors were handled). It holds message bodies (customer data), so
//! it is never logged, and it forgets them after `rejections.journal_secs`
//! or beyond `rejections.journal_max_mib`, whichever comes first. A
//! restart forgets it: errors of earlier pushes are then counted as
//! unattributed, never guessed.
//!
//! The size limit counts everything the journal holds (`kept` says how
//! each part is weighed): request and record ids, the records' field paths
//! (kept as hashes), the events' metadata and bodies (compressed, each held
//! once however many records and requests it is behind), and the
//! containers' own slots.

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use so_domain::EventMeta;
use so_domain::ometria::{PushRecord, RecordType};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::kept::{KeptOrigin, Shape, block, path_hash, shape_of, shape_weight};
use super::shared::Shared;

/// An event whose records were pushed: its metadata and its message body,
/// as the worker hands it over (the journal keeps a compact copy).
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) meta: EventMeta,
    pub(crate) body: Vec<u8>,
}

/// One record of a journaled request.
#[derive(Debug, Clone)]
pub(crate) struct PushedRecord {
    pub(crate) record_type: RecordType,
    pub(crate) id: String,
    /// Every field path the record carried, without values, as hashes:
    /// enough to check whether an error's path could be it.
    shape: Shape,
    pub(crate) origins: Box<[Arc<KeptOrigin>]>,
}

impl PushedRecord {
    /// Whether an error at `path` (Ometria's notation; `root` is the whole
    /// record) could be about this record.
    pub(crate) fn carries(&self, path: &str) -> bool {
        path == "root" || self.shape.binary_search(&path_hash(path)).is_ok()
    }

    /// What it holds of its own (its shape and origins are shared).
    fn weight(&self) -> usize {
        block(self.id.len()) + block(size_of_val(&*self.origins))
    }
}

/// One accepted push request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) request_id: String,
    pub(crate) at: Instant,
    /// The response reported `rejected > 0`: its refusals were dead-lettered
    /// then (`ometria_record_rejected`), so the watcher leaves them.
    pub(crate) handled_at_push: bool,
    pub(crate) records: Vec<PushedRecord>,
    /// What it holds of its own: its id and its records (not the shapes
    /// and origins they share with others).
    bytes: usize,
}

/// The journal of one account in this process; shared by the account's
/// pusher side (writes) and its watcher (reads).
#[derive(Debug)]
pub(crate) struct Journal {
    inner: Mutex<Held>,
    keep_for: Duration,
    max_bytes: usize,
    /// Wakes the watcher after a push, so refusals surface promptly.
    pushed: Notify,
}

/// The remembered requests, oldest first, what they share, and the weight
/// of it all but the containers' slots (kept as things come and go, not
/// added up on every push).
#[derive(Debug, Default)]
struct Held {
    requests: VecDeque<Request>,
    shapes: Shared<Shape, Shape>,
    /// By webhook id: two deliveries of one webhook carry the same message.
    origins: Shared<String, Arc<KeptOrigin>>,
    bytes: usize,
}

impl Held {
    /// Everything held, the containers' slots included.
    fn weight(&self) -> usize {
        self.bytes
            + block(self.requests.capacity() * size_of::<Request>())
            + self.shapes.table_weight()
            + self.origins.table_weight()
    }

    /// A compact record of `record`: its shape and origins held once.
    fn keep(&mut self, record: &PushRecord, origins: &[Arc<Origin>]) -> PushedRecord {
        let hashes = shape_of(&record.body);
        let (shape, added) = self.shapes.hold(&*hashes, || {
            let shape: Shape = hashes.clone().into();
            let weight = shape_weight(&shape);
            (shape.clone(), shape, weight)
        });
        self.bytes += added;
        let origins = origins
            .iter()
            .map(|o| {
                let id = o.meta.webhook_id.as_str();
                let (kept, added) = self.origins.hold(id, || {
                    let kept = KeptOrigin::pack(o);
                    let weight = kept.weight() + block(id.len());
                    (id.to_owned(), Arc::new(kept), weight)
                });
                self.bytes += added;
                kept
            })
            .collect();
        PushedRecord {
            record_type: record.record_type,
            id: record.id.clone(),
            shape,
            origins,
        }
    }

    fn forget_oldest(&mut self) {
        let Some(oldest) = self.requests.pop_front() else {
            return;
        };
        self.bytes -= oldest.bytes;
        for record in &oldest.records {
            self.bytes -= self.shapes.release(&record.shape);
            for origin in &record.origins {
                self.bytes -= self.origins.release(origin.meta.webhook_id.as_str());
            }
        }
        if self.requests.is_empty() {
            // Slots left from a busier time would count against the cap.
            self.requests.shrink_to_fit();
            self.shapes.shrink();
            self.origins.shrink();
        }
    }
}

impl Journal {
    pub(crate) fn new(keep_for: Duration, max_bytes: usize) -> Journal {
        Journal {
            inner: Mutex::new(Held::default()),
            keep_for,
            max_bytes: max_bytes.max(1),
            pushed: Notify::new(),
        }
    }

    /// Records one accepted request: `records` with the events each came
    /// from (`origins_of`).
    pub(crate) fn record(
        &self,
        request_id: &str,
        handled_at_push: bool,
        records: &[PushRecord],
        origins_of: impl Fn(&PushRecord) -> Vec<Arc<Origin>>,
    ) {
        {
            let mut held = self.lock();
            let records: Vec<PushedRecord> = records
                .iter()
                .map(|r| held.keep(r, &origins_of(r)))
                .collect();
            let bytes = block(request_id.len())
                + block(records.capacity() * size_of::<PushedRecord>())
                + records.iter().map(PushedRecord::weight).sum::<usize>();
            held.bytes += bytes;
            held.requests.push_back(Request {
                request_id: request_id.to_owned(),
                at: Instant::now(),
                handled_at_push,
                records,
                bytes,
            });
            self.forget_old(&mut held);
        }
        self.pushed.notify_one();
    }
    /// Resolves after the next push (or at once if one happened since the
    /// last call).
    pub(crate) async fn pushed(&self) {
        self.pushed.notified().await;
    }

    /// The request `request_id`, if still remembered. One request may
    /// carry the records of several processors' batches, each journaled on
    /// its own: their parts are put together.
    pub(crate) fn request(&self, request_id: &str) -> Option<Request> {
        let mut held = self.lock();
        self.forget_old(&mut held);
        let mut parts = held.requests.iter().filter(|r| r.request_id == request_id);
        let mut whole = parts.next()?.clone();
        for part in parts {
            whole.handled_at_push |= part.handled_at_push;
            whole.records.extend(part.records.iter().cloned());
        }
        Some(whole)
    }

    /// Every remembered record whose fields include `path` (Ometria's
    /// notation; `root` matches every record), with its request.
    pub(crate) fn candidates(&self, path: &str) -> Vec<(Request, PushedRecord)> {
        let mut held = self.lock();
        self.forget_old(&mut held);
        held.requests
            .iter()
            .flat_map(|req| {
                req.records
                    .iter()
                    .filter(|r| r.carries(path))
                    .map(move |r| (req.clone(), r.clone()))
            })
            .collect()
    }

    /// How long pushes are remembered.
    pub(crate) fn keeps_for(&self) -> Duration {
        self.keep_for
    }

    /// What the journal holds by its own accounting, in bytes.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.lock().weight()
    }

    fn forget_old(&self, held: &mut Held) {
        let now = Instant::now();
        while let Some(oldest) = held.requests.front() {
            let expired = now.duration_since(oldest.at) > self.keep_for;
            if !expired && held.weight() <= self.max_bytes {
                break;
            }
            held.forget_oldest();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::rejections::kept::contact_for_tests as record;
    use crate::rejections::kept::meta_for_tests;

    /// A record with `n` fields of its own names (`f<tag>_<i>`).
    fn wide(id: &str, tag: usize, n: usize) -> PushRecord {
        let body: Map<String, Value> = (0..n).map(|i| (format!("f{tag}_{i}"), json!(i))).collect();
        record(id, Value::Object(body))
    }

    /// An order webhook's message, distinct per `n`, about 2 KB.
    fn origin(n: usize) -> Arc<Origin> {
        let lines: Vec<Value> = (0..8)
            .map(|i| json!({"id": n * 10 + i, "sku": format!("SKU-{n}-{i}"), "title": "T-shirt", "price": "29.95"}))
            .collect();
        let body = json!({"id": n, "email": format!("buyer{n}@example.com"), "line_items": lines});
        Arc::new(Origin {
            meta: meta_for_tests(&format!("webhook-{n}")),
            body: serde_json::to_vec(&body).unwrap(),
        })
    }

    #[tokio::test]
    async fn a_request_is_found_by_id_and_its_records_by_path() {
        let journal = Journal::new(Duration::from_secs(60), 1 << 20);
        journal.record(
            "r1",
            false,
            &[
                record("c1", json!({"lastname": "x"})),
                record("c2", json!({})),
            ],
            |_| Vec::new(),
        );
        assert_eq!(journal.request("r1").unwrap().records.len(), 2);
        journal.record("r1", false, &[record("c3", json!({}))], |_| Vec::new());
        assert_eq!(
            journal.request("r1").unwrap().records.len(),
            3,
            "the parts of one request from two batches are put together"
        );
        assert!(journal.request("r2").is_none());
        let hits = journal.candidates("root > lastname");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1.id, "c1");
        assert_eq!(journal.candidates("root").len(), 3);
        assert!(journal.candidates("root > firstname").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn old_requests_are_forgotten_and_with_them_all_they_held() {
        let journal = Journal::new(Duration::from_secs(60), 1 << 20);
        let o = origin(1);
        journal.record("r1", false, &[wide("a", 1, 20)], |_| vec![o.clone()]);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(journal.request("r1").is_none(), "older than the window");
        assert_eq!(
            journal.held_bytes(),
            0,
            "every byte counted in was counted out"
        );
        journal.record("r2", false, &[wide("b", 1, 20)], |_| vec![o.clone()]);
        assert!(journal.request("r2").is_some());
    }

    #[tokio::test]
    async fn a_journal_filled_past_its_cap_holds_at_most_the_cap() {
        let cap = 64 * 1024;
        let journal = Journal::new(Duration::from_secs(600), cap);
        for n in 0..500 {
            let o = origin(n);
            let records = [wide(&format!("c{n}"), n, 10), wide(&format!("o{n}"), 0, 30)];
            journal.record(&format!("r{n}"), false, &records, |_| vec![o.clone()]);
            let held = journal.held_bytes();
            assert!(held <= cap, "{held} bytes held after request {n}");
        }
        let kept = (0..500)
            .filter(|n| journal.request(&format!("r{n}")).is_some())
            .count();
        assert!(journal.request("r499").is_some(), "the newest stays");
        assert!(journal.request("r0").is_none(), "the oldest went");
        assert!(
            (20..500).contains(&kept),
            "{kept} requests of 500 fit in {cap} bytes"
        );
    }

    #[tokio::test]
    async fn the_accounting_counts_field_paths() {
        let held_with = |fields: usize| {
            let journal = Journal::new(Duration::from_secs(60), 1 << 20);
            journal.record("r1", false, &[wide("c1", 1, fields)], |_| Vec::new());
            journal.held_bytes()
        };
        let (narrow, broad) = (held_with(1), held_with(501));
        assert!(
            broad >= narrow + 500 * size_of::<u64>(),
            "500 more paths weigh at least their hashes: {narrow} then {broad}"
        );
    }

    #[tokio::test]
    async fn what_records_share_is_counted_once() {
        let journal = Journal::new(Duration::from_secs(60), 1 << 20);
        let o = origin(1);
        journal.record("r1", false, &[wide("c1", 1, 200)], |_| vec![o.clone()]);
        let first = journal.held_bytes();
        // Same shape, same event, another request: only the record's own
        // id and slots are new.
        journal.record("r2", false, &[wide("c2", 1, 200)], |_| vec![o.clone()]);
        let second = journal.held_bytes() - first;
        assert!(
            second < 200 * size_of::<u64>(),
            "the second request added {second} bytes"
        );
        let record = journal.request("r2").unwrap().records.remove(0);
        assert!(Arc::ptr_eq(
            &record.origins[0],
            &journal.request("r1").unwrap().records[0].origins[0]
        ));
        assert_eq!(record.origins[0].body().unwrap(), o.body);
    }
}
