//! The baseline: raw confirmed publishes (so-queue's probe) to the same
//! broker, same message size, same number of messages in flight, no HTTP
//! and no checks.

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use so_queue::PublishError;
use so_queue::probe::Probe;

/// Confirmed publishes per second to a fresh quorum queue.
pub(crate) async fn confirmed_publish_rate(
    url: &str,
    queue: &str,
    body: &[u8],
    in_flight: usize,
    channels: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let probe = Probe::connect(url).await?;
    probe.declare_quorum_queue(queue).await?;
    let mut chans = Vec::new();
    for _ in 0..channels.max(1) {
        chans.push(probe.confirm_channel().await?);
    }
    let mut pending = FuturesUnordered::new();
    let mut confirmed = 0u64;
    let mut next = 0usize;
    let started = Instant::now();
    while started.elapsed() < duration || !pending.is_empty() {
        while started.elapsed() < duration && pending.len() < in_flight {
            let ch = &chans[next % chans.len()];
            next += 1;
            let confirm = ch.publish(queue, body).await?;
            pending.push(confirm.confirmed());
        }
        match pending.next().await {
            Some(Ok(())) => confirmed += 1,
            Some(Err(e @ PublishError::Channel(_))) => return Err(e.into()),
            Some(Err(_)) => anyhow::bail!("baseline publish not acked"),
            None => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    probe.delete_queue(queue).await?;
    probe.close().await;
    Ok(confirmed as f64 / elapsed)
}

/// A preload publish: only a failed channel stops the run, as the consume
/// rate does not depend on each message being confirmed.
fn preloaded(done: Result<(), PublishError>) -> Result<(), PublishError> {
    match done {
        Err(e @ PublishError::Channel(_)) => Err(e),
        Ok(()) | Err(_) => Ok(()),
    }
}

/// Consume-and-ack rate (manual ack, prefetch 200) of `n` messages of
/// `body` preloaded into a fresh quorum queue: the ceiling for any worker.
pub(crate) async fn consume_rate(
    url: &str,
    queue: &str,
    body: &[u8],
    n: usize,
) -> anyhow::Result<f64> {
    let probe = Probe::connect(url).await?;
    probe.declare_quorum_queue(queue).await?;
    let ch = probe.confirm_channel().await?;
    let mut pending = FuturesUnordered::new();
    for _ in 0..n {
        if pending.len() >= 256
            && let Some(done) = pending.next().await
        {
            preloaded(done)?;
        }
        pending.push(ch.publish(queue, body).await?.confirmed());
    }
    while let Some(done) = pending.next().await {
        preloaded(done)?;
    }
    let mut consumer = probe.take(queue, "baseline", 200).await?;
    let started = Instant::now();
    let mut got = 0;
    while got < n {
        let Some(taken) = consumer.next().await else {
            break;
        };
        taken?;
        got += 1;
    }
    let rate = got as f64 / started.elapsed().as_secs_f64();
    probe.delete_queue(queue).await?;
    probe.close().await;
    Ok(rate)
}
