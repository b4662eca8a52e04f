//! The two tasks of a publishing connection ([`crate::publish_conn`]) and
//! the state they share.
//!
//! Why not lapin's channels: lapin hands every frame to its own I/O thread
//! and every confirm back from it, so one webhook cost several thread
//! wake-ups (about 7 futex calls and 8 context switches per publish at
//! 1 000/s, measured). Here a publish is written by a task on the same
//! runtime as the request (the writer drains all waiting publishes into one
//! write), and the reader settles confirms as they are parsed.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use amq_protocol::protocol::{AMQPClass, basic, channel, confirm, connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

use crate::confirms::{ChannelConfirms, Outcome};
use crate::wire::{self, Incoming};

/// What the writer is asked to write.
#[derive(Debug)]
pub(crate) enum Command {
    /// A publish's frames; its confirm is registered as it is written.
    Publish {
        channel: u16,
        frames: Vec<u8>,
        confirm: oneshot::Sender<Outcome>,
    },
    /// Any other frames (channel open and close, replies).
    Control(Vec<u8>),
}

/// A reply to a channel method (`channel.open`, `confirm.select`, `channel.close`).
pub(crate) type Reply = Result<(), String>;

#[derive(Debug, Default)]
pub(crate) struct ChannelState {
    pub(crate) confirms: ChannelConfirms,
    pub(crate) waiting: Option<oneshot::Sender<Reply>>,
}

/// What the link watches: blocked by a resource alarm, or closed and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) blocked: bool,
    pub(crate) closed: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) channels: Mutex<HashMap<u16, ChannelState>>,
    pub(crate) frame_max: u32,
    pub(crate) channel_max: u16,
    heartbeat: Duration,
    blocked: AtomicBool,
    open: AtomicBool,
    status: watch::Sender<Status>,
    started: Instant,
    /// Milliseconds after `started` when bytes last arrived.
    heard_ms: AtomicU64,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Shared {
    pub(crate) fn new(frame_max: u32, channel_max: u16, heartbeat: Duration) -> Shared {
        Shared {
            channels: Mutex::new(HashMap::new()),
            frame_max,
            channel_max,
            heartbeat,
            blocked: AtomicBool::new(false),
            open: AtomicBool::new(true),
            status: watch::Sender::new(Status::default()),
            started: Instant::now(),
            heard_ms: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn channels(&self) -> MutexGuard<'_, HashMap<u16, ChannelState>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Acquire)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// The tasks to stop when the connection closes.
    pub(crate) fn hold(&self, task: AbortHandle) {
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    /// Closes the connection once: every waiting publish and channel method
    /// fails with `why`, the tasks stop (dropping the socket).
    pub(crate) fn close(&self, why: &str) {
        if !self.open.swap(false, Ordering::AcqRel) {
            return;
        }
        for (_, mut state) in self.channels().drain() {
            state.confirms.fail_all(why);
            if let Some(waiting) = state.waiting.take() {
                let _gone = waiting.send(Err(why.to_owned()));
            }
        }
        self.status.send_modify(|s| s.closed = Some(why.to_owned()));
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            task.abort();
        }
    }

    fn heard(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.heard_ms.store(ms, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let heard = Duration::from_millis(self.heard_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(heard)
    }

    fn set_blocked(&self, blocked: bool) {
        self.blocked.store(blocked, Ordering::Release);
        self.status.send_modify(|s| s.blocked = blocked);
    }

    /// Queues `command`'s frames into `batch`, registering a publish's
    /// confirm in the order it will be written.
    fn take(&self, command: Command, batch: &mut Vec<Vec<u8>>) {
        match command {
            Command::Control(frames) => batch.push(frames),
            Command::Publish {
                channel,
                frames,
                confirm,
            } => match self.channels().get_mut(&channel) {
                Some(state) => {
                    state.confirms.register(confirm);
                    batch.push(frames);
                }
                None => {
                    let _gone =
                        confirm.send(Outcome::Failed(format!("channel {channel} is closed")));
                }
            },
        }
    }

    /// Acts on one frame from the broker; `Err` closes the connection.
    fn receive(
        &self,
        frame: Incoming,
        writer: &mpsc::UnboundedSender<Command>,
    ) -> Result<(), String> {
        match frame {
            Incoming::Heartbeat => {}
            Incoming::Header(id, size) => {
                if let Some(state) = self.channels().get_mut(&id) {
                    state.confirms.content_header(size);
                }
            }
            Incoming::Body(id, size) => {
                if let Some(state) = self.channels().get_mut(&id) {
                    state.confirms.content_body(size);
                }
            }
            Incoming::Method(id, method) => return self.method(id, *method, writer),
        }
        Ok(())
    }

    fn method(
        &self,
        id: u16,
        method: AMQPClass,
        writer: &mpsc::UnboundedSender<Command>,
    ) -> Result<(), String> {
        use AMQPClass::{Basic, Channel, Confirm, Connection};
        match method {
            Basic(basic::AMQPMethod::Ack(a)) => self.settle(id, a.delivery_tag, a.multiple, true),
            Basic(basic::AMQPMethod::Nack(n)) => self.settle(id, n.delivery_tag, n.multiple, false),
            Basic(basic::AMQPMethod::Return(r)) => {
                tracing::warn!(channel = id, reply_code = r.reply_code, exchange = %r.exchange, routing_key = %r.routing_key, "RabbitMQ returned a published message as unroutable.");
                if let Some(state) = self.channels().get_mut(&id) {
                    state.confirms.return_started();
                }
            }
            Channel(channel::AMQPMethod::OpenOk(_)) | Confirm(confirm::AMQPMethod::SelectOk(_)) => {
                self.reply(id, Ok(()), false);
            }
            Channel(channel::AMQPMethod::CloseOk(_)) => self.reply(id, Ok(()), true),
            Channel(channel::AMQPMethod::Close(c)) => {
                let why = format!(
                    "the broker closed channel {id}: {} {}",
                    c.reply_code, c.reply_text
                );
                tracing::warn!(reason = %why, "A publishing channel was closed.");
                let ok = Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}));
                send_method(writer, id, ok);
                self.reply(id, Err(why), true);
            }
            Connection(connection::AMQPMethod::Close(c)) => {
                let ok = Connection(connection::AMQPMethod::CloseOk(connection::CloseOk {}));
                send_method(writer, 0, ok);
                return Err(format!(
                    "the broker closed the connection: {} {}",
                    c.reply_code, c.reply_text
                ));
            }
            Connection(connection::AMQPMethod::CloseOk(_)) => {
                return Err("the connection was closed".to_owned());
            }
            Connection(connection::AMQPMethod::Blocked(b)) => {
                tracing::warn!(reason = %b.reason, "RabbitMQ is blocking the publishing connection.");
                self.set_blocked(true);
            }
            Connection(connection::AMQPMethod::Unblocked(_)) => {
                tracing::info!("RabbitMQ unblocked the publishing connection.");
                self.set_blocked(false);
            }
            other => {
                tracing::debug!(channel = id, method = ?other, "Ignored an AMQP method on the publishing connection.")
            }
        }
        Ok(())
    }

    fn settle(&self, id: u16, tag: u64, multiple: bool, acked: bool) {
        if let Some(state) = self.channels().get_mut(&id) {
            state.confirms.settle(tag, multiple, acked);
        }
    }

    /// Answers the channel method waiting on `id`; with `closed`, the
    /// channel is gone and its waiting publishes fail.
    fn reply(&self, id: u16, reply: Reply, closed: bool) {
        let mut channels = self.channels();
        let waiting = if closed {
            channels.remove(&id).and_then(|mut state| {
                let why = reply
                    .clone()
                    .err()
                    .unwrap_or_else(|| format!("channel {id} closed"));
                state.confirms.fail_all(&why);
                state.waiting
            })
        } else {
            channels.get_mut(&id).and_then(|state| state.waiting.take())
        };
        drop(channels);
        if let Some(waiting) = waiting {
            let _gone = waiting.send(reply);
        }
    }
}

/// Queues a method frame for the writer (a reply the reader owes).
fn send_method(writer: &mpsc::UnboundedSender<Command>, channel: u16, method: AMQPClass) {
    let mut frames = Vec::new();
    if wire::put_method(&mut frames, channel, method).is_ok() {
        let _closing = writer.send(Command::Control(frames));
    }
}

/// Most publishes one write carries (the iovec limit is 1 024).
const BATCH: usize = 256;

/// Writes what it is asked to, draining every waiting command into one
/// write, and a heartbeat when it wrote nothing for half the interval.
pub(crate) async fn write_loop(
    shared: Arc<Shared>,
    mut writer: OwnedWriteHalf,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let beat = shared.heartbeat;
    let mut tick = tokio::time::interval((beat / 2).max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut batch = Vec::with_capacity(BATCH);
    let mut wrote = false;
    let why = loop {
        tokio::select! {
            biased;
            command = commands.recv() => {
                let Some(command) = command else { break "the publisher was dropped".to_owned() };
                shared.take(command, &mut batch);
                while batch.len() < BATCH && let Ok(command) = commands.try_recv() {
                    shared.take(command, &mut batch);
                }
                if let Err(e) = write_all(&mut writer, &mut batch).await {
                    break format!("cannot write to the broker: {e}");
                }
                wrote = true;
            }
            _ = tick.tick(), if !beat.is_zero() => {
                if shared.silent_for() > beat * 2 {
                    break format!("no heartbeat from the broker for {:?}", beat * 2);
                }
                if !wrote && let Err(e) = writer.write_all(wire::HEARTBEAT).await {
                    break format!("cannot write to the broker: {e}");
                }
                wrote = false;
            }
        }
    };
    shared.close(&why);
}

async fn write_all(writer: &mut OwnedWriteHalf, batch: &mut Vec<Vec<u8>>) -> std::io::Result<()> {
    if let [one] = batch.as_slice() {
        writer.write_all(one).await?;
    } else {
        let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
        let mut rest = slices.as_mut_slice();
        while !rest.is_empty() {
            let n = writer.write_vectored(rest).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
    }
    batch.clear();
    Ok(())
}

/// Reads and acts on frames until the connection fails or closes.
pub(crate) async fn read_loop(
    shared: Arc<Shared>,
    mut reader: OwnedReadHalf,
    writer: mpsc::UnboundedSender<Command>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let why = 'read: loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => break "the broker closed the connection".to_owned(),
            Ok(_) => shared.heard(),
            Err(e) => break format!("cannot read from the broker: {e}"),
        }
        let mut at = 0;
        loop {
            match wire::next_frame(&buf[at..]) {
                Ok(Some((frame, len))) => {
                    at += len;
                    if let Err(why) = shared.receive(frame, &writer) {
                        break 'read why;
                    }
                }
                Ok(None) => break,
                Err(e) => break 'read e.to_string(),
            }
        }
        buf.drain(..at);
    };
    shared.close(&why);
}
