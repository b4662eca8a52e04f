//! A plain connection for tests and benchmarks: look into queues, take
//! their messages, publish raw messages, delete a topology. Not for the
//! service: no supervision, no reconnects, no topology declared.

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};

use crate::publisher::confirmation;
use crate::{Envelope, Error, Headers, Names, PublishError, codec};

/// One connection with a channel for declares and deletes.
#[derive(Debug)]
pub struct Probe {
    connection: Connection,
    channel: Channel,
}

impl Probe {
    pub async fn connect(url: &str) -> Result<Probe, Error> {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(Error::amqp("connection.open"))?;
        let channel = open_channel(&connection).await?;
        Ok(Probe {
            connection,
            channel,
        })
    }

    /// Ready messages in `queue` (a passive declare: it must exist).
    pub async fn depth(&self, queue: &str) -> Result<u32, Error> {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = self
            .channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .map_err(Error::amqp("queue.declare"))?;
        Ok(declared.message_count())
    }

    /// Consumes `queue` on a channel of its own with `prefetch` unacked
    /// messages, as `consumer_tag`; each message is acked as it is taken.
    /// A consumer rather than `basic.get`: work queues have a single active
    /// consumer, which rules `basic.get` out.
    pub async fn take(
        &self,
        queue: &str,
        consumer_tag: &str,
        prefetch: u16,
    ) -> Result<Taker, Error> {
        let channel = open_channel(&self.connection).await?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(Error::amqp("basic.qos"))?;
        let consumer = channel
            .basic_consume(
                queue.into(),
                consumer_tag.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(Error::amqp("basic.consume"))?;
        Ok(Taker { channel, consumer })
    }

    /// Declares a durable quorum queue with no other arguments.
    pub async fn declare_quorum_queue(&self, queue: &str) -> Result<(), Error> {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), codec::text("quorum"));
        self.channel
            .queue_declare(queue.into(), QueueDeclareOptions::durable(), args)
            .await
            .map_err(Error::amqp("queue.declare"))?;
        Ok(())
    }

    /// Declares `queue`, exclusive to this probe's connection (gone when it
    /// closes), bound to `exchange` with no routing key and no binding
    /// arguments: on a headers exchange (the retry exchange) such a binding
    /// matches every message, so the queue receives a copy of everything
    /// published there, whoever published it.
    pub async fn tap(&self, exchange: &str, queue: &str) -> Result<(), Error> {
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            ..QueueDeclareOptions::default()
        };
        self.channel
            .queue_declare(queue.into(), exclusive, FieldTable::default())
            .await
            .map_err(Error::amqp("queue.declare"))?;
        self.channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(Error::amqp("queue.bind"))
    }

    pub async fn delete_queue(&self, queue: &str) -> Result<(), Error> {
        self.channel
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await
            .map_err(Error::amqp("queue.delete"))?;
        Ok(())
    }

    /// Deletes every queue, then every exchange, of the topology; stops at
    /// the first failure.
    pub async fn delete_topology(&self, names: &Names) -> Result<(), Error> {
        for (q, _) in names.all_queues() {
            self.delete_queue(&q).await?;
        }
        for ex in [
            names.ingest_exchange(),
            names.unrouted_exchange(),
            names.retry_exchange(),
            names.dead_exchange(),
        ] {
            self.channel
                .exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(Error::amqp("exchange.delete"))?;
        }
        Ok(())
    }

    /// A confirm-mode channel of its own for raw publishes.
    pub async fn confirm_channel(&self) -> Result<RawPublisher, Error> {
        let channel = open_channel(&self.connection).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(Error::amqp("confirm.select"))?;
        Ok(RawPublisher { channel })
    }

    pub async fn close(self) {
        let _closed = self.connection.close(200, "probe done".into()).await;
    }
}

async fn open_channel(connection: &Connection) -> Result<Channel, Error> {
    connection
        .create_channel()
        .await
        .map_err(Error::amqp("channel.open"))
}

/// A consumer that acks each message as it hands it out.
#[derive(Debug)]
pub struct Taker {
    channel: Channel,
    consumer: lapin::Consumer,
}

/// A message taken (and acked) by a [`Taker`].
#[derive(Debug, Clone)]
pub struct Taken {
    pub routing_key: String,
    pub body: Vec<u8>,
    pub envelope: Envelope,
}

impl Taken {
    pub fn headers(&self) -> &Headers {
        self.envelope.headers()
    }
}

impl Taker {
    /// The next message, acked; `None` when the consumer ended.
    pub async fn next(&mut self) -> Option<Result<Taken, Error>> {
        let d = match self.consumer.next().await? {
            Ok(d) => d,
            Err(e) => return Some(Err(Error::amqp("basic.deliver")(e))),
        };
        if let Err(e) = d.acker.ack(BasicAckOptions::default()).await {
            return Some(Err(Error::amqp("basic.ack")(e)));
        }
        Some(Ok(Taken {
            routing_key: d.routing_key.as_str().to_owned(),
            body: d.data,
            envelope: Envelope::from_properties(d.properties),
        }))
    }

    pub async fn close(self) {
        let _closed = self.channel.close(200, "taken".into()).await;
    }
}

/// Persistent, mandatory publishes to a queue by name (the default
/// exchange), with nothing else set: the floor the service's publishing is
/// compared with.
#[derive(Debug)]
pub struct RawPublisher {
    channel: Channel,
}

/// A raw publish waiting for its confirm.
#[derive(Debug)]
pub struct RawConfirm(PublisherConfirm);

impl RawPublisher {
    pub async fn publish(&self, queue: &str, body: &[u8]) -> Result<RawConfirm, PublishError> {
        // Persistent like every message the service queues; `mandatory` so
        // an unroutable message is returned, not dropped.
        let props = BasicProperties::default().with_delivery_mode(2);
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = self
            .channel
            .basic_publish("".into(), queue.into(), options, body, props)
            .await
            .map_err(|e| PublishError::Channel(e.into()))?;
        Ok(RawConfirm(confirm))
    }
}

impl RawConfirm {
    /// Waits for the broker's answer: `Ok` only for an ack of a routed message.
    pub async fn confirmed(self) -> Result<(), PublishError> {
        confirmation(self.0.await)
    }
}
