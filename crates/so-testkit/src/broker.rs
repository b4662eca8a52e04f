//! The shared test broker: URL, isolation by prefix, inspection, cleanup.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeleteOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use so_queue::Names;

/// `SOTEST_AMQP_URL` or the machine's local broker. (Not `SO_*`: that
/// prefix belongs to the service's configuration.)
pub fn amqp_url() -> String {
    std::env::var("SOTEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A prefix no other test run uses.
pub fn unique_prefix() -> String {
    format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// One queued message as a test sees it.
#[derive(Debug, Clone)]
pub struct Message {
    pub queue: String,
    pub properties: BasicProperties,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, key: &str) -> Option<&str> {
        so_queue::codec::header(&self.properties, key)
    }

    pub fn message_id(&self) -> Option<&str> {
        self.properties.message_id().as_ref().map(|s| s.as_str())
    }
}

/// A plain lapin connection for inspecting and cleaning up a test's queues.
pub struct BrokerProbe {
    connection: Connection,
    channel: Channel,
}

impl BrokerProbe {
    pub async fn connect() -> anyhow::Result<BrokerProbe> {
        BrokerProbe::connect_to(&amqp_url()).await
    }

    /// A probe on another broker (a test's private node).
    pub async fn connect_to(url: &str) -> anyhow::Result<BrokerProbe> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        Ok(BrokerProbe {
            connection,
            channel,
        })
    }

    /// Takes (and acks) every message currently in `queue`. Work queues
    /// have a single active consumer, which rules out `basic.get`, so this
    /// counts the queue and consumes exactly that many.
    pub async fn drain(&self, queue: &str) -> anyhow::Result<Vec<Message>> {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let count = self
            .channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await?
            .message_count();
        let mut out = Vec::new();
        if count == 0 {
            return Ok(out);
        }
        let channel = self.connection.create_channel().await?;
        channel.basic_qos(200, BasicQosOptions::default()).await?;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "so-testkit-drain".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        while out.len() < count as usize {
            let next = tokio::time::timeout(Duration::from_secs(10), consumer.next()).await;
            let delivery = match next {
                Ok(Some(d)) => d?,
                Ok(None) => anyhow::bail!("consumer on {queue} ended"),
                Err(_) => anyhow::bail!("{queue}: got {} of {count} messages", out.len()),
            };
            delivery.ack(BasicAckOptions::default()).await?;
            out.push(Message {
                queue: queue.to_owned(),
                properties: delivery.properties,
                body: delivery.data,
            });
        }
        let _closed = channel.close(200, "drained".into()).await;
        Ok(out)
    }

    /// Takes every message from every queue of the topology.
    pub async fn drain_all(&self, names: &Names) -> anyhow::Result<Vec<Message>> {
        let mut out = Vec::new();
        for (q, _) in names.all_queues() {
            out.extend(self.drain(&q).await?);
        }
        Ok(out)
    }

    /// Deletes every queue and exchange of the topology.
    pub async fn delete_topology(&self, names: &Names) -> anyhow::Result<()> {
        for (q, _) in names.all_queues() {
            self.channel
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
        for ex in [
            names.ingest_exchange(),
            names.unrouted_exchange(),
            names.retry_exchange(),
            names.dead_exchange(),
        ] {
            self.channel
                .exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default())
                .await?;
        }
        Ok(())
    }

    pub async fn close(self) {
        let _closed = self.connection.close(200, "test done".into()).await;
    }
}
