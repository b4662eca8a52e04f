//! The end of a `delivery` drain: every event settled once is not yet every
//! event settled for good. An event the worker sends to a retry tier (a
//! refund that arrived before its order: `order_not_yet_seen`, 5 s) counts
//! as settled when it leaves, and comes back later; counting the fake's
//! records then would call it lost. So the drain also waits, bounded and
//! not requiring success, until the broker's work and retry queues are
//! empty and every event has a final outcome; whatever is still missing
//! after the bound is counted as lost, as it should be.

use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::SecretString;
use so_queue::{AmqpSettings, Broker};
use tokio_util::sync::CancellationToken;

use crate::process;
use crate::queue_depths;

/// How long the drain waits for retried events to come back and settle:
/// past the first retry tiers (5 s, 30 s) with room for a loaded machine.
const QUIET_WAIT: Duration = Duration::from_secs(120);

/// Events with a final outcome (settled, not sent to a retry tier).
pub(crate) async fn final_outcomes(ops_port: u16) -> f64 {
    let page = process::http_get(&format!("http://127.0.0.1:{ops_port}/metrics"))
        .await
        .unwrap_or_default();
    let all = process::counter(&page, "so_events_processed_total");
    let retried = page
        .lines()
        .filter(|l| {
            l.starts_with("so_events_processed_total{") && l.contains("outcome=\"retried\"")
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum::<f64>();
    all - retried
}

/// Waits (at most [`QUIET_WAIT`]) until the prefix's work and retry queues
/// hold nothing and `n` events have a final outcome. Returns whether it got
/// there; the caller counts what it finds either way.
pub(crate) async fn wait_quiet(
    amqp_url: &str,
    prefix: &str,
    ops_port: u16,
    n: usize,
) -> anyhow::Result<bool> {
    let stop = CancellationToken::new();
    let broker = Broker::start(
        AmqpSettings {
            url: SecretString::from(amqp_url.to_owned()),
            prefix: prefix.to_owned(),
            ..AmqpSettings::default()
        },
        stop.clone(),
    );
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .context("broker for the drain's end")?;
    let deadline = Instant::now() + QUIET_WAIT;
    let quiet = loop {
        let depths = queue_depths::by_role(&broker).await?;
        let empty =
            queue_depths::of(&depths, "work") == 0 && queue_depths::of(&depths, "retry") == 0;
        if empty && final_outcomes(ops_port).await >= n as f64 {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.cancel();
    Ok(quiet)
}
