//! The baseline: raw lapin publishes with confirms to the same broker, same
//! message size, same number of messages in flight, no HTTP and no checks.

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

/// Confirmed publishes per second to a fresh quorum queue.
pub(crate) async fn confirmed_publish_rate(
    url: &str,
    queue: &str,
    body: &[u8],
    in_flight: usize,
    channels: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let setup = conn.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    setup
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), args)
        .await?;
    let mut chans = Vec::new();
    for _ in 0..channels.max(1) {
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        chans.push(ch);
    }
    let props = BasicProperties::default().with_delivery_mode(2);
    let opts = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    let mut pending = FuturesUnordered::new();
    let mut confirmed = 0u64;
    let mut next = 0usize;
    let started = Instant::now();
    while started.elapsed() < duration || !pending.is_empty() {
        while started.elapsed() < duration && pending.len() < in_flight {
            let ch = &chans[next % chans.len()];
            next += 1;
            let confirm = ch
                .basic_publish("".into(), queue.into(), opts, body, props.clone())
                .await?;
            pending.push(confirm);
        }
        if let Some(done) = pending.next().await {
            anyhow::ensure!(
                matches!(done?, Confirmation::Ack(None)),
                "baseline publish not acked"
            );
            confirmed += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    setup
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    let _closed = conn.close(200, "baseline done".into()).await;
    Ok(confirmed as f64 / elapsed)
}

/// Consume-and-ack rate (manual ack, prefetch 200) of `n` messages of
/// `body` preloaded into a fresh quorum queue: the ceiling for any worker.
pub(crate) async fn consume_rate(
    url: &str,
    queue: &str,
    body: &[u8],
    n: usize,
) -> anyhow::Result<f64> {
    use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    ch.queue_declare(queue.into(), QueueDeclareOptions::durable(), args)
        .await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let props = BasicProperties::default().with_delivery_mode(2);
    let opts = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    let mut pending = FuturesUnordered::new();
    for _ in 0..n {
        if pending.len() >= 256
            && let Some(done) = pending.next().await
        {
            let _confirmed: Confirmation = done?;
        }
        pending.push(
            ch.basic_publish("".into(), queue.into(), opts, body, props.clone())
                .await?,
        );
    }
    while let Some(done) = pending.next().await {
        let _confirmed: Confirmation = done?;
    }
    let consumer_ch = conn.create_channel().await?;
    consumer_ch
        .basic_qos(200, BasicQosOptions::default())
        .await?;
    let mut consumer = consumer_ch
        .basic_consume(
            queue.into(),
            "baseline".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let started = Instant::now();
    let mut got = 0;
    while got < n {
        let Some(d) = consumer.next().await else {
            break;
        };
        d?.ack(BasicAckOptions::default()).await?;
        got += 1;
    }
    let rate = got as f64 / started.elapsed().as_secs_f64();
    ch.queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    let _closed = conn.close(200, "baseline done".into()).await;
    Ok(rate)
}
