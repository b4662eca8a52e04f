//! Walking a queue message by message for operators (dead letters, parked
//! events), without losing anything or changing the order of what stays.
//!
//! A scan takes messages with `basic.get` and holds them unacknowledged on
//! its own channel. A message is removed only by acking it, after whatever
//! had to happen to it (a confirmed republish) happened. Everything else is
//! returned to the queue when the scan's channel closes, also when the
//! process dies halfway: RabbitMQ puts the returned messages of a quorum
//! queue back ahead of the rest, in their original order.
//!
//! `basic.get` rather than a consumer: a consumer's prefetch would have to
//! cover every held message, and unlimited prefetch lets the broker push a
//! whole queue into memory while a paced replay waits.

use std::collections::VecDeque;
use std::time::Duration;

use lapin::PublisherConfirm;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation};

use crate::{AckOutcome, Broker, Error, PublishError};

/// An open scan of one queue.
pub struct QueueScan {
    channel: Channel,
    initial_depth: u32,
    taken: u32,
    queue: String,
}

/// One message taken by a scan; it stays in the queue unless [`Scanned::remove`]d.
pub struct Scanned {
    /// Its position in the queue when the scan started (0 = head).
    pub position: u32,
    pub routing_key: String,
    /// It was delivered before (by a scan or a consumer).
    pub redelivered: bool,
    pub properties: BasicProperties,
    pub body: Vec<u8>,
    acker: lapin::Acker,
}

impl std::fmt::Debug for Scanned {
    // Bodies hold customer data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanned")
            .field("position", &self.position)
            .field("routing_key", &self.routing_key)
            .field("message_id", self.properties.message_id())
            .finish_non_exhaustive()
    }
}

impl Scanned {
    /// Removes the message from its queue (acks it), checking lapin's result.
    pub async fn remove(&self) -> AckOutcome {
        match self.acker.ack(BasicAckOptions::default()).await {
            Ok(true) => AckOutcome::Acked,
            Ok(false) | Err(_) => AckOutcome::ChannelGone,
        }
    }
}

impl QueueScan {
    /// Opens a scan of `queue`; it covers the messages ready at this moment
    /// (later arrivals are left for the next scan).
    pub async fn open(broker: &Broker, queue: &str) -> Result<QueueScan, Error> {
        let link = broker.link().ok_or(Error::NotConnected)?;
        let channel = link.channel().await?;
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .map_err(Error::amqp("queue.declare"))?;
        Ok(QueueScan {
            channel,
            initial_depth: declared.message_count(),
            taken: 0,
            queue: queue.to_owned(),
        })
    }

    /// Ready messages when the scan started.
    pub fn initial_depth(&self) -> u32 {
        self.initial_depth
    }

    /// The next message, or `None` once the scan has seen every message that
    /// was ready when it started (or the queue ran dry).
    pub async fn next(&mut self) -> Result<Option<Scanned>, Error> {
        if self.taken >= self.initial_depth {
            return Ok(None);
        }
        let got = self
            .channel
            .basic_get(
                self.queue.as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await
            .map_err(Error::amqp("basic.get"))?;
        let Some(message) = got else {
            return Ok(None);
        };
        let d = message.delivery;
        let position = self.taken;
        self.taken += 1;
        Ok(Some(Scanned {
            position,
            routing_key: d.routing_key.as_str().to_owned(),
            redelivered: d.redelivered,
            properties: d.properties,
            body: d.data,
            acker: d.acker,
        }))
    }

    /// Ends the scan: every message not removed goes back to the queue, in order.
    pub async fn finish(self) {
        let _closed = self.channel.close(200, "scan finished".into()).await;
    }
}

/// A confirm-mode channel of its own, so that messages republished by one
/// operation reach their queues in the order they were sent (the shared
/// publisher spreads messages over several channels), with up to `window`
/// confirms outstanding.
pub struct OrderedPublisher {
    channel: Channel,
    in_flight: VecDeque<(u64, PublisherConfirm)>,
    window: usize,
    timeout: Duration,
}

impl OrderedPublisher {
    pub async fn open(broker: &Broker, window: usize) -> Result<OrderedPublisher, Error> {
        let link = broker.link().ok_or(Error::NotConnected)?;
        let channel = link.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(Error::amqp("confirm.select"))?;
        Ok(OrderedPublisher {
            channel,
            in_flight: VecDeque::new(),
            window: window.max(1),
            timeout: broker.settings().confirm_timeout(),
        })
    }

    /// Sends one persistent, mandatory message tagged `tag`. When the window
    /// is full, first waits for the oldest confirm and returns its outcome.
    pub async fn send(
        &mut self,
        tag: u64,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<Vec<(u64, Result<(), PublishError>)>, PublishError> {
        let mut settled = Vec::new();
        while self.in_flight.len() >= self.window {
            if let Some(done) = self.settle_oldest().await {
                settled.push(done);
            }
        }
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = self
            .channel
            .basic_publish(exchange.into(), routing_key.into(), options, body, props)
            .await
            .map_err(PublishError::Channel)?;
        self.in_flight.push_back((tag, confirm));
        Ok(settled)
    }

    async fn settle_oldest(&mut self) -> Option<(u64, Result<(), PublishError>)> {
        let (tag, confirm) = self.in_flight.pop_front()?;
        let outcome = match tokio::time::timeout(self.timeout, confirm).await {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(_)))) => Err(PublishError::Returned),
            Ok(Ok(Confirmation::Nack(_) | Confirmation::NotRequested)) => Err(PublishError::Nacked),
            Ok(Err(e)) => Err(PublishError::Channel(e)),
            Err(_) => Err(PublishError::Timeout(self.timeout)),
        };
        Some((tag, outcome))
    }

    /// Waits for every outstanding confirm.
    pub async fn flush(&mut self) -> Vec<(u64, Result<(), PublishError>)> {
        let mut settled = Vec::new();
        while let Some(done) = self.settle_oldest().await {
            settled.push(done);
        }
        settled
    }

    pub async fn close(self) {
        let _closed = self.channel.close(200, "publisher done".into()).await;
    }
}
