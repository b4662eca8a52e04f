//! What a benchmark of the service's own code runs against: a broker link
//! with the benchmark's prefix (8 partitions) and a scratch SQLite store.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use so_queue::{AmqpSettings, Broker};
use tokio_util::sync::CancellationToken;

pub(crate) struct Scratch {
    pub(crate) broker: Broker,
    pub(crate) stop: CancellationToken,
    pub(crate) store: so_store::Store,
    db: PathBuf,
}

impl Scratch {
    pub(crate) async fn open(amqp_url: &str, prefix: &str) -> anyhow::Result<Scratch> {
        let settings = AmqpSettings {
            url: secrecy::SecretString::from(amqp_url.to_owned()),
            prefix: prefix.to_owned(),
            partitions: 8,
            ..AmqpSettings::default()
        };
        let stop = CancellationToken::new();
        let broker = Broker::start(settings, stop.clone());
        broker
            .wait_connected(Duration::from_secs(20))
            .await
            .context("connecting to RabbitMQ")?;
        let db = std::env::temp_dir().join(format!("{prefix}.db"));
        let store = so_store::Store::connect(&format!("sqlite://{}?mode=rwc", db.display()), 2)
            .await
            .context("opening a scratch store")?;
        Ok(Scratch {
            broker,
            stop,
            store,
            db,
        })
    }

    /// Stops the broker link, deletes the prefix's queues and the store.
    pub(crate) async fn close(self, amqp_url: &str, prefix: &str) {
        self.stop.cancel();
        crate::ingress::cleanup(amqp_url, prefix).await;
        let _removed = std::fs::remove_file(&self.db);
    }
}
