//! The confirm-mode channels a link publishes on, round-robin, and their
//! renewal after a nack.
//!
//! Why renew: on RabbitMQ 3.10, a channel's first publish to a quorum queue
//! asks the node it believes leads the queue. If that node is dead (the
//! client reconnected before the queue's record named the new leader), the
//! channel nacks that publish and, since its state for the queue stays
//! unset, every later publish to the queue on that channel, until the
//! channel closes (measured in the cluster case, tests/it/cluster.rs). A
//! fresh channel asks the queue's current leader.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection};

use crate::Error;

#[derive(Debug)]
pub(crate) struct PublishSlots {
    slots: Vec<Slot>,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Slot {
    channel: Mutex<Channel>,
    /// Set while a replacement is being opened or the replaced channel
    /// waits to close: at most one renewal per slot per confirm timeout.
    renewing: AtomicBool,
}

/// A channel in confirm mode.
pub(crate) async fn confirm_channel(connection: &Connection) -> Result<Channel, Error> {
    let ch = connection
        .create_channel()
        .await
        .map_err(Error::amqp("channel.open"))?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(Error::amqp("confirm.select"))?;
    Ok(ch)
}

impl PublishSlots {
    pub(crate) async fn open(connection: &Connection, n: u16) -> Result<PublishSlots, Error> {
        let mut slots = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            slots.push(Slot {
                channel: Mutex::new(confirm_channel(connection).await?),
                renewing: AtomicBool::new(false),
            });
        }
        Ok(PublishSlots {
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// The next channel, round-robin, with its slot number.
    pub(crate) fn next(&self) -> (usize, Channel) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        (i, self.current(i))
    }

    fn current(&self, i: usize) -> Channel {
        self.slots[i]
            .channel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces slot `i`'s channel, if it is still `nacked`, with a fresh
    /// one; the old one closes after `grace` so confirms still pending on
    /// it arrive. Returns at once when a renewal of the slot is under way.
    pub(crate) async fn renew(
        &self,
        connection: &Connection,
        i: usize,
        nacked: &Channel,
        grace: Duration,
    ) {
        let slot = &self.slots[i];
        if slot.renewing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Ok(fresh) = confirm_channel(connection).await {
            // `Ok(old)`: swapped in; `Err(fresh)`: the slot moved on already.
            let swapped = {
                let mut current = slot.channel.lock().unwrap_or_else(PoisonError::into_inner);
                if current.id() == nacked.id() {
                    Ok(std::mem::replace(&mut *current, fresh))
                } else {
                    Err(fresh)
                }
            };
            match swapped {
                Ok(old) => {
                    tracing::info!(slot = i, "Renewed a publishing channel after a nack.");
                    tokio::time::sleep(grace).await;
                    let _closed = old.close(200, "renewed after a nack".into()).await;
                }
                Err(fresh) => {
                    let _closed = fresh.close(200, "not needed".into()).await;
                }
            }
        }
        slot.renewing.store(false, Ordering::Release);
    }
}
