//! Phase 4 of `delivery`: steady webhooks through `run` (ingress + worker);
//! latency from each 200 to the moment its order is visible in the fake
//! Ometria. A webhook the ingress acknowledged that the fake has not seen
//! by the end of the bounded wait is counted as never arrived (and lost),
//! not left out of the percentiles silently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use so_domain::ometria::RecordType;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};
use tokio_util::sync::CancellationToken;

use crate::delivery::Args;
use crate::delivery_env::{Db, create_db, drop_db, env_for, fresh_prefix};
use crate::stats::Latencies;
use crate::{events, ingress, process};

/// How long the phase waits, after its last send, for the rest to arrive.
const ARRIVAL_WAIT: Duration = Duration::from_secs(60);

pub(crate) struct E2e {
    pub(crate) latencies: Latencies,
    /// Webhooks sent.
    pub(crate) sent: u64,
    /// Sends without a 200 from the ingress.
    pub(crate) unacknowledged: u64,
    /// Acknowledged, never seen at the fake within [`ARRIVAL_WAIT`].
    pub(crate) never_arrived: u64,
}

type Waiting = Arc<Mutex<HashMap<String, Instant>>>;

/// Moves each waiting order the fake holds into `arrived` (µs since its 200).
fn poll(
    fake: Arc<FakeOmetria>,
    waiting: Waiting,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Vec<u32>> {
    tokio::spawn(async move {
        let mut arrived = Vec::new();
        while !stop.is_cancelled() {
            let now: Vec<(String, Instant)> = waiting
                .lock()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default();
            for (id, at) in now {
                if fake.record(RecordType::Order, &id).is_some()
                    && let Ok(mut m) = waiting.lock()
                {
                    m.remove(&id);
                    arrived.push(at.elapsed().as_micros() as u32);
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        arrived
    })
}

pub(crate) async fn latency_run(args: &Args, bin: &std::path::Path) -> anyhow::Result<E2e> {
    let prefix = fresh_prefix();
    let limited = FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 4.0,
            burst: 4,
        },
        drain: Drain::Immediate,
        ..FakeConfig::unlimited()
    };
    let fake = Arc::new(FakeOmetria::start(limited).await);
    let db_url = create_db(args, Db::Sqlite, &prefix).await?;
    let (ops_port, port) = (process::free_port()?, process::free_port()?);
    let mut env = env_for(args, &prefix, &db_url, &fake, ops_port);
    env[0].1 = args.amqp_url.clone();
    env.push(("SO_INGRESS__LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "4".into()));
    let child = process::spawn_service(
        bin,
        "run",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;

    let waiting: Waiting = Arc::default();
    let stop = CancellationToken::new();
    let poller = poll(fake.clone(), waiting.clone(), stop.clone());
    let total = args.rate * args.rate_duration;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let target = format!("127.0.0.1:{port}");
    let mut conn = ingress::Conn::open(&target).await.ok();
    let started = Instant::now();
    let evs = events::lifecycle(total as usize * 5, 2, events::Mix::OrdersOnly);
    let creates: Vec<_> = evs
        .iter()
        .filter(|e| e.topic == "orders/create")
        .take(total as usize)
        .collect();
    let mut unacknowledged = 0;
    for (i, e) in creates.iter().enumerate() {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let p = crate::payloads::Prepared {
            topic: e.topic.to_owned(),
            body: bytes::Bytes::from(e.body.clone()),
            signature: so_shopify::sign("bench-secret", &e.body),
        };
        if conn.is_none() {
            conn = ingress::Conn::open(&target).await.ok();
        }
        let ok = match conn.as_mut() {
            Some(c) => c.send(&p, 50_000_000 + i as u64).await,
            None => false,
        };
        if ok && let Ok(mut m) = waiting.lock() {
            m.insert(e.order_id.to_string(), Instant::now());
        } else if !ok {
            unacknowledged += 1;
            conn = None;
        }
    }
    let deadline = Instant::now() + ARRIVAL_WAIT;
    while waiting.lock().map(|m| !m.is_empty()).unwrap_or(false) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let arrived = poller.await.unwrap_or_default();
    let never_arrived = waiting.lock().map_or(0, |m| m.len()) as u64;
    process::stop(child).await;
    ingress::cleanup(&args.amqp_url, &prefix).await;
    drop_db(args, Db::Sqlite, &prefix).await;
    Ok(E2e {
        latencies: Latencies::from_unsorted(arrived),
        sent: creates.len() as u64,
        unacknowledged,
        never_arrived,
    })
}
