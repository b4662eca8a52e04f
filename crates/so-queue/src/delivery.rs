//! One message taken from a work partition, and what its consumer may do
//! with it: ack it, return it, or move it (a confirmed copy to a delay
//! tier, the dead letters or the parked queue) before acking it.
//!
//! Which of these happens is the consumer's decision; only the mechanics
//! (the headers each move sets, where it publishes) are here.

use lapin::options::{BasicAckOptions, BasicNackOptions};

use crate::{DeathNote, Envelope, Headers, PublishError, Publisher};

/// One message taken from a work partition.
#[derive(Debug)]
pub struct Delivery {
    pub partition: u16,
    pub routing_key: String,
    pub redelivered: bool,
    pub body: Vec<u8>,
    envelope: Envelope,
    acker: lapin::Acker,
}

/// What became of an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    Acked,
    /// The channel died first: the broker will redeliver the message, which
    /// dedupe makes harmless.
    ChannelGone,
}

/// lapin reports an ack or nack on a dead channel as `Ok(false)`.
fn outcome(result: lapin::Result<bool>) -> AckOutcome {
    match result {
        Ok(true) => AckOutcome::Acked,
        Ok(false) | Err(_) => AckOutcome::ChannelGone,
    }
}

/// Removes a held message from its queue.
pub(crate) async fn ack(acker: &lapin::Acker) -> AckOutcome {
    outcome(acker.ack(BasicAckOptions::default()).await)
}

/// Returns a held message to its queue.
pub(crate) async fn requeue(acker: &lapin::Acker) -> AckOutcome {
    let opts = BasicNackOptions {
        multiple: false,
        requeue: true,
    };
    outcome(acker.nack(opts).await)
}

impl Delivery {
    pub(crate) fn new(partition: u16, d: lapin::message::Delivery) -> Delivery {
        Delivery {
            partition,
            routing_key: d.routing_key.as_str().to_owned(),
            redelivered: d.redelivered,
            body: d.data,
            envelope: Envelope::from_properties(d.properties),
            acker: d.acker,
        }
    }

    /// Its headers, decoded when it was taken.
    pub fn headers(&self) -> &Headers {
        self.envelope.headers()
    }

    /// Its properties, for the strict metadata reading ([`Envelope::event_meta`]).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Acks, checking lapin's result (`Ok(false)` = the channel is gone).
    pub async fn ack(&self) -> AckOutcome {
        ack(&self.acker).await
    }

    /// Returns the message to its queue for another attempt (quorum queues
    /// count it against the delivery limit).
    pub async fn requeue(&self) -> AckOutcome {
        requeue(&self.acker).await
    }

    /// Publishes (confirmed) its copy for attempt `attempt` to the delay
    /// tier of `delay_secs`, from which it returns to this partition. The
    /// delivery itself is left for the caller to ack once this succeeded.
    pub async fn retry_later(
        &self,
        publisher: &Publisher,
        delay_secs: u64,
        attempt: u32,
        reason: &str,
    ) -> Result<(), PublishError> {
        publisher
            .retry_later(
                &self.routing_key,
                &self.envelope,
                &self.body,
                delay_secs,
                attempt,
                reason,
            )
            .await
    }

    /// Publishes (confirmed) a copy marked `mark` that comes back to this
    /// partition after `delay_secs`; the delivery itself is processed as usual.
    pub async fn schedule(
        &self,
        publisher: &Publisher,
        delay_secs: u64,
        mark: &str,
    ) -> Result<(), PublishError> {
        publisher
            .schedule(
                &self.routing_key,
                &self.envelope,
                &self.body,
                delay_secs,
                mark,
            )
            .await
    }

    /// Publishes (confirmed) it to the dead letters with `note`; the caller
    /// acks the delivery once this succeeded.
    pub async fn dead_letter(
        &self,
        publisher: &Publisher,
        note: &DeathNote<'_>,
    ) -> Result<(), PublishError> {
        publisher
            .dead_letter(&self.routing_key, &self.envelope, &self.body, note)
            .await
    }

    /// Publishes (confirmed) it to the parked queue with `reason`; the
    /// caller acks the delivery once this succeeded.
    pub async fn park(&self, publisher: &Publisher, reason: &str) -> Result<(), PublishError> {
        publisher.park(&self.envelope, &self.body, reason).await
    }
}
