//! Publishing that is only reported successful once the broker has stored
//! the message: persistent, `mandatory`, confirmed, and bounded in time.

use std::time::Duration;

use lapin::Confirmation;
use so_domain::EventMeta;

use crate::confirms::Outcome;
use crate::event_header::event_properties;
use crate::wire::{Properties, Publish};
use crate::{Broker, ChannelError, Envelope, PublishError, codec};

/// Publishes on the supervised connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Publisher {
    broker: Broker,
}

impl Publisher {
    pub fn new(broker: Broker) -> Publisher {
        Publisher { broker }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Publishes one accepted webhook to its entity's work partition and
    /// waits for the broker's confirm (see [`Publisher::publish_parked`] for
    /// the ones kept aside).
    pub async fn publish_event(&self, meta: &EventMeta, body: &[u8]) -> Result<(), PublishError> {
        let names = self.broker.names();
        let routes = self.broker.routes();
        let p = so_domain::partition_for(&meta.shop, &meta.entity, names.partitions());
        let mut props = Vec::with_capacity(512);
        event_properties(meta, &mut props);
        let props = Properties::Encoded(props);
        self.publish(&routes.ingest_exchange, routes.work_key(p), body, props)
            .await
    }

    /// Publishes an accepted webhook the ingress keeps aside, with why
    /// (`reason`, `detail`), and waits for the broker's confirm. With
    /// `entity_known` false the message carries no entity header: the
    /// entity could not be derived, and a replay derives it from the payload.
    pub async fn publish_parked(
        &self,
        meta: &EventMeta,
        body: &[u8],
        reason: &str,
        detail: &str,
        entity_known: bool,
    ) -> Result<(), PublishError> {
        let names = self.broker.names();
        let props = Properties::Built(Box::new(codec::parked_event(
            meta,
            reason,
            detail,
            entity_known,
        )));
        let exchange = &self.broker.routes().ingest_exchange;
        self.publish(exchange, names.parked_routing_key(), body, props)
            .await
    }

    /// Publishes `body` and waits at most the configured confirm timeout for
    /// the broker to take responsibility for it.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        props: Properties,
    ) -> Result<(), PublishError> {
        let timeout = self.broker.settings().confirm_timeout();
        let link = self.broker.link().ok_or(PublishError::NotConnected)?;
        // A blocked connection accepts frames but stores nothing until the
        // alarm clears; failing fast lets Shopify retry instead of timing out.
        if link.is_blocked() {
            return Err(PublishError::Blocked);
        }
        let (slot, channel) = link.publish_channel();
        // `mandatory`: an unroutable message is returned instead of silently
        // dropped (the alternate exchange catches it first; this is the
        // backstop if the topology was changed under us).
        let publish = Publish {
            exchange,
            routing_key,
            mandatory: true,
            properties: props,
            body,
        };
        let closed = |why: String| PublishError::Channel(ChannelError::Closed(why));
        let confirm = link.publish(channel, publish).map_err(closed)?;
        let outcome = match tokio::time::timeout(timeout, confirm).await {
            Ok(Ok(outcome)) => settled(outcome),
            Ok(Err(_)) => Err(closed("the publishing connection closed".to_owned())),
            Err(_) => Err(PublishError::Timeout(timeout)),
        };
        // A nacking channel keeps nacking, a closed one stays closed: use a
        // fresh one (`publish_slots.rs`).
        if matches!(
            outcome,
            Err(PublishError::Nacked | PublishError::Channel(_))
        ) && link.is_connected()
        {
            link.renew_channel(slot, channel, timeout);
        }
        outcome
    }

    /// The configured confirm timeout.
    pub fn confirm_timeout(&self) -> Duration {
        self.broker.settings().confirm_timeout()
    }
}

/// A publish's outcome on the publishing connection.
fn settled(outcome: Outcome) -> Result<(), PublishError> {
    match outcome {
        Outcome::Acked => Ok(()),
        // A returned message was not routed to any queue: not stored.
        Outcome::Returned => Err(PublishError::Returned),
        Outcome::Nacked => Err(PublishError::Nacked),
        Outcome::Failed(why) => Err(PublishError::Channel(ChannelError::Closed(why))),
    }
}

/// A publish's outcome once the broker answered (lapin channels: raw
/// publishes of the probe, ordered replays).
pub(crate) fn confirmation(result: lapin::Result<Confirmation>) -> Result<(), PublishError> {
    match result {
        Ok(Confirmation::Ack(None)) => Ok(()),
        // A returned message was not routed to any queue: not stored.
        Ok(Confirmation::Ack(Some(_))) => Err(PublishError::Returned),
        // Publisher confirms are always selected on the channels we publish on.
        Ok(Confirmation::Nack(_) | Confirmation::NotRequested) => Err(PublishError::Nacked),
        Err(e) => Err(PublishError::Channel(e.into())),
    }
}

/// Why a message is dead-lettered: kept in its headers for ops.
#[derive(Debug, Clone)]
pub struct DeathNote<'a> {
    pub stage: &'a str,
    pub reason: &'a str,
    pub detail: &'a str,
    pub attempts: u32,
}

impl Publisher {
    /// Re-queues a message through the delay tier of `delay_secs` as attempt
    /// `attempt`; it comes back to its own partition (same routing key) when
    /// the tier expires.
    pub async fn retry_later(
        &self,
        routing_key: &str,
        envelope: &Envelope,
        body: &[u8],
        delay_secs: u64,
        attempt: u32,
        reason: &str,
    ) -> Result<(), PublishError> {
        let props = codec::retried(envelope.properties(), delay_secs, attempt, reason);
        let props = Properties::Built(Box::new(props));
        let exchange = &self.broker.routes().retry_exchange;
        self.publish(exchange, routing_key, body, props).await
    }

    /// Schedules a copy of a message to come back to its partition after
    /// `delay_secs` (a delay queue of that length must exist, see
    /// [`crate::Names::with_scheduled_delays`]), marked with `mark` in the
    /// [`codec::SCHEDULED`] header so the consumer knows it as the check.
    pub async fn schedule(
        &self,
        routing_key: &str,
        envelope: &Envelope,
        body: &[u8],
        delay_secs: u64,
        mark: &str,
    ) -> Result<(), PublishError> {
        let props = Properties::Built(Box::new(codec::scheduled(
            envelope.properties(),
            delay_secs,
            mark,
        )));
        let exchange = &self.broker.routes().retry_exchange;
        self.publish(exchange, routing_key, body, props).await
    }

    /// Publishes a message to the dead-letter queue with why it died.
    pub async fn dead_letter(
        &self,
        routing_key: &str,
        envelope: &Envelope,
        body: &[u8],
        note: &DeathNote<'_>,
    ) -> Result<(), PublishError> {
        let props = Properties::Built(Box::new(codec::dead(envelope.properties(), note)));
        let exchange = &self.broker.routes().dead_exchange;
        self.publish(exchange, routing_key, body, props).await
    }

    /// Moves a message to the parked queue with `reason` (e.g. a paused shop).
    pub async fn park(
        &self,
        envelope: &Envelope,
        body: &[u8],
        reason: &str,
    ) -> Result<(), PublishError> {
        let props = Properties::Built(Box::new(codec::parked(envelope.properties(), reason)));
        let exchange = &self.broker.routes().ingest_exchange;
        self.publish(
            exchange,
            self.broker.names().parked_routing_key(),
            body,
            props,
        )
        .await
    }
}
