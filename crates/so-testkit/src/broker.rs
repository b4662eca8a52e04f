//! The shared test broker: URL, isolation by prefix, inspection, cleanup.

use std::time::Duration;

use so_queue::probe::Probe;
use so_queue::{Envelope, Headers, Names};

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
    pub envelope: Envelope,
    pub body: Vec<u8>,
}

impl Message {
    /// A text header by name.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.envelope.header(key)
    }

    pub fn headers(&self) -> &Headers {
        self.envelope.headers()
    }

    pub fn message_id(&self) -> Option<&str> {
        self.headers().message_id.as_deref()
    }

    /// 2 = persistent.
    pub fn delivery_mode(&self) -> Option<u8> {
        self.headers().delivery_mode
    }
}

/// A plain connection for inspecting and cleaning up a test's queues.
#[derive(Debug)]
pub struct BrokerProbe {
    probe: Probe,
}

impl BrokerProbe {
    pub async fn connect() -> anyhow::Result<BrokerProbe> {
        BrokerProbe::connect_to(&amqp_url()).await
    }

    /// A probe on another broker (a test's private node).
    pub async fn connect_to(url: &str) -> anyhow::Result<BrokerProbe> {
        Ok(BrokerProbe {
            probe: Probe::connect(url).await?,
        })
    }

    /// Takes (and acks) every message currently in `queue`. Work queues
    /// have a single active consumer, which rules out `basic.get`, so this
    /// counts the queue and consumes exactly that many.
    pub async fn drain(&self, queue: &str) -> anyhow::Result<Vec<Message>> {
        let count = self.probe.depth(queue).await?;
        let mut out = Vec::new();
        if count == 0 {
            return Ok(out);
        }
        let mut taker = self.probe.take(queue, "so-testkit-drain", 200).await?;
        while out.len() < count as usize {
            let next = tokio::time::timeout(Duration::from_secs(10), taker.next()).await;
            let taken = match next {
                Ok(Some(t)) => t?,
                Ok(None) => anyhow::bail!("consumer on {queue} ended"),
                Err(_) => anyhow::bail!("{queue}: got {} of {count} messages", out.len()),
            };
            out.push(Message {
                queue: queue.to_owned(),
                envelope: taken.envelope,
                body: taken.body,
            });
        }
        taker.close().await;
        Ok(out)
    }

    /// Takes every message from every queue of the topology (but the
    /// letter index's copies).
    pub async fn drain_all(&self, names: &Names) -> anyhow::Result<Vec<Message>> {
        let mut out = Vec::new();
        // The index queue holds copies of what the DLQ and parked queue
        // hold, not messages of their own.
        for (q, role) in names.all_queues() {
            if role == so_queue::QueueRole::Index {
                continue;
            }
            out.extend(self.drain(&q).await?);
        }
        Ok(out)
    }

    /// A queue of this probe's own (gone when it closes) that receives a
    /// copy of every message published to the headers exchange `exchange`
    /// (the retry exchange), for tests that count what went there; read it
    /// with [`BrokerProbe::depth`].
    pub async fn tap(&self, exchange: &str, queue: &str) -> anyhow::Result<()> {
        Ok(self.probe.tap(exchange, queue).await?)
    }

    /// Ready messages in `queue`.
    pub async fn depth(&self, queue: &str) -> anyhow::Result<u32> {
        Ok(self.probe.depth(queue).await?)
    }

    /// Deletes every queue and exchange of the topology.
    pub async fn delete_topology(&self, names: &Names) -> anyhow::Result<()> {
        Ok(self.probe.delete_topology(names).await?)
    }

    pub async fn close(self) {
        self.probe.close().await;
    }
}
