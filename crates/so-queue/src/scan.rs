//! Walking a queue message by message for operators (dead letters, parked
//! events), without losing anything or changing the order of what stays.
//!
//! A scan takes messages with `basic.get` and holds them unacknowledged on
//! its own channel. A message is removed only by acking it, after whatever
//! had to happen to it (a confirmed republish) happened. At the end every
//! other message is returned with `basic.nack(requeue)`, one by one in queue
//! order, each after the previous one is back: RabbitMQ 3.10 returns the
//! unacked messages of a closed channel in no particular order (measured: a
//! listing of 40 came back shuffled), and nacks sent back to back partly
//! reversed. If the process dies halfway
//! the broker still returns every held message, nothing is lost, only their
//! order among themselves may change.
//!
//! `basic.get` rather than a consumer: a consumer's prefetch would have to
//! cover every held message, and unlimited prefetch lets the broker push a
//! whole queue into memory while a paced replay waits.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::Channel;
use lapin::PublisherConfirm;
use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;

use crate::publisher::confirmation;
use crate::{AckOutcome, Broker, Envelope, Error, Headers, PublishError, delivery};

/// An open scan of one queue.
pub struct QueueScan {
    channel: Channel,
    initial_depth: u32,
    taken: u32,
    queue: String,
    held: Held,
}

/// Messages taken and not removed, by position.
type Held = Arc<Mutex<BTreeMap<u32, lapin::Acker>>>;

/// One message taken by a scan; it stays in the queue unless [`Scanned::remove`]d.
pub struct Scanned {
    /// Its position in the queue when the scan started (0 = head).
    pub position: u32,
    pub routing_key: String,
    /// It was delivered before (by a scan or a consumer).
    pub redelivered: bool,
    pub body: Vec<u8>,
    envelope: Envelope,
    acker: lapin::Acker,
    held: Held,
}

impl std::fmt::Debug for Scanned {
    // Bodies hold customer data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanned")
            .field("position", &self.position)
            .field("routing_key", &self.routing_key)
            .field("message_id", &self.headers().message_id)
            .finish_non_exhaustive()
    }
}

impl Scanned {
    /// Its headers, decoded when it was taken.
    pub fn headers(&self) -> &Headers {
        self.envelope.headers()
    }

    /// Its properties, to show every header or republish it.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Removes the message from its queue (acks it), checking lapin's result.
    pub async fn remove(&self) -> AckOutcome {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&self.position);
        }
        delivery::ack(&self.acker).await
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
            held: Held::default(),
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
        if let Ok(mut held) = self.held.lock() {
            held.insert(position, d.acker.clone());
        }
        Ok(Some(Scanned {
            position,
            routing_key: d.routing_key.as_str().to_owned(),
            redelivered: d.redelivered,
            body: d.data,
            envelope: Envelope::from_properties(d.properties),
            acker: d.acker,
            held: self.held.clone(),
        }))
    }

    /// Ends the scan: every message not removed goes back to the queue, in order.
    pub async fn finish(self) {
        let held = self
            .held
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default();
        // Requeues sent back to back reach the queue partly reversed
        // (measured on 3.10.8), so each one is waited for, briefly, before
        // the next; a slow broker falls back to sending the rest at once.
        let mut ready = self.ready().await;
        for acker in held.values() {
            if delivery::requeue(acker).await != AckOutcome::Acked {
                break;
            }
            let Some(before) = ready else { continue };
            ready = None;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            while tokio::time::Instant::now() < deadline {
                match self.ready().await {
                    Some(n) if n > before => {
                        ready = Some(n);
                        break;
                    }
                    Some(_) => tokio::task::yield_now().await,
                    None => break,
                }
            }
        }
        let _closed = self.channel.close(200, "scan finished".into()).await;
    }

    async fn ready(&self) -> Option<u32> {
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        self.channel
            .queue_declare(self.queue.as_str().into(), passive, FieldTable::default())
            .await
            .ok()
            .map(|q| q.message_count())
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

    /// Sends one message tagged `tag`, mandatory, with the properties of
    /// `envelope` (persistent for every message this service queues). When
    /// the window is full, first waits for the oldest confirm and returns
    /// its outcome.
    pub async fn send(
        &mut self,
        tag: u64,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        envelope: &Envelope,
    ) -> Result<Vec<(u64, Result<(), PublishError>)>, PublishError> {
        let props = envelope.properties().clone();
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
            .map_err(|e| PublishError::Channel(e.into()))?;
        self.in_flight.push_back((tag, confirm));
        settled.extend(self.settle_ready());
        Ok(settled)
    }

    /// The outcomes of the oldest confirms that have already arrived, so a
    /// slow (paced) operation removes each message soon after its confirm.
    fn settle_ready(&mut self) -> Vec<(u64, Result<(), PublishError>)> {
        use futures::FutureExt as _;
        let mut settled = Vec::new();
        while let Some((tag, confirm)) = self.in_flight.front_mut() {
            let Some(outcome) = confirm.now_or_never() else {
                break;
            };
            let tag = *tag;
            self.in_flight.pop_front();
            settled.push((tag, confirmation(outcome)));
        }
        settled
    }

    async fn settle_oldest(&mut self) -> Option<(u64, Result<(), PublishError>)> {
        let (tag, confirm) = self.in_flight.pop_front()?;
        let outcome = match tokio::time::timeout(self.timeout, confirm).await {
            Ok(result) => confirmation(result),
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
