//! The confirm-mode channels a link publishes on, round-robin, and their
//! renewal after a nack or a close.
//!
//! Why renew: on RabbitMQ 3.10, a channel's first publish to a quorum queue
//! asks the node it believes leads the queue. If that node is dead (the
//! client reconnected before the queue's record named the new leader), the
//! channel nacks that publish and, since its state for the queue stays
//! unset, every later publish to the queue on that channel, until the
//! channel closes (measured in the cluster case, tests/it/cluster.rs). A
//! fresh channel asks the queue's current leader. A channel the broker
//! closed (a publish to an exchange deleted under us) is renewed too.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use crate::Error;
use crate::publish_conn::PublishConn;

#[derive(Debug)]
pub(crate) struct PublishSlots {
    slots: Vec<Slot>,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Slot {
    channel: AtomicU16,
    /// Set while a replacement is being opened or the replaced channel
    /// waits to close: at most one renewal per slot per confirm timeout.
    renewing: AtomicBool,
}

impl PublishSlots {
    pub(crate) async fn open(
        conn: &PublishConn,
        n: u16,
        within: Duration,
    ) -> Result<PublishSlots, Error> {
        let mut slots = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            slots.push(Slot {
                channel: AtomicU16::new(conn.open_channel(within).await?),
                renewing: AtomicBool::new(false),
            });
        }
        Ok(PublishSlots {
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// The next channel, round-robin, with its slot number.
    pub(crate) fn next(&self) -> (usize, u16) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        (i, self.slots[i].channel.load(Ordering::Acquire))
    }

    /// Replaces slot `i`'s channel, if it is still `failed`, with a fresh
    /// one; the old one closes after `grace` so confirms still pending on
    /// it arrive. Returns at once when a renewal of the slot is under way.
    pub(crate) async fn renew(&self, conn: &PublishConn, i: usize, failed: u16, grace: Duration) {
        let slot = &self.slots[i];
        if slot.renewing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Ok(fresh) = conn.open_channel(grace).await {
            let swapped =
                slot.channel
                    .compare_exchange(failed, fresh, Ordering::AcqRel, Ordering::Acquire);
            match swapped {
                Ok(old) => {
                    tracing::info!(slot = i, "Renewed a publishing channel.");
                    tokio::time::sleep(grace).await;
                    conn.close_channel(old, grace).await;
                }
                // The slot moved on already.
                Err(_) => conn.close_channel(fresh, grace).await,
            }
        }
        slot.renewing.store(false, Ordering::Release);
    }
}
