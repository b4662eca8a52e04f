//! Queue depths and consumer counts, read with passive declares.

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use serde::Serialize;

use crate::{Broker, Error, QueueRole};

/// One queue's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct QueueStat {
    pub queue: String,
    pub role: &'static str,
    /// Ready messages (not counting those delivered and not yet acked).
    pub messages: u32,
    pub consumers: u32,
    /// Age of the oldest message, when the broker can tell. Quorum queues
    /// do not expose it over AMQP, so it is `None` here; the worker reports
    /// end-to-end lag instead.
    pub oldest_message_age_secs: Option<f64>,
    /// Set when the queue could not be read (e.g. not declared yet).
    pub error: Option<String>,
}

/// Reads every queue of the topology. A passive declare of a missing queue
/// closes its channel, so each failure opens a fresh one.
pub async fn queue_stats(broker: &Broker) -> Result<Vec<QueueStat>, Error> {
    let link = broker.link().ok_or(Error::NotConnected)?;
    let mut channel = link.channel().await?;
    let mut out = Vec::new();
    for (queue, role) in broker.names().all_queues() {
        let stat = |messages, consumers, error| QueueStat {
            queue: queue.clone(),
            role: QueueRole::as_str(role),
            messages,
            consumers,
            oldest_message_age_secs: None,
            error,
        };
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(queue.as_str().into(), passive, FieldTable::default())
            .await
        {
            Ok(q) => out.push(stat(q.message_count(), q.consumer_count(), None)),
            Err(e) => {
                out.push(stat(0, 0, Some(e.to_string())));
                channel = link.channel().await?;
            }
        }
    }
    let _closed = channel.close(200, "stats read".into()).await;
    Ok(out)
}

/// Ready messages of one queue (a passive declare on a channel of its own).
pub async fn queue_depth(broker: &Broker, queue: &str) -> Result<u32, Error> {
    let link = broker.link().ok_or(Error::NotConnected)?;
    let channel = link.channel().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .map_err(Error::amqp("queue.declare"));
    let _closed = channel.close(200, "depth read".into()).await;
    Ok(declared?.message_count())
}
