//! Consuming the index queue: the copies of what enters the dead-letter and
//! parked queues (see `topology`), for the operators' index kept in the
//! store. A copy is acked only after the caller has written it down, so a
//! crash or a store outage leaves it in the queue for the next attempt.

use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;

use crate::{AckOutcome, Broker, Envelope, Error, Headers, delivery};

/// Which queue a copy stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOf {
    DeadLetter,
    Parked,
}

/// One copy taken from the index queue.
pub struct IndexCopy {
    pub of: CopyOf,
    pub routing_key: String,
    pub body: Vec<u8>,
    envelope: Envelope,
    acker: lapin::Acker,
}

impl std::fmt::Debug for IndexCopy {
    // Bodies hold customer data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexCopy")
            .field("of", &self.of)
            .field("message_id", &self.headers().message_id)
            .finish_non_exhaustive()
    }
}

impl IndexCopy {
    pub fn headers(&self) -> &Headers {
        self.envelope.headers()
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Done with it: removes the copy from the index queue.
    pub async fn ack(&self) -> AckOutcome {
        delivery::ack(&self.acker).await
    }

    /// Gives it back, to be taken again later.
    pub async fn requeue(&self) -> AckOutcome {
        delivery::requeue(&self.acker).await
    }
}

/// A subscription to the index queue on a channel of its own.
pub struct IndexFeed {
    channel: lapin::Channel,
    consumer: lapin::Consumer,
    dead_exchange: String,
}

impl IndexFeed {
    /// Subscribes with `prefetch` unacked copies at most.
    pub async fn open(broker: &Broker, prefetch: u16) -> Result<IndexFeed, Error> {
        let link = broker.link().ok_or(Error::NotConnected)?;
        let channel = link.channel().await?;
        channel
            .basic_qos(prefetch, BasicQosOptions { global: false })
            .await
            .map_err(Error::amqp("basic.qos"))?;
        let consumer = channel
            .basic_consume(
                broker.names().index_queue().as_str().into(),
                "letter-indexer".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(Error::amqp("basic.consume"))?;
        Ok(IndexFeed {
            channel,
            consumer,
            dead_exchange: broker.names().dead_exchange(),
        })
    }

    /// Waits for the next copy, then takes every copy already delivered, up
    /// to `max` in all (a batch the caller writes in one transaction).
    /// `None` when the subscription ended (channel or link gone).
    pub async fn next_batch(&mut self, max: usize) -> Option<Vec<IndexCopy>> {
        let first = self.consumer.next().await?.ok()?;
        let mut batch = vec![self.copy(first)];
        while batch.len() < max {
            match self.consumer.next().now_or_never() {
                Some(Some(Ok(d))) => batch.push(self.copy(d)),
                _ => break,
            }
        }
        Some(batch)
    }

    /// Like [`IndexFeed::next_batch`], giving up after `wait`.
    pub async fn next_batch_within(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<Option<Vec<IndexCopy>>, tokio::time::error::Elapsed> {
        tokio::time::timeout(wait, self.next_batch(max)).await
    }

    fn copy(&self, d: lapin::message::Delivery) -> IndexCopy {
        // Copies through the dead exchange stand for dead letters; the only
        // other binding is the parked routing key.
        let of = if d.exchange.as_str() == self.dead_exchange {
            CopyOf::DeadLetter
        } else {
            CopyOf::Parked
        };
        IndexCopy {
            of,
            routing_key: d.routing_key.as_str().to_owned(),
            body: d.data,
            envelope: Envelope::from_properties(d.properties),
            acker: d.acker,
        }
    }

    pub async fn close(self) {
        let _closed = self.channel.close(200, "indexer stopping".into()).await;
    }
}
