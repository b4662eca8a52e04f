//! Messages on the benchmark's queues, read from the broker: the count a
//! benchmark's loss is measured against, instead of the report of the code
//! under test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use so_queue::{Broker, stats};

/// Ready messages per queue role (`work`, `retry`, `dead_letter`, ...).
/// Fails if the call or any queue could not be read: a queue that could
/// not be read is not an empty one.
pub(crate) async fn by_role(broker: &Broker) -> anyhow::Result<HashMap<&'static str, u64>> {
    let all = stats::queue_stats(broker)
        .await
        .context("reading queue depths")?;
    let mut out = HashMap::new();
    for q in all {
        if let Some(e) = q.error {
            anyhow::bail!("reading queue {}: {e}", q.queue);
        }
        *out.entry(q.role).or_insert(0) += u64::from(q.messages);
    }
    Ok(out)
}

/// Reads until `done` holds or `wait` has passed (a confirmed publish can
/// show in a queue's count a moment later); returns the last reading.
pub(crate) async fn settle(
    broker: &Broker,
    wait: Duration,
    done: impl Fn(&HashMap<&'static str, u64>) -> bool,
) -> anyhow::Result<HashMap<&'static str, u64>> {
    let deadline = Instant::now() + wait;
    loop {
        let depths = by_role(broker).await?;
        if done(&depths) || Instant::now() >= deadline {
            return Ok(depths);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ready messages of one role in a reading.
pub(crate) fn of(depths: &HashMap<&'static str, u64>, role: &str) -> u64 {
    depths.get(role).copied().unwrap_or(0)
}
