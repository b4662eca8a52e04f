//! Sends a `peak` burst to the ingress: an open-loop schedule (event `i`
//! is due `i / rate` seconds after the start, whatever the answers before
//! it), over several keep-alive connections. Each body is built and signed
//! when it is due. A webhook without a 200 is sent again, as Shopify would
//! (same webhook id, up to [`ATTEMPTS`] times, on a new connection); one
//! that never got a 200 was never accepted and is not expected anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::ingress::Conn;
use crate::payloads::Prepared;
use crate::peak_payloads::Templates;
use crate::peak_plan::Plan;

const ATTEMPTS: u32 = 3;

pub(crate) struct Sent {
    /// Per event of the plan: did the ingress answer 200?
    pub(crate) acked: Vec<bool>,
    /// When the first event was due.
    pub(crate) started: Instant,
    /// The last answer's arrival, seconds after `started`.
    pub(crate) duration_s: f64,
    /// The latest a send began after its due time, in seconds.
    pub(crate) max_lag_s: f64,
    /// Sends repeated after a failure.
    pub(crate) resends: u64,
}

struct Shared {
    plan: Arc<Plan>,
    templates: Arc<Templates>,
    secret: String,
    next: AtomicUsize,
    acked: Vec<AtomicBool>,
    lag_us: AtomicU64,
    last_us: AtomicU64,
    resends: AtomicU64,
    started: Instant,
    interval: Duration,
}

pub(crate) async fn send(
    target: &str,
    plan: Arc<Plan>,
    templates: Arc<Templates>,
    secret: &str,
    rate: u64,
    connections: usize,
) -> Sent {
    let n = plan.events.len();
    let shared = Arc::new(Shared {
        plan,
        templates,
        secret: secret.to_owned(),
        next: AtomicUsize::new(0),
        acked: (0..n).map(|_| AtomicBool::new(false)).collect(),
        lag_us: AtomicU64::new(0),
        last_us: AtomicU64::new(0),
        resends: AtomicU64::new(0),
        // A moment to spawn the senders before the first is due.
        started: Instant::now() + Duration::from_millis(50),
        interval: Duration::from_secs_f64(1.0 / rate.max(1) as f64),
    });
    let tasks: Vec<_> = (0..connections.max(1))
        .map(|_| tokio::spawn(sender(target.to_owned(), shared.clone())))
        .collect();
    for t in tasks {
        let _done = t.await;
    }
    Sent {
        acked: shared
            .acked
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect(),
        started: shared.started,
        duration_s: shared.last_us.load(Ordering::Relaxed) as f64 / 1e6,
        max_lag_s: shared.lag_us.load(Ordering::Relaxed) as f64 / 1e6,
        resends: shared.resends.load(Ordering::Relaxed),
    }
}

async fn sender(target: String, s: Arc<Shared>) {
    let mut conn: Option<Conn> = None;
    loop {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        let Some(e) = s.plan.events.get(i) else {
            return;
        };
        let due = s.started + s.interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let lag = due.elapsed().as_micros() as u64;
        s.lag_us.fetch_max(lag, Ordering::Relaxed);
        let Ok(body) = s.templates.body(&s.plan, e) else {
            continue;
        };
        let p = Prepared {
            topic: e.kind.topic().to_owned(),
            signature: so_shopify::sign(&s.secret, &body),
            body: bytes::Bytes::from(body),
        };
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                s.resends.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if conn.is_none() {
                conn = Conn::open(&target).await.ok();
            }
            let ok = match conn.as_mut() {
                Some(c) => c.send(&p, i as u64).await,
                None => false,
            };
            if ok {
                s.acked[i].store(true, Ordering::Relaxed);
                break;
            }
            conn = None;
        }
        let done = s.started.elapsed().as_micros() as u64;
        s.last_us.fetch_max(done, Ordering::Relaxed);
    }
}
