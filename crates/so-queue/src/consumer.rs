//! Consuming the work partitions with manual acks.
//!
//! One channel per connection carries a consumer per partition queue (each
//! with `prefetch` unacked deliveries). Deliveries are forwarded, in order
//! per partition, to the processor that owns that partition. When the link
//! drops, in-flight deliveries are redelivered by the broker
//! (`redelivered=true`); acks on the dead channel return `Ok(false)`, which
//! [`Delivery::ack`] reports as [`crate::AckOutcome::ChannelGone`].

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::SelectAll;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::{Broker, Delivery};

/// Consumes the partitions in `assigned` (it may change at any time) until
/// `shutdown`, sending each delivery to the sender of the processor that
/// owns its partition (`partition % outputs`). Re-subscribes after every
/// reconnect. When a partition leaves the set its consumer is cancelled;
/// deliveries already handed out are still processed and acked on the same
/// channel, and with single active consumer the next owner's standby
/// subscription becomes active. On shutdown it stops forwarding, drops the
/// senders so processors can drain, and keeps the channel open until
/// `drained` is cancelled (or 30 s pass) so their acks still land.
pub async fn consume_partitions(
    broker: Broker,
    prefetch: u16,
    outputs: Vec<mpsc::Sender<Delivery>>,
    mut assigned: watch::Receiver<BTreeSet<u16>>,
    consuming: watch::Sender<BTreeSet<u16>>,
    shutdown: CancellationToken,
    drained: CancellationToken,
) {
    let mut assignment_open = true;
    while !shutdown.is_cancelled() {
        let Some(link) = broker.wait_connected(Duration::from_secs(3600)).await else {
            if shutdown.is_cancelled() || matches!(broker.state(), crate::LinkState::Closed) {
                return;
            }
            continue;
        };
        let setup = async {
            let channel = link.channel().await?;
            // Per-consumer prefetch (quorum queues have no global QoS).
            channel
                .basic_qos(prefetch, BasicQosOptions { global: false })
                .await
                .map_err(crate::Error::amqp("basic.qos"))?;
            Ok::<_, crate::Error>(channel)
        };
        let channel = match setup.await {
            Ok(ok) => ok,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot start consuming; retrying.");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                }
            }
        };
        let mut streams = SelectAll::new();
        let mut subscribed: BTreeSet<u16> = BTreeSet::new();
        let wanted = assigned.borrow_and_update().clone();
        let followed = follow(&broker, &channel, &mut streams, &mut subscribed, &wanted).await;
        consuming.send_replace(subscribed.clone());
        if let Err(e) = followed {
            tracing::warn!(error = %e, "Cannot subscribe; retrying.");
            let _closed = channel.close(200, "re-subscribing".into()).await;
            continue;
        }
        loop {
            let next = tokio::select! {
                // Shutdown first: the assignment's owner leaves on the same
                // signal, and its closed channel must not be taken for news.
                biased;
                () = shutdown.cancelled() => {
                    // Stop forwarding; deliveries not yet forwarded return to
                    // the queue when the channel closes after the drain.
                    drop(outputs);
                    let _drained = tokio::time::timeout(Duration::from_secs(30), drained.cancelled()).await;
                    drop(streams);
                    let _closed = channel.close(200, "worker stopping".into()).await;
                    return;
                }
                changed = assigned.changed(), if assignment_open => {
                    if changed.is_err() {
                        // The assignment's owner is gone: keep what we have,
                        // and keep watching for shutdown (never park here).
                        assignment_open = false;
                        continue;
                    }
                    let wanted = assigned.borrow_and_update().clone();
                    let followed = follow(&broker, &channel, &mut streams, &mut subscribed, &wanted).await;
                    consuming.send_replace(subscribed.clone());
                    match followed {
                        Ok(()) => continue,
                        Err(e) => {
                            tracing::warn!(error = %e, "Cannot change subscriptions; re-subscribing.");
                            break;
                        }
                    }
                }
                n = streams.next(), if !streams.is_empty() => n,
            };
            match next {
                Some((p, Ok(d))) => {
                    let delivery = Delivery::new(p, d);
                    let out = &outputs[usize::from(p) % outputs.len()];
                    // A busy processor must not hold off shutdown: a delivery
                    // not handed over returns to its queue with the channel.
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => continue,
                        sent = out.send(delivery) => if sent.is_err() { return },
                    }
                }
                Some((_, Err(e))) => {
                    tracing::warn!(error = %e, "Consumer failed; re-subscribing.");
                    break;
                }
                // Every stream ended although partitions are subscribed: the
                // channel is gone.
                None if !subscribed.is_empty() => break,
                None => {}
            }
        }
        // Deliveries in hand on this channel are redelivered (deduplicated).
        drop(streams);
        consuming.send_replace(BTreeSet::new());
        let _closed = channel.close(200, "re-subscribing".into()).await;
    }
}

fn consumer_tag(p: u16) -> String {
    format!("worker-{p}")
}

type PartitionStream = futures::stream::Map<
    lapin::Consumer,
    Box<
        dyn FnMut(
                lapin::Result<lapin::message::Delivery>,
            ) -> (u16, lapin::Result<lapin::message::Delivery>)
            + Send,
    >,
>;

/// Subscribes to the partitions newly in `wanted` and cancels those that left it.
async fn follow(
    broker: &Broker,
    channel: &lapin::Channel,
    streams: &mut SelectAll<PartitionStream>,
    subscribed: &mut BTreeSet<u16>,
    wanted: &BTreeSet<u16>,
) -> Result<(), crate::Error> {
    for p in subscribed.difference(wanted).copied().collect::<Vec<_>>() {
        channel
            .basic_cancel(
                consumer_tag(p).as_str().into(),
                BasicCancelOptions::default(),
            )
            .await
            .map_err(crate::Error::amqp("basic.cancel"))?;
        subscribed.remove(&p);
    }
    for p in wanted.difference(subscribed).copied().collect::<Vec<_>>() {
        let queue = broker.names().work_queue(p);
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                consumer_tag(p).as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(crate::Error::amqp("basic.consume"))?;
        let tag: Box<dyn FnMut(_) -> _ + Send> = Box::new(move |d| (p, d));
        streams.push(consumer.map(tag));
        subscribed.insert(p);
    }
    if !wanted.is_empty() || !subscribed.is_empty() {
        tracing::info!(partitions = ?subscribed, "Consuming work partitions.");
    }
    Ok(())
}
