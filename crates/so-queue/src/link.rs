//! A supervised broker connection.
//!
//! lapin's own auto-recovery keeps in-flight confirms pending for the whole
//! reconnect (8-30 s measured, shared/reference/rabbitmq.md §2.3), which
//! would hang webhook requests. Instead a supervisor task owns the
//! connection: while it is down, callers fail fast (503), and it reconnects
//! with capped exponential backoff, re-declaring the topology each time.
//!
//! With several broker addresses (the nodes of a cluster, `amqp.urls`) each
//! attempt tries them in turn, starting after the one last used: when a
//! link is lost, its node is the likeliest to be gone. The backoff applies
//! between rounds, once every address has failed.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::{Channel, Connection, ConnectionProperties, Event};
use so_domain::error_chain;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::confirms::Outcome;
use crate::names::PublishRoutes;
use crate::publish_conn::PublishConn;
use crate::publish_slots::PublishSlots;
use crate::wire::Publish;
use crate::{AmqpSettings, Error, Names, addresses, topology};

/// Log filter directives that set the AMQP client library's own targets
/// to `level` (at `debug` they log every frame), so a filter can quiet
/// them without naming the library.
pub fn client_log_directives(level: &str) -> String {
    format!("lapin={level},amq_protocol={level}")
}

/// One live node: lapin's connection (topology, consumers, statistics) and
/// the publishing connection with its channels.
#[derive(Debug)]
pub struct Link {
    connection: Connection,
    /// `host:port` of the node this link is connected to.
    address: String,
    publisher: PublishConn,
    publish: PublishSlots,
}

impl Link {
    /// A confirm-mode channel, round-robin, with its slot (for
    /// [`Link::renew_channel`]).
    pub(crate) fn publish_channel(&self) -> (usize, u16) {
        self.publish.next()
    }

    /// Queues a publish on `channel`; the receiver gets the broker's answer.
    pub(crate) fn publish(
        &self,
        channel: u16,
        publish: Publish<'_>,
    ) -> Result<tokio::sync::oneshot::Receiver<Outcome>, String> {
        self.publisher.publish(channel, publish)
    }

    /// Replaces publishing channel `slot` after `failed` was nacked or
    /// closed, in the background (`publish_slots.rs` says why).
    pub(crate) fn renew_channel(self: &Arc<Self>, slot: usize, failed: u16, grace: Duration) {
        let link = self.clone();
        tokio::spawn(async move {
            link.publish
                .renew(&link.publisher, slot, failed, grace)
                .await;
        });
    }

    /// `host:port` of the node this link is connected to.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn is_blocked(&self) -> bool {
        self.publisher.is_blocked() || self.connection.status().blocked()
    }

    pub fn is_connected(&self) -> bool {
        self.publisher.is_open() && self.connection.status().connected()
    }

    /// A fresh channel for callers that need their own (consumers, stats).
    pub(crate) async fn channel(&self) -> Result<Channel, Error> {
        self.connection
            .create_channel()
            .await
            .map_err(Error::amqp("channel.open"))
    }
}

/// What the supervisor currently knows.
#[derive(Debug, Clone)]
pub enum LinkState {
    Connecting,
    Up(Arc<Link>),
    Down { error: String },
    Closed,
}

/// Handle to the supervised connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Broker {
    state: watch::Receiver<LinkState>,
    settings: Arc<AmqpSettings>,
    // Behind `Arc`s: the ingress clones its state, so the broker, per request.
    names: Arc<Names>,
    routes: Arc<PublishRoutes>,
}

impl Broker {
    /// Starts the supervisor. It runs until `shutdown` is cancelled.
    pub fn start(settings: AmqpSettings, shutdown: CancellationToken) -> Broker {
        let names = Names::new(
            &settings.prefix,
            settings.partitions,
            &settings.retry_tiers_secs,
        )
        .with_scheduled_delays(&settings.scheduled_delays_secs);
        let settings = Arc::new(settings);
        let (tx, rx) = watch::channel(LinkState::Connecting);
        tokio::spawn(supervise(settings.clone(), names.clone(), tx, shutdown));
        Broker {
            state: rx,
            settings,
            routes: Arc::new(PublishRoutes::new(&names)),
            names: Arc::new(names),
        }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    pub(crate) fn routes(&self) -> &PublishRoutes {
        &self.routes
    }

    pub fn settings(&self) -> &AmqpSettings {
        &self.settings
    }

    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// The live link, if connected.
    pub fn link(&self) -> Option<Arc<Link>> {
        match &*self.state.borrow() {
            LinkState::Up(link) if link.is_connected() => Some(link.clone()),
            _ => None,
        }
    }

    /// Ready = connected, topology declared, and not blocked by an alarm.
    pub fn is_ready(&self) -> bool {
        self.link().is_some_and(|l| !l.is_blocked())
    }

    /// Waits until a link is up or `timeout` passes.
    pub async fn wait_connected(&self, timeout: Duration) -> Option<Arc<Link>> {
        let mut rx = self.state.clone();
        let wait = async {
            loop {
                if let Some(link) = self.link() {
                    return Some(link);
                }
                if matches!(*rx.borrow(), LinkState::Closed) || rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// A receiver that changes whenever the link state does.
    pub fn subscribe(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }
}

async fn supervise(
    settings: Arc<AmqpSettings>,
    names: Names,
    tx: watch::Sender<LinkState>,
    shutdown: CancellationToken,
) {
    let uris = settings.connect_uris();
    let mut first = 0;
    let mut delay = Duration::from_millis(settings.reconnect_min_ms);
    let max_delay = Duration::from_millis(settings.reconnect_max_ms);
    loop {
        let attempt = tokio::select! {
            () = shutdown.cancelled() => break,
            r = connect_any(&settings, &names, &uris, first) => r,
        };
        match attempt {
            Ok((link, events, used)) => {
                delay = Duration::from_millis(settings.reconnect_min_ms);
                first = (used + 1) % uris.len();
                tracing::info!(prefix = %settings.prefix, node = %link.address, "Connected to RabbitMQ and declared the topology.");
                let link = Arc::new(link);
                tx.send_replace(LinkState::Up(link.clone()));
                let error = watch_link(&link, events, &tx, &shutdown).await;
                match error {
                    None => {
                        link.publisher.close(Duration::from_secs(1)).await;
                        let _closed = link.connection.close(200, "shutting down".into()).await;
                        break;
                    }
                    Some(error) => {
                        tracing::warn!(%error, node = %link.address, "Lost the RabbitMQ connection; reconnecting.");
                        tx.send_replace(LinkState::Down { error });
                    }
                }
            }
            Err(e) => {
                let error = error_chain(&e);
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "Cannot connect to RabbitMQ.");
                tx.send_replace(LinkState::Down { error });
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(max_delay);
            }
        }
    }
    tx.send_replace(LinkState::Closed);
}

type Events = futures::stream::BoxStream<'static, Event>;

/// One round over the addresses, from `first` on: the link and the index
/// of the address it used, or the last address's error.
async fn connect_any(
    settings: &AmqpSettings,
    names: &Names,
    uris: &[String],
    first: usize,
) -> Result<(Link, Events, usize), Error> {
    let mut last = Error::NotConnected;
    for i in (0..uris.len()).map(|k| (first + k) % uris.len()) {
        match connect(settings, names, &uris[i]).await {
            Ok((link, events)) => return Ok((link, events, i)),
            Err(e) => {
                if uris.len() > 1 {
                    tracing::warn!(error = %error_chain(&e), node = %addresses::host_of(&uris[i]), "Cannot connect to this RabbitMQ node; trying the next.");
                }
                last = e;
            }
        }
    }
    Err(last)
}

async fn connect(
    settings: &AmqpSettings,
    names: &Names,
    uri: &str,
) -> Result<(Link, Events), Error> {
    let props = ConnectionProperties::default().with_connection_name("shopify-ometria".into());
    let timeout = settings.connect_timeout();
    let connection = tokio::time::timeout(timeout, Connection::connect(uri, props))
        .await
        .map_err(|_elapsed| Error::ConnectTimeout(timeout))?
        .map_err(Error::amqp("connection.open"))?;
    let events = connection.events_listener().boxed();
    let setup = connection
        .create_channel()
        .await
        .map_err(Error::amqp("channel.open"))?;
    topology::declare(&setup, settings, names).await?;
    let _closed = setup.close(200, "topology declared".into()).await;
    let publisher = tokio::time::timeout(
        timeout,
        PublishConn::open(uri, "shopify-ometria publishing"),
    )
    .await
    .map_err(|_elapsed| Error::ConnectTimeout(timeout))??;
    let publish = PublishSlots::open(
        &publisher,
        settings.publisher_channels,
        settings.confirm_timeout(),
    )
    .await?;
    let link = Link {
        connection,
        address: addresses::host_of(uri).to_owned(),
        publisher,
        publish,
    };
    Ok((link, events))
}

/// Follows connection events until the link dies (returns the reason) or
/// shutdown is requested (returns `None`).
async fn watch_link(
    link: &Link,
    mut events: Events,
    tx: &watch::Sender<LinkState>,
    shutdown: &CancellationToken,
) -> Option<String> {
    // Belt and braces: not every failure path is guaranteed to emit an
    // event, so the status is also polled.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut publishing = link.publisher.status();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            changed = publishing.changed() => {
                let closed = publishing.borrow_and_update().closed.clone();
                match (changed, closed) {
                    (Ok(()), None) => tx.send_modify(|_| {}),
                    (_, Some(why)) => return Some(format!("publishing connection: {why}")),
                    (Err(_), None) => return Some("publishing connection: gone".to_owned()),
                }
            }
            ev = events.next() => match ev {
                Some(Event::Error(e)) => return Some(e.to_string()),
                Some(Event::ConnectionBlocked(reason)) => {
                    tracing::warn!(%reason, "RabbitMQ is blocking publishers.");
                    tx.send_modify(|_| {});
                }
                Some(Event::ConnectionUnblocked) => {
                    tracing::info!("RabbitMQ unblocked publishers.");
                    tx.send_modify(|_| {});
                }
                Some(_) => {}
                None => return Some("connection event stream ended".to_owned()),
            },
            _ = tick.tick() => {
                if !link.is_connected() {
                    return Some("connection is no longer open".to_owned());
                }
            }
        }
    }
}
