//! The index of the dead-letter and parked queues, kept in the store so that
//! listing and opening one never walks a queue (issue 17; design in
//! `docs/architecture.md`, "Dead-letter index").
//!
//! The topology sends a copy of every message entering either queue to
//! `<prefix>.letter-index`; the [`Indexer`] consumes it and writes one row
//! per copy, acking a batch only after its transaction committed. A row is
//! keyed by [`copy_key`], a hash of the headers and body, which the queue's
//! message and its copy share, so a redelivered copy or a reindex writes
//! the same row again. The index is a cache: `dlq reindex` rebuilds a
//! queue's rows from a scan.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use so_queue::{Broker, CopyOf, Envelope, IndexCopy, IndexFeed, Scanned};
use so_store::{IndexedLetter, Store};
use tokio_util::sync::CancellationToken;

use crate::TargetQueue;
use crate::letter::{self, LetterDetail, LetterSummary};

/// Copies written per transaction (and unacked copies held) at most.
const BATCH: usize = 256;

/// A header the broker adds to a quorum queue's redelivered messages: the
/// queue's message has it after a scan, its copy does not.
const DELIVERY_COUNT: &str = "x-delivery-count";

/// How often the indexer publishes the index's row counts as metrics.
const COUNT_EVERY: Duration = Duration::from_secs(30);

/// The key both the queue's message and its index copy hash to.
pub fn copy_key(envelope: &Envelope, routing_key: &str, body: &[u8]) -> String {
    let mut headers = letter::headers_json(envelope);
    headers.remove(DELIVERY_COUNT);
    let mut h = Sha256::new();
    h.update(serde_json::Value::Object(headers).to_string().as_bytes());
    h.update([0]);
    h.update(routing_key.as_bytes());
    h.update([0]);
    h.update(body);
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The row of one message: its summary, headers and masked payload.
pub(crate) fn row(
    queue: TargetQueue,
    envelope: &Envelope,
    routing_key: &str,
    body: &[u8],
) -> IndexedLetter {
    let s = letter::summarize_parts(envelope.headers(), 0, routing_key, body.len());
    let mut headers = letter::headers_json(envelope);
    headers.remove(DELIVERY_COUNT);
    IndexedLetter {
        queue: queue.as_str().to_owned(),
        copy_key: copy_key(envelope, routing_key, body),
        webhook_id: s.id,
        topic: s.topic,
        shop: s.shop,
        entity: s.entity,
        reason: s.reason,
        stage: s.stage,
        detail: s.detail,
        attempts: s.attempts,
        at: s.at,
        received_at: s.received_at,
        triggered_at: s.triggered_at,
        routing_key: s.routing_key,
        body_bytes: u64::try_from(s.body_bytes).unwrap_or(u64::MAX),
        headers: serde_json::Value::Object(headers).to_string(),
        payload: letter::payload_json(body, false).to_string(),
    }
}

/// The row of a message a scan took.
pub(crate) fn scanned_row(queue: TargetQueue, m: &Scanned) -> IndexedLetter {
    row(queue, m.envelope(), &m.routing_key, &m.body)
}

/// A row as listed, at `position` among the listing's rows.
pub(crate) fn summary(l: IndexedLetter, position: u32) -> LetterSummary {
    LetterSummary {
        id: l.webhook_id,
        position,
        topic: l.topic,
        shop: l.shop,
        entity: l.entity,
        reason: l.reason,
        stage: l.stage,
        detail: l.detail,
        attempts: l.attempts,
        at: l.at,
        received_at: l.received_at,
        triggered_at: l.triggered_at,
        routing_key: l.routing_key,
        body_bytes: usize::try_from(l.body_bytes).unwrap_or(usize::MAX),
    }
}

/// A row opened without reveal: what the queue's message shows, masked.
pub(crate) fn detail(l: IndexedLetter) -> LetterDetail {
    let headers = serde_json::from_str::<serde_json::Value>(&l.headers)
        .ok()
        .and_then(|v| match v {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    let payload = serde_json::from_str(&l.payload).unwrap_or(serde_json::Value::Null);
    let api_version = text_header(&headers, so_queue::codec::API_VERSION);
    let event_id = text_header(&headers, so_queue::codec::EVENT_ID);
    LetterDetail {
        summary: summary(l, 0),
        headers,
        api_version,
        event_id,
        payload_masked: true,
        payload,
    }
}

fn text_header(h: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.as_str()).map(str::to_owned)
}

/// Consumes the index queue into the store; one per process that has a
/// store (several are fine: writes are idempotent).
#[derive(Debug, Clone)]
pub struct Indexer {
    broker: Broker,
    store: Store,
}

impl Indexer {
    pub fn new(broker: Broker, store: Store) -> Indexer {
        Indexer { broker, store }
    }

    /// Runs until `stop`, re-subscribing after every reconnect.
    pub async fn run(self, stop: CancellationToken) {
        let mut counted = tokio::time::Instant::now();
        while !stop.is_cancelled() {
            let connected = tokio::select! {
                () = stop.cancelled() => return,
                l = self.broker.wait_connected(Duration::from_secs(3600)) => l,
            };
            if connected.is_none() {
                continue;
            }
            let mut feed = match IndexFeed::open(&self.broker, u16::try_from(BATCH).unwrap_or(256))
                .await
            {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot consume the letter index queue; retrying.");
                    pause(&stop, Duration::from_secs(1)).await;
                    continue;
                }
            };
            loop {
                if counted.elapsed() >= COUNT_EVERY {
                    counted = tokio::time::Instant::now();
                    self.publish_counts().await;
                }
                let batch = tokio::select! {
                    () = stop.cancelled() => None,
                    b = feed.next_batch_within(BATCH, COUNT_EVERY) => match b {
                        Ok(None) => None,
                        Ok(Some(b)) => Some(b),
                        Err(_idle) => continue,
                    },
                };
                let Some(batch) = batch else { break };
                if !self.write(&batch, &stop).await {
                    break;
                }
            }
            // Unacked copies go back to the queue with the channel.
            feed.close().await;
        }
    }

    /// Writes a batch and acks it; a store that is down is waited for
    /// (the copies stay unacked meanwhile). False when stopped first.
    async fn write(&self, batch: &[IndexCopy], stop: &CancellationToken) -> bool {
        let rows: Vec<IndexedLetter> = batch
            .iter()
            .map(|c| {
                let queue = match c.of {
                    CopyOf::DeadLetter => TargetQueue::DeadLetter,
                    CopyOf::Parked => TargetQueue::Parked,
                };
                row(queue, c.envelope(), &c.routing_key, &c.body)
            })
            .collect();
        let mut wait = Duration::from_millis(200);
        loop {
            match self.store.letters_indexed(&rows).await {
                Ok(_) => break,
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "Cannot write the letter index; retrying.");
                    if !pause(stop, wait).await {
                        return false;
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    // Not worth holding the queue for: the messages are in
                    // their queues, and a reindex brings them back.
                    tracing::error!(error = %e, copies = rows.len(), "Letter index write refused; run `dlq reindex`.");
                    break;
                }
            }
        }
        for c in batch {
            let _acked = c.ack().await;
        }
        true
    }

    async fn publish_counts(&self) {
        for q in [TargetQueue::DeadLetter, TargetQueue::Parked] {
            if let Ok(n) = self.store.letters_count(q.as_str()).await {
                so_platform::metrics::letter_index_rows(q.as_str(), n);
            }
        }
    }
}

/// Sleeps unless stopped first; false when stopped.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}
