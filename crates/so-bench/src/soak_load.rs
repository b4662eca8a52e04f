//! The soak's load: open-loop senders whose events are unique for the whole
//! run. Each connection sends its own orders (so an order's events leave in
//! sequence on one connection), and each batch is a fresh set of order
//! lifecycles (new order and customer ids, versions increasing per order),
//! so a long run never re-sends an event the service has already applied
//! and nothing turns into a stale drop. Batches are built and signed ahead
//! on a blocking thread so generating them never delays a scheduled send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::events;
use crate::ingress::Conn;
use crate::payloads::Prepared;

/// Events per generated batch, per connection.
const BATCH: usize = 1_000;
/// Seeds of `events::lifecycle` below this are left to other benchmarks.
const FIRST_SEED: u64 = 1_000;

/// What the senders report while running.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Ack latencies (µs from the scheduled send) since the last sample.
    pub(crate) window: Mutex<Vec<u32>>,
    pub(crate) sent: AtomicU64,
    /// Sends without a 200: refused, failed, or no connection.
    pub(crate) errors: AtomicU64,
    /// Orders whose create was sent (each a new order).
    pub(crate) orders: AtomicU64,
}

pub(crate) struct Load {
    pub(crate) counters: Arc<Counters>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts `connections` senders sharing `rate` webhooks/s to `target`.
    pub(crate) fn start(target: &str, rate: u64, connections: u64) -> Load {
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
        let tasks = (0..connections)
            .map(|c| {
                let batches = generator(c, connections, stop.clone());
                tokio::spawn(send(
                    target.to_owned(),
                    c,
                    interval,
                    batches,
                    counters.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        Load {
            counters,
            stop,
            tasks,
        }
    }

    pub(crate) async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _done = t.await;
        }
    }
}

/// Batches for connection `c`: seeds `c`, `c + connections`, ... above
/// [`FIRST_SEED`], so no two batches of the run share an order or customer.
fn generator(c: u64, connections: u64, stop: CancellationToken) -> mpsc::Receiver<Vec<Prepared>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut seed = FIRST_SEED + c;
        while !stop.is_cancelled() {
            let batch: Vec<Prepared> = events::lifecycle(BATCH, seed, events::Mix::OrdersOnly)
                .into_iter()
                .map(|e| Prepared {
                    topic: e.topic.to_owned(),
                    signature: so_shopify::sign("bench-secret", &e.body),
                    body: bytes::Bytes::from(e.body),
                })
                .collect();
            if tx.blocking_send(batch).is_err() {
                return;
            }
            seed += connections;
        }
    });
    rx
}

async fn send(
    target: String,
    c: u64,
    interval: Duration,
    mut batches: mpsc::Receiver<Vec<Prepared>>,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    let mut conn: Option<Conn> = None;
    let start = Instant::now();
    let mut i = 0u32;
    while let Some(batch) = batches.recv().await {
        for p in &batch {
            // Open loop: latency from the scheduled time.
            let due = start + interval * i;
            i += 1;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(due.into()) => {}
            }
            if conn.is_none() {
                conn = Conn::open(&target).await.ok();
            }
            let id = c * 1_000_000_000_000 + u64::from(i);
            let ok = match conn.as_mut() {
                Some(conn) => conn.send(p, id).await,
                None => false,
            };
            counters.sent.fetch_add(1, Ordering::Relaxed);
            if p.topic == "orders/create" {
                counters.orders.fetch_add(1, Ordering::Relaxed);
            }
            if ok {
                if let Ok(mut w) = counters.window.lock() {
                    w.push(due.elapsed().as_micros() as u32);
                }
            } else {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}
