//! The connection a [`crate::Publisher`] writes on: AMQP 0-9-1 over a tokio
//! socket, only what confirmed publishing needs (handshake, channels in
//! confirm mode, `basic.publish`, acks, nacks, returns, `connection.blocked`,
//! heartbeats). Topology, consumers and statistics stay on lapin's
//! connection; `publish_io.rs` says why publishing does not.

use std::sync::Arc;
use std::time::Duration;

use amq_protocol::auth::{Credentials, SASLMechanism};
use amq_protocol::protocol::{AMQPClass, channel, confirm, connection};
use amq_protocol::types::{AMQPValue, FieldTable};
use amq_protocol::uri::{AMQPScheme, AMQPUri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::Error;
use crate::confirms::Outcome;
use crate::publish_io::{self, ChannelState, Command, Shared, Status};
use crate::wire::{self, Incoming, Publish};

/// An open publishing connection; closed when dropped.
#[derive(Debug)]
pub(crate) struct PublishConn {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
}

fn failed(op: &'static str) -> impl FnOnce(String) -> Error {
    move |reason| Error::Publishing { op, reason }
}

impl PublishConn {
    /// Connects to `uri` and completes the AMQP handshake.
    pub(crate) async fn open(uri: &str, name: &str) -> Result<PublishConn, Error> {
        let uri: AMQPUri = uri.parse().map_err(failed("parsing the broker URL"))?;
        if uri.scheme == AMQPScheme::AMQPS {
            return Err(Error::Publishing {
                op: "connect",
                reason: "amqps is not supported by this build".to_owned(),
            });
        }
        let address = (uri.authority.host.as_str(), uri.authority.port);
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|e| Error::Publishing {
                op: "connect",
                reason: e.to_string(),
            })?;
        stream.set_nodelay(true).map_err(|e| Error::Publishing {
            op: "connect",
            reason: e.to_string(),
        })?;
        let shared = handshake(&mut stream, &uri, name)
            .await
            .map_err(failed("connection handshake"))?;
        let shared = Arc::new(shared);
        let (reader, writer) = stream.into_split();
        let (commands, queued) = mpsc::unbounded_channel();
        let write = tokio::spawn(publish_io::write_loop(shared.clone(), writer, queued));
        let read = tokio::spawn(publish_io::read_loop(
            shared.clone(),
            reader,
            commands.clone(),
        ));
        shared.hold(write.abort_handle());
        shared.hold(read.abort_handle());
        Ok(PublishConn { commands, shared })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.shared.is_open()
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.shared.is_blocked()
    }

    /// Changes whenever the connection is blocked, unblocked or closed.
    pub(crate) fn status(&self) -> watch::Receiver<Status> {
        self.shared.subscribe()
    }

    /// Queues a publish on `channel`; the receiver gets the broker's answer.
    pub(crate) fn publish(
        &self,
        channel: u16,
        publish: Publish<'_>,
    ) -> Result<oneshot::Receiver<Outcome>, String> {
        let frames = wire::publish_frames(channel, publish, self.shared.frame_max)
            .map_err(|e| e.to_string())?;
        let (confirm, outcome) = oneshot::channel();
        let command = Command::Publish {
            channel,
            frames,
            confirm,
        };
        self.commands
            .send(command)
            .map_err(|_| "the publishing connection is closed".to_owned())?;
        Ok(outcome)
    }

    /// Opens a channel in confirm mode, waiting at most `within` for each reply.
    pub(crate) async fn open_channel(&self, within: Duration) -> Result<u16, Error> {
        let id = self.allocate_channel()?;
        let open = AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {}));
        self.call(id, open, within)
            .await
            .map_err(failed("channel.open"))?;
        let select = confirm::Select { nowait: false };
        let select = AMQPClass::Confirm(confirm::AMQPMethod::Select(select));
        self.call(id, select, within)
            .await
            .map_err(failed("confirm.select"))?;
        Ok(id)
    }

    /// Closes channel `id`; its unconfirmed publishes fail.
    pub(crate) async fn close_channel(&self, id: u16, within: Duration) {
        let close = AMQPClass::Channel(channel::AMQPMethod::Close(channel::Close {
            reply_code: 200,
            reply_text: "renewed".into(),
            class_id: 0,
            method_id: 0,
        }));
        if self.call(id, close, within).await.is_err() {
            let state = self.shared.channels().remove(&id);
            if let Some(mut state) = state {
                state.confirms.fail_all("the channel was closed");
            }
        }
    }

    /// Closes the connection politely (`connection.close`), at most `within`.
    pub(crate) async fn close(&self, within: Duration) {
        let mut frames = Vec::new();
        let close = AMQPClass::Connection(connection::AMQPMethod::Close(connection::Close {
            reply_code: 200,
            reply_text: "shutting down".into(),
            class_id: 0,
            method_id: 0,
        }));
        let mut status = self.status();
        if wire::put_method(&mut frames, 0, close).is_ok()
            && self.commands.send(Command::Control(frames)).is_ok()
        {
            let closed = status.wait_for(|s| s.closed.is_some());
            let _late = tokio::time::timeout(within, closed).await;
        }
        self.shared.close("closed by the service");
    }

    /// A free channel number, registered as opening.
    fn allocate_channel(&self) -> Result<u16, Error> {
        let mut channels = self.shared.channels();
        let max = self.shared.channel_max.max(1);
        let free = (1..=max).find(|id| !channels.contains_key(id));
        let Some(id) = free else {
            return Err(Error::Publishing {
                op: "channel.open",
                reason: format!("all {max} channels are in use"),
            });
        };
        channels.insert(id, ChannelState::default());
        Ok(id)
    }

    /// Sends a channel method and waits for its reply.
    async fn call(&self, id: u16, method: AMQPClass, within: Duration) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        match self.shared.channels().get_mut(&id) {
            Some(state) => state.waiting = Some(tx),
            None => return Err(format!("channel {id} is closed")),
        }
        let mut frames = Vec::new();
        wire::put_method(&mut frames, id, method).map_err(|e| e.to_string())?;
        self.commands
            .send(Command::Control(frames))
            .map_err(|_| "the publishing connection is closed".to_owned())?;
        match tokio::time::timeout(within, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err("the publishing connection is closed".to_owned()),
            Err(_) => Err(format!("no reply within {within:?}")),
        }
    }
}

impl Drop for PublishConn {
    fn drop(&mut self) {
        self.shared.close("the link was dropped");
    }
}

/// The opening exchange (`connection.start` to `connection.open-ok`), with
/// the tuning lapin applies: the lower of both sides' limits, the server's
/// heartbeat when ours is off.
async fn handshake(stream: &mut TcpStream, uri: &AMQPUri, name: &str) -> Result<Shared, String> {
    let mut buf = Vec::new();
    write(stream, wire::PROTOCOL_HEADER).await?;
    let AMQPClass::Connection(connection::AMQPMethod::Start(start)) =
        read_method(stream, &mut buf).await?
    else {
        return Err("expected connection.start".to_owned());
    };
    if !start
        .mechanisms
        .to_string()
        .split(' ')
        .any(|m| m == "PLAIN")
    {
        return Err("the broker does not offer PLAIN authentication".to_owned());
    }
    let user = &uri.authority.userinfo;
    let credentials = Credentials::new(user.username.clone().into(), user.password.clone().into());
    let start_ok = connection::StartOk {
        client_properties: client_properties(name),
        mechanism: "PLAIN".into(),
        response: credentials.sasl_auth_string(SASLMechanism::Plain),
        locale: "en_US".into(),
    };
    send(
        stream,
        AMQPClass::Connection(connection::AMQPMethod::StartOk(start_ok)),
    )
    .await?;
    let tune = match read_method(stream, &mut buf).await? {
        AMQPClass::Connection(connection::AMQPMethod::Tune(tune)) => tune,
        AMQPClass::Connection(connection::AMQPMethod::Close(c)) => {
            return Err(format!("{} {}", c.reply_code, c.reply_text));
        }
        _ => return Err("expected connection.tune".to_owned()),
    };
    let lower = |ours: u32, theirs: u32| match (ours, theirs) {
        (0, t) => t,
        (o, 0) => o,
        (o, t) => o.min(t),
    };
    let query = &uri.query;
    let channel_max = lower(
        query.channel_max.map_or(0, u32::from),
        u32::from(tune.channel_max),
    );
    let channel_max = u16::try_from(channel_max).unwrap_or(u16::MAX);
    let channel_max = if channel_max == 0 {
        u16::MAX
    } else {
        channel_max
    };
    let frame_max = lower(query.frame_max.unwrap_or(0), tune.frame_max);
    let frame_max = if frame_max == 0 { u32::MAX } else { frame_max };
    let heartbeat = lower(
        query.heartbeat.map_or(0, u32::from),
        u32::from(tune.heartbeat),
    );
    let heartbeat = u16::try_from(heartbeat).unwrap_or(u16::MAX);
    let tune_ok = connection::TuneOk {
        channel_max,
        frame_max,
        heartbeat,
    };
    send(
        stream,
        AMQPClass::Connection(connection::AMQPMethod::TuneOk(tune_ok)),
    )
    .await?;
    let open = connection::Open {
        virtual_host: uri.vhost.as_str().into(),
    };
    send(
        stream,
        AMQPClass::Connection(connection::AMQPMethod::Open(open)),
    )
    .await?;
    match read_method(stream, &mut buf).await? {
        AMQPClass::Connection(connection::AMQPMethod::OpenOk(_)) => {}
        AMQPClass::Connection(connection::AMQPMethod::Close(c)) => {
            return Err(format!("{} {}", c.reply_code, c.reply_text));
        }
        _ => return Err("expected connection.open-ok".to_owned()),
    }
    let heartbeat = Duration::from_secs(u64::from(heartbeat));
    Ok(Shared::new(frame_max, channel_max, heartbeat))
}

/// What the broker is told about this client: like lapin's, so that a
/// `connection.blocked` reaches it, under its own connection name.
fn client_properties(name: &str) -> FieldTable {
    let mut capabilities = FieldTable::default();
    for capability in ["publisher_confirms", "basic.nack", "connection.blocked"] {
        capabilities.insert(capability.into(), AMQPValue::Boolean(true));
    }
    let mut properties = FieldTable::default();
    properties.insert(
        "product".into(),
        AMQPValue::LongString("shopify-ometria".into()),
    );
    properties.insert("connection_name".into(), AMQPValue::LongString(name.into()));
    properties.insert("capabilities".into(), AMQPValue::FieldTable(capabilities));
    properties
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).await.map_err(|e| e.to_string())
}

async fn send(stream: &mut TcpStream, method: AMQPClass) -> Result<(), String> {
    let mut frames = Vec::new();
    wire::put_method(&mut frames, 0, method).map_err(|e| e.to_string())?;
    write(stream, &frames).await
}

/// The next method on channel 0 during the handshake (heartbeats skipped).
async fn read_method(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<AMQPClass, String> {
    loop {
        if let Some((frame, len)) = wire::next_frame(buf).map_err(|e| e.to_string())? {
            buf.drain(..len);
            match frame {
                Incoming::Method(0, method) => return Ok(*method),
                Incoming::Heartbeat => continue,
                other => return Err(format!("unexpected frame during the handshake: {other:?}")),
            }
        }
        let n = stream.read_buf(buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the broker closed the connection during the handshake".to_owned());
        }
    }
}
