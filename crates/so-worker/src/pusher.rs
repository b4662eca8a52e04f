//! One pusher per process: every processor hands its records here, and
//! requests are cut from all of them together, after the rate limiter has
//! granted the slot. Under Ometria's budget the processors' records pile up
//! while a slot is awaited, so each request leaves full (up to 100 records)
//! instead of every processor sending the partly filled tail of its own
//! batch. With no backlog a slot is free at once and records go out
//! straight away.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use so_domain::ometria::{PushRecord, RecordType};
use so_ometria::{Client, Coalescing, PushFailure, PushOutcome};
use so_platform::metrics;
use tokio::sync::{Notify, mpsc, oneshot};

/// How long a granted slot waits for more records when its request is not
/// full yet: under the budget the records of other processors arrive in that
/// time; without a backlog it is the most a record waits for company.
const FILL_WINDOW: Duration = Duration::from_millis(50);

/// How long a record may wait while fuller requests of other types go
/// first. Without a bound a type that never fills a request (the few
/// minimal products an order needs ahead of it) waits for as long as the
/// others keep coming, and so does everything behind it.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// One request's outcome, shared by the submissions whose records it carried.
pub(crate) type RequestResult = Arc<Result<PushOutcome, PushFailure>>;

/// A part of one submission that went out in one request.
pub(crate) struct Sent {
    pub(crate) records: Vec<PushRecord>,
    pub(crate) result: RequestResult,
}

struct Submission {
    record_type: RecordType,
    records: Vec<PushRecord>,
    reply: oneshot::Sender<Vec<Sent>>,
}

/// Handle held by processors; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Pusher {
    tx: mpsc::UnboundedSender<Submission>,
    backlog: Arc<Backlog>,
    max_records: usize,
}

/// How much waits in the pusher, shared with the attribute drain.
#[derive(Debug)]
struct Backlog {
    /// Records submitted and not yet in a request.
    queued: AtomicUsize,
    /// Told when a request left and the next two no longer have a full
    /// request's worth each waiting: the drain fills them.
    room: Arc<Notify>,
    started: Instant,
    /// When a full request last waited for a slot (milliseconds since
    /// `started`; `u64::MAX`: never).
    full_at_ms: AtomicU64,
}

/// A backlog counts as present this long after a full request last waited:
/// the queue empties with every slot and refills between them (a slot every
/// 250 ms at 4 requests/s), and the budget stays the limit meanwhile; once
/// nothing fills a request for this long, slots would go unused and the
/// drain sends at once again.
const BACKLOG_LINGERS: Duration = Duration::from_millis(500);

/// The pusher's loop, to be spawned; it ends when every [`Pusher`] is gone
/// and everything submitted was sent.
pub(crate) struct PushLoop {
    rx: mpsc::UnboundedReceiver<Submission>,
    backlog: Arc<Backlog>,
    client: Client,
    max_records: usize,
    concurrency: usize,
    /// Off: no product record rides with an identical one.
    coalescing: Coalescing,
}

/// The pusher of one account. `room` is told whenever the next two
/// requests have room for more records (see [`Pusher::room`]).
pub(crate) fn pusher(
    client: Client,
    max_records: usize,
    concurrency: usize,
    coalescing: Coalescing,
    room: Arc<Notify>,
) -> (Pusher, PushLoop) {
    let (tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog {
        queued: AtomicUsize::new(0),
        room,
        started: Instant::now(),
        full_at_ms: AtomicU64::new(u64::MAX),
    });
    (
        Pusher {
            tx,
            backlog: backlog.clone(),
            max_records: max_records.clamp(1, 100),
        },
        PushLoop {
            rx,
            backlog,
            client,
            max_records: max_records.clamp(1, 100),
            concurrency: concurrency.max(1),
            coalescing,
        },
    )
}

impl Pusher {
    /// Sends `records` (one type) and returns how each part fared. `None`
    /// when the pusher is gone (shutting down): the caller retries later.
    pub(crate) async fn push(
        &self,
        record_type: RecordType,
        records: Vec<PushRecord>,
    ) -> Option<Vec<Sent>> {
        if records.is_empty() {
            return Some(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.backlog
            .queued
            .fetch_add(records.len(), Ordering::Relaxed);
        self.tx
            .send(Submission {
                record_type,
                records,
                reply,
            })
            .ok()?;
        answer.await.ok()
    }

    /// How many more records the next two requests could carry, beyond
    /// those waiting: what the drain hands over now rather than let a slot
    /// leave part-filled (a request carries one type, so this is a lower
    /// bound of what fills them).
    pub(crate) fn room(&self) -> usize {
        (2 * self.max_records).saturating_sub(self.backlog.queued.load(Ordering::Relaxed))
    }

    /// Whether a full request's worth of records waits for a slot, or did
    /// within [`BACKLOG_LINGERS`]: the account's budget, not the input, is
    /// the limit.
    pub(crate) fn saturated(&self) -> bool {
        let b = &self.backlog;
        if b.queued.load(Ordering::Relaxed) >= self.max_records {
            return true;
        }
        let full_at = b.full_at_ms.load(Ordering::Relaxed);
        let now = u64::try_from(b.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        full_at != u64::MAX && now.saturating_sub(full_at) < BACKLOG_LINGERS.as_millis() as u64
    }
}

struct Waiting {
    reply: oneshot::Sender<Vec<Sent>>,
    /// When the submission arrived: the age of its records.
    at: Instant,
    outstanding: usize,
    sent: Vec<Sent>,
}

/// Product records shared between submissions. Several batches often need
/// the same minimal product ahead of their orders at the same moment (no
/// batch has seen the others' yet); a copy identical to one already waiting
/// or in flight rides with it and gets its answer, instead of costing a
/// request of its own (records of one id never share a request).
struct Shared {
    /// Off: every record is queued, none rides.
    coalescing: Coalescing,
    next_request: u64,
    /// Riders on a product record still in its queue, by record key.
    waiting: HashMap<crate::deliver::RecordKey, Vec<(u64, PushRecord)>>,
    /// Product records in flight: their request and body.
    flying: HashMap<crate::deliver::RecordKey, (u64, PushRecord)>,
    /// Riders per request in flight.
    riders: HashMap<u64, Vec<(u64, PushRecord)>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            coalescing: Coalescing::ByKey,
            next_request: 0,
            waiting: HashMap::new(),
            flying: HashMap::new(),
            riders: HashMap::new(),
        }
    }
}

impl Shared {
    /// Attaches `record` (of submission `owner`) to an identical product
    /// record waiting in `queue` or in flight; gives it back when there is
    /// none, to be queued.
    fn ride(
        &mut self,
        queue: &VecDeque<(u64, PushRecord)>,
        owner: u64,
        record: PushRecord,
    ) -> Option<PushRecord> {
        if record.record_type != RecordType::Product || self.coalescing == Coalescing::Off {
            return Some(record);
        }
        let key = crate::deliver::key(&record);
        if let Some((request, host)) = self.flying.get(&key)
            && host.body == record.body
        {
            self.riders
                .entry(*request)
                .or_default()
                .push((owner, record));
            return None;
        }
        let queued = queue
            .iter()
            .any(|(_, q)| crate::deliver::key(q) == key && q.body == record.body);
        if queued {
            self.waiting.entry(key).or_default().push((owner, record));
            return None;
        }
        Some(record)
    }

    /// A request leaves with `taken`: its number; riders of its records
    /// board it.
    fn board(&mut self, taken: &[(u64, PushRecord)]) -> u64 {
        let request = self.next_request;
        self.next_request += 1;
        for (_, r) in taken
            .iter()
            .filter(|(_, r)| r.record_type == RecordType::Product)
        {
            let key = crate::deliver::key(r);
            if let Some(riders) = self.waiting.remove(&key) {
                self.riders.entry(request).or_default().extend(riders);
            }
            self.flying.insert(key, (request, r.clone()));
        }
        request
    }

    /// `request` was answered: its riders, to be answered alike.
    fn landed(&mut self, request: u64, taken: &[(u64, PushRecord)]) -> Vec<(u64, PushRecord)> {
        for (_, r) in taken
            .iter()
            .filter(|(_, r)| r.record_type == RecordType::Product)
        {
            let key = crate::deliver::key(r);
            if self.flying.get(&key).is_some_and(|(q, _)| *q == request) {
                self.flying.remove(&key);
            }
        }
        self.riders.remove(&request).unwrap_or_default()
    }
}

/// One record type's queue, as [`pick`] sees it.
#[derive(Debug, Clone, Copy)]
struct Head {
    record_type: RecordType,
    len: usize,
    /// Submission order of its oldest record (smaller is older).
    oldest: u64,
    age: Duration,
}

/// Which type the next request carries: the one with the most records
/// waiting (the fullest request), unless a record of some type has waited
/// `max_wait` or more; then the type of the oldest record.
fn pick(heads: &[Head], max_wait: Duration) -> Option<RecordType> {
    let oldest = heads.iter().min_by_key(|h| h.oldest)?;
    if oldest.age >= max_wait {
        return Some(oldest.record_type);
    }
    heads
        .iter()
        .max_by_key(|h| (h.len, std::cmp::Reverse(h.oldest)))
        .map(|h| h.record_type)
}

impl PushLoop {
    pub(crate) async fn run(mut self) {
        let mut queues: HashMap<RecordType, VecDeque<(u64, PushRecord)>> = HashMap::new();
        let mut waiting: HashMap<u64, Waiting> = HashMap::new();
        let mut shared = Shared {
            coalescing: self.coalescing,
            ..Shared::default()
        };
        let mut next_id = 0_u64;
        let mut in_flight = FuturesUnordered::new();
        let mut permit: Option<std::pin::Pin<Box<dyn Future<Output = Duration> + Send>>> = None;
        let mut open = true;
        // A slot the limiter granted, held until it can leave full or the
        // fill window ends.
        let mut granted: Option<tokio::time::Instant> = None;
        loop {
            let pending = queues.values().any(|q| !q.is_empty());
            if !open && !pending && in_flight.is_empty() {
                return;
            }
            if let Some(at) = granted
                && !open
            {
                // Shutting down: nothing more is coming.
                granted = Some(at.min(tokio::time::Instant::now()));
            }
            if granted.is_none()
                && permit.is_none()
                && pending
                && in_flight.len() < self.concurrency
            {
                let limiter = self.client.rate_limiter().clone();
                permit = Some(Box::pin(async move { limiter.acquire().await }));
            }
            tokio::select! {
                sub = self.rx.recv(), if open => match sub {
                    Some(sub) => {
                        let id = next_id;
                        next_id += 1;
                        waiting.insert(id, Waiting { reply: sub.reply, at: Instant::now(), outstanding: sub.records.len(), sent: Vec::new() });
                        let q = queues.entry(sub.record_type).or_default();
                        for r in sub.records {
                            if let Some(r) = shared.ride(q, id, r) {
                                q.push_back((id, r));
                            }
                        }
                        // A granted slot waits for a full request, not longer.
                        if granted.is_some() && q.len() >= self.max_records {
                            granted = Some(tokio::time::Instant::now());
                        }
                    }
                    None => open = false,
                },
                waited = async { permit.as_mut().expect("guarded").await }, if permit.is_some() => {
                    permit = None;
                    metrics::rate_limit_wait(waited.as_secs_f64());
                    let full = queues.values().any(|q| q.len() >= self.max_records);
                    let now = tokio::time::Instant::now();
                    granted = Some(if full { now } else { now + FILL_WINDOW });
                }
                () = async { tokio::time::sleep_until(granted.expect("guarded")).await }, if granted.is_some() => {
                    granted = None;
                    if let Some((record_type, taken)) = self.take(&mut queues, &waiting) {
                        let request = shared.board(&taken);
                        in_flight.push(self.send(request, record_type, taken));
                    }
                }
                done = in_flight.next(), if !in_flight.is_empty() => {
                    let Some((request, taken, result)) = done else { continue };
                    let riders = shared.landed(request, &taken);
                    let mut parts: HashMap<u64, Vec<PushRecord>> = HashMap::new();
                    for (id, r) in taken.into_iter().chain(riders) {
                        parts.entry(id).or_default().push(r);
                    }
                    for (id, records) in parts {
                        let Some(w) = waiting.get_mut(&id) else { continue };
                        w.outstanding -= records.len();
                        w.sent.push(Sent { records, result: result.clone() });
                        if w.outstanding == 0
                            && let Some(w) = waiting.remove(&id)
                        {
                            let _gone = w.reply.send(w.sent);
                        }
                    }
                }
            }
        }
    }

    /// Up to `max_records` of one type (see [`pick`]), oldest first.
    fn take(
        &self,
        queues: &mut HashMap<RecordType, VecDeque<(u64, PushRecord)>>,
        waiting: &HashMap<u64, Waiting>,
    ) -> Option<(RecordType, Vec<(u64, PushRecord)>)> {
        let now = Instant::now();
        let heads: Vec<Head> = queues
            .iter()
            .filter_map(|(t, q)| {
                let (id, _) = q.front()?;
                let age = waiting.get(id).map_or(Duration::ZERO, |w| now - w.at);
                Some(Head {
                    record_type: *t,
                    len: q.len(),
                    oldest: *id,
                    age,
                })
            })
            .collect();
        let record_type = pick(&heads, MAX_WAIT)?;
        let queue = queues.get_mut(&record_type)?;
        let mut taken = Vec::new();
        let mut keys = HashSet::new();
        let mut later = VecDeque::new();
        while taken.len() < self.max_records {
            let Some((id, r)) = queue.pop_front() else {
                break;
            };
            // A request never carries one record twice; a second version
            // waits for the next request.
            if keys.insert(crate::deliver::key(&r)) {
                taken.push((id, r));
            } else {
                later.push_back((id, r));
            }
        }
        while let Some(item) = later.pop_back() {
            queue.push_front(item);
        }
        let b = &self.backlog;
        let before = b.queued.fetch_sub(taken.len(), Ordering::Relaxed);
        if before >= self.max_records {
            let now = u64::try_from(b.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
            b.full_at_ms.store(now, Ordering::Relaxed);
        }
        if before - taken.len() < 2 * self.max_records {
            b.room.notify_one();
        }
        Some((record_type, taken))
    }

    fn send(
        &self,
        request: u64,
        record_type: RecordType,
        taken: Vec<(u64, PushRecord)>,
    ) -> impl Future<Output = (u64, Vec<(u64, PushRecord)>, RequestResult)> + use<> {
        let client = self.client.clone();
        async move {
            let (owners, records): (Vec<u64>, Vec<PushRecord>) = taken.into_iter().unzip();
            let started = Instant::now();
            let result = client
                .push_with_retry_permitted(record_type, &records)
                .await;
            let status = match &result {
                Ok(_) => "200",
                Err(f) => f
                    .error
                    .status()
                    .map_or("error", crate::deliver::status_label),
            };
            metrics::ometria_request(
                record_type.as_str(),
                status,
                started.elapsed().as_secs_f64(),
                records.len(),
            );
            if let Ok(o) = &result {
                metrics::rate_limit_wait(o.rate_limit_wait.as_secs_f64());
            }
            (
                request,
                owners.into_iter().zip(records).collect(),
                Arc::new(result),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use so_domain::ometria::RecordType;

    use std::collections::VecDeque;

    use so_domain::ometria::PushRecord;

    use super::{Head, Shared, pick};

    fn record(record_type: RecordType, id: &str, title: &str) -> PushRecord {
        let mut body = serde_json::Map::new();
        body.insert("title".into(), title.into());
        PushRecord {
            record_type,
            id: id.to_owned(),
            body,
        }
    }

    #[test]
    fn an_identical_product_rides_with_the_one_waiting_or_in_flight() {
        let mut shared = Shared::default();
        let p = record(RecordType::Product, "p1", "Tee");
        let mut queue = VecDeque::new();
        assert!(
            shared.ride(&queue, 0, p.clone()).is_some(),
            "the first is queued"
        );
        queue.push_back((0, p.clone()));
        assert!(shared.ride(&queue, 1, p.clone()).is_none(), "a copy rides");
        let other = record(RecordType::Product, "p1", "Tee, renamed");
        assert!(
            shared.ride(&queue, 2, other).is_some(),
            "a different body is queued"
        );
        let order = record(RecordType::Order, "o1", "x");
        queue.push_back((0, order.clone()));
        assert!(
            shared.ride(&queue, 3, order).is_some(),
            "only products ride"
        );

        let taken: Vec<_> = queue.drain(..1).collect();
        let request = shared.board(&taken);
        assert!(
            shared.ride(&queue, 4, p.clone()).is_none(),
            "rides the flight too"
        );
        let riders: Vec<u64> = shared
            .landed(request, &taken)
            .into_iter()
            .map(|(owner, _)| owner)
            .collect();
        assert_eq!(riders, [1, 4], "both copies get the request's answer");
        assert!(
            shared.ride(&queue, 5, p).is_some(),
            "after landing, queued again"
        );
    }

    #[test]
    fn without_coalescing_no_product_rides() {
        let mut shared = Shared {
            coalescing: so_ometria::Coalescing::Off,
            ..Shared::default()
        };
        let p = record(RecordType::Product, "p1", "Tee");
        let queue = VecDeque::from([(0, p.clone())]);
        assert!(shared.ride(&queue, 1, p).is_some(), "queued, not riding");
    }

    fn head(record_type: RecordType, len: usize, oldest: u64, age_ms: u64) -> Head {
        Head {
            record_type,
            len,
            oldest,
            age: Duration::from_millis(age_ms),
        }
    }

    #[test]
    fn the_fullest_type_goes_first_while_nothing_waited_long() {
        let heads = [
            head(RecordType::Product, 4, 1, 900),
            head(RecordType::Order, 100, 2, 800),
            head(RecordType::Contact, 60, 3, 700),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Order)
        );
    }

    #[test]
    fn a_type_that_never_fills_a_request_goes_once_it_waited_long_enough() {
        let heads = [
            head(RecordType::Order, 100, 7, 300),
            head(RecordType::Product, 4, 3, 1_000),
            head(RecordType::Contact, 100, 5, 600),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Product)
        );
    }

    #[test]
    fn equally_full_types_go_oldest_first() {
        let heads = [
            head(RecordType::Contact, 100, 9, 200),
            head(RecordType::Order, 100, 4, 400),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Order)
        );
        assert_eq!(pick(&[], Duration::from_secs(1)), None);
    }
}
