//! Publishing that is only reported successful once the broker has stored
//! the message: persistent, `mandatory`, confirmed, and bounded in time.

use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Confirmation};
use so_domain::EventMeta;

use crate::{Broker, PublishError, codec};

/// Where an accepted event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Its entity's partition, for the worker.
    Work,
    /// The parked queue, with a reason ops can see (e.g. unsupported topic).
    Parked { reason: &'static str },
}

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

    /// Publishes one accepted webhook and waits for the broker's confirm.
    pub async fn publish_event(
        &self,
        meta: &EventMeta,
        body: &[u8],
        route: Route,
    ) -> Result<(), PublishError> {
        let names = self.broker.names();
        let (key, props) = match route {
            Route::Work => {
                let p = so_domain::partition_for(&meta.shop, &meta.entity, names.partitions());
                (names.work_routing_key(p), codec::encode(meta, &[]))
            }
            Route::Parked { reason } => (
                names.parked_routing_key().to_owned(),
                codec::encode(meta, &[(codec::PARK_REASON, reason)]),
            ),
        };
        self.publish(&names.ingest_exchange(), &key, body, props)
            .await
    }

    /// Publishes `body` and waits at most the configured confirm timeout for
    /// the broker to take responsibility for it.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<(), PublishError> {
        let timeout = self.broker.settings().confirm_timeout();
        let link = self.broker.link().ok_or(PublishError::NotConnected)?;
        // A blocked connection accepts frames but stores nothing until the
        // alarm clears; failing fast lets Shopify retry instead of timing out.
        if link.is_blocked() {
            return Err(PublishError::Blocked);
        }
        let channel = link.publish_channel();
        // `mandatory`: an unroutable message is returned instead of silently
        // dropped (the alternate exchange catches it first; this is the
        // backstop if the topology was changed under us).
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirmed = async {
            let pending = channel
                .basic_publish(exchange.into(), routing_key.into(), options, body, props)
                .await
                .map_err(PublishError::Channel)?;
            pending.await.map_err(PublishError::Channel)
        };
        match tokio::time::timeout(timeout, confirmed).await {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(_)))) => Err(PublishError::Returned),
            Ok(Ok(Confirmation::Nack(_))) => Err(PublishError::Nacked),
            // Publisher confirms are always selected on publish channels.
            Ok(Ok(Confirmation::NotRequested)) => Err(PublishError::Nacked),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(PublishError::Timeout(timeout)),
        }
    }

    /// The configured confirm timeout.
    pub fn confirm_timeout(&self) -> Duration {
        self.broker.settings().confirm_timeout()
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
    /// Re-queues a message through the delay tier of `delay_secs`; it comes
    /// back to its own partition (same routing key) when the tier expires.
    pub async fn retry_later(
        &self,
        routing_key: &str,
        props: &BasicProperties,
        body: &[u8],
        delay_secs: u64,
        attempt: u32,
        reason: &str,
    ) -> Result<(), PublishError> {
        let tier = i64::try_from(delay_secs).unwrap_or(i64::MAX);
        let first_seen = codec::header(props, codec::FIRST_SEEN)
            .map_or_else(|| chrono::Utc::now().to_rfc3339(), str::to_owned);
        let props = codec::with_headers(
            props,
            &[
                (crate::topology::RETRY_TIER_HEADER, codec::int(tier)),
                (codec::ATTEMPT, codec::int(i64::from(attempt))),
                (codec::RETRY_REASON, codec::text(reason)),
                (codec::FIRST_SEEN, codec::text(&first_seen)),
            ],
            &[],
        );
        self.publish(
            &self.broker.names().retry_exchange(),
            routing_key,
            body,
            props,
        )
        .await
    }

    /// Schedules a copy of a message to come back to its partition after
    /// `delay_secs` (a delay queue of that length must exist, see
    /// [`crate::Names::with_scheduled_delays`]), marked with `mark` in the
    /// [`codec::SCHEDULED`] header so the consumer knows it as the check.
    pub async fn schedule(
        &self,
        routing_key: &str,
        props: &BasicProperties,
        body: &[u8],
        delay_secs: u64,
        mark: &str,
    ) -> Result<(), PublishError> {
        let tier = i64::try_from(delay_secs).unwrap_or(i64::MAX);
        let props = codec::with_headers(
            props,
            &[
                (crate::topology::RETRY_TIER_HEADER, codec::int(tier)),
                (codec::SCHEDULED, codec::text(mark)),
            ],
            &[codec::ATTEMPT, codec::RETRY_REASON],
        );
        self.publish(
            &self.broker.names().retry_exchange(),
            routing_key,
            body,
            props,
        )
        .await
    }

    /// Publishes a message to the dead-letter queue with why it died.
    pub async fn dead_letter(
        &self,
        routing_key: &str,
        props: &BasicProperties,
        body: &[u8],
        note: &DeathNote<'_>,
    ) -> Result<(), PublishError> {
        let first_seen = codec::header(props, codec::FIRST_SEEN)
            .map_or_else(|| chrono::Utc::now().to_rfc3339(), str::to_owned);
        // Details can be long (Ometria messages); headers stay small.
        let detail: String = note.detail.chars().take(1000).collect();
        let props = codec::with_headers(
            props,
            &[
                (codec::DEATH_STAGE, codec::text(note.stage)),
                (codec::DEATH_REASON, codec::text(note.reason)),
                (codec::DEATH_DETAIL, codec::text(&detail)),
                (codec::DEATH_ATTEMPTS, codec::int(i64::from(note.attempts))),
                (
                    codec::DEATH_AT,
                    codec::text(&chrono::Utc::now().to_rfc3339()),
                ),
                (codec::FIRST_SEEN, codec::text(&first_seen)),
            ],
            &[crate::topology::RETRY_TIER_HEADER],
        );
        self.publish(
            &self.broker.names().dead_exchange(),
            routing_key,
            body,
            props,
        )
        .await
    }

    /// Moves a message to the parked queue with `reason` (e.g. a paused shop).
    pub async fn park(
        &self,
        props: &BasicProperties,
        body: &[u8],
        reason: &str,
    ) -> Result<(), PublishError> {
        let props = codec::with_headers(props, &[(codec::PARK_REASON, codec::text(reason))], &[]);
        let names = self.broker.names();
        self.publish(
            &names.ingest_exchange(),
            names.parked_routing_key(),
            body,
            props,
        )
        .await
    }
}
