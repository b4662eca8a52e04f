//! The loop that cuts requests from everything handed over and sends them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use so_domain::ometria::{PushRecord, RecordType};
use so_platform::metrics;
use tokio::sync::oneshot;

use super::handle::{Msg, PushLoop, RequestResult, Sent};
use super::pick::{Head, MAX_WAIT, fill_until, pick};
use super::shared::Shared;

struct Waiting {
    reply: oneshot::Sender<Vec<Sent>>,
    /// When the submission arrived: the age of its records.
    at: Instant,
    outstanding: usize,
    sent: Vec<Sent>,
}

impl PushLoop {
    pub(crate) async fn run(mut self) {
        let mut queues: HashMap<RecordType, VecDeque<(u64, PushRecord)>> = HashMap::new();
        let mut waiting: HashMap<u64, Waiting> = HashMap::new();
        let mut shared = Shared::new(self.coalescing);
        let mut next_id = 0_u64;
        let mut in_flight = FuturesUnordered::new();
        let mut permit: Option<std::pin::Pin<Box<dyn Future<Output = Duration> + Send>>> = None;
        let mut open = true;
        // A slot the limiter granted, held until it can leave full or the
        // fill window ends.
        let mut granted: Option<tokio::time::Instant> = None;
        // The producers a granted slot waits for: those that began before.
        let mut horizon = 0_u64;
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
                msg = self.rx.recv(), if open => {
                    match msg {
                        Some(Msg::Submit(sub)) => {
                            let id = next_id;
                            next_id += 1;
                            waiting.insert(id, Waiting { reply: sub.reply, at: Instant::now(), outstanding: sub.records.len(), sent: Vec::new() });
                            let q = queues.entry(sub.record_type).or_default();
                            for r in sub.records {
                                match shared.ride(q, id, r) {
                                    Some(r) => q.push_back((id, r)),
                                    None => {
                                        self.backlog.remove(sub.record_type, 1);
                                    }
                                }
                            }
                        }
                        Some(Msg::Ready) => {
                            if self.backlog.starving(self.max_records) {
                                self.backlog.room.notify_one();
                            }
                        }
                        None => open = false,
                    }
                    // A granted slot waits for a full request, or for the
                    // producers it waits for to hand over, not longer.
                    let full = queues.values().any(|q| q.len() >= self.max_records);
                    if granted.is_some() && (full || self.backlog.preparing_up_to(horizon) == 0) {
                        granted = Some(tokio::time::Instant::now());
                    }
                },
                waited = async { permit.as_mut().expect("guarded").await }, if permit.is_some() => {
                    permit = None;
                    metrics::rate_limit_wait(waited.as_secs_f64());
                    let full = queues.values().any(|q| q.len() >= self.max_records);
                    let now = tokio::time::Instant::now();
                    horizon = self.backlog.horizon();
                    granted = Some(if full {
                        now
                    } else {
                        let preparing = self.backlog.preparing_up_to(horizon);
                        fill_until(now, preparing, self.client.rate_limiter().interval())
                    });
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
        let before = b.remove(record_type, taken.len());
        if before >= self.max_records {
            let now = u64::try_from(b.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
            b.full_at_ms.store(now, Ordering::Relaxed);
        }
        if b.starving(self.max_records) {
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
