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
