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

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};
use so_domain::EventMeta;
use so_domain::ometria::{PushRecord, RecordType};
use tokio::sync::Notify;
use tokio::time::Instant;

/// An event whose records were pushed: its metadata and its message body.
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
    /// Every field path the record carried (`root > properties > vip`),
    /// without values: enough to check whether an error's path could be it.
    pub(crate) paths: Vec<String>,
    pub(crate) origins: Vec<Arc<Origin>>,
}

impl PushedRecord {
    /// Whether an error at `path` (Ometria's notation; `root` is the whole
    /// record) could be about this record.
    pub(crate) fn carries(&self, path: &str) -> bool {
        path == "root" || self.paths.iter().any(|p| p == path)
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
    /// What it holds, roughly: the bodies behind each record (a body shared
    /// by several records counts each time, so the cap errs low).
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

/// The remembered requests, oldest first, and the sum of their `bytes`
/// (kept as they come and go, not added up on every push).
#[derive(Debug, Default)]
struct Held {
    requests: VecDeque<Request>,
    bytes: usize,
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
        let records: Vec<PushedRecord> = records
            .iter()
            .map(|r| PushedRecord {
                record_type: r.record_type,
                id: r.id.clone(),
                paths: field_paths(&r.body),
                origins: origins_of(r),
            })
            .collect();
        let bytes = records.iter().map(PushedRecord::weight).sum();
        let request = Request {
            request_id: request_id.to_owned(),
            at: Instant::now(),
            handled_at_push,
            records,
            bytes,
        };
        {
            let mut held = self.lock();
            held.bytes += request.bytes;
            held.requests.push_back(request);
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

    fn forget_old(&self, held: &mut Held) {
        let now = Instant::now();
        while let Some(oldest) = held.requests.front() {
            let expired = now.duration_since(oldest.at) > self.keep_for;
            if !expired && held.bytes <= self.max_bytes {
                break;
            }
            held.bytes -= oldest.bytes;
            held.requests.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PushedRecord {
    fn weight(&self) -> usize {
        let paths: usize = self.paths.iter().map(String::len).sum();
        let bodies: usize = self.origins.iter().map(|o| o.body.len()).sum();
        self.id.len() + paths + bodies
    }
}

/// Every path of a record's fields, objects followed, in Ometria's notation.
fn field_paths(body: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    walk(body, "root", &mut out);
    out
}

fn walk(body: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in body {
        let path = format!("{prefix} > {key}");
        if let Value::Object(inner) = value {
            walk(inner, &path, out);
        }
        if !value.is_null() {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(id: &str, body: Value) -> PushRecord {
        let Value::Object(body) = body else {
            unreachable!()
        };
        PushRecord {
            record_type: RecordType::Contact,
            id: id.to_owned(),
            body,
        }
    }

    #[test]
    fn paths_follow_objects_and_skip_nulls() {
        let r = record(
            "c",
            json!({"lastname": "x", "middlename": null, "properties": {"vip": true}}),
        );
        let mut paths = field_paths(&r.body);
        paths.sort();
        assert_eq!(
            paths,
            [
                "root > lastname",
                "root > properties",
                "root > properties > vip"
            ]
        );
    }

    #[tokio::test]
    async fn a_request_is_found_by_id_and_its_records_by_path() {
        let journal = Journal::new(Duration::from_secs(60), 100);
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
    }

    #[tokio::test(start_paused = true)]
    async fn old_or_excess_requests_are_forgotten() {
        // Each record below weighs 1 byte (its id): the cap is 3 records.
        let journal = Journal::new(Duration::from_secs(60), 3);
        journal.record("r1", false, &[record("a", json!({}))], |_| Vec::new());
        tokio::time::advance(Duration::from_secs(61)).await;
        journal.record("r2", false, &[record("b", json!({}))], |_| Vec::new());
        assert!(journal.request("r1").is_none(), "older than the window");
        journal.record(
            "r3",
            false,
            &[
                record("c", json!({})),
                record("d", json!({})),
                record("e", json!({})),
            ],
            |_| Vec::new(),
        );
        assert!(journal.request("r2").is_none(), "beyond the event cap");
        assert!(journal.request("r3").is_some());
    }
}
