//! What producers hold: the [`Pusher`] handle, the [`Preparing`] guard,
//! and the queue's shared counters the attribute drain reads.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use so_domain::ometria::{PushRecord, RecordType};
use so_ometria::{Client, Coalescing, PushFailure, PushOutcome};
use tokio::sync::{Notify, mpsc, oneshot};

/// One request's outcome, shared by the submissions whose records it carried.
pub(crate) type RequestResult = Arc<Result<PushOutcome, PushFailure>>;

/// A part of one submission that went out in one request.
pub(crate) struct Sent {
    pub(crate) records: Vec<PushRecord>,
    pub(crate) result: RequestResult,
}

pub(super) struct Submission {
    pub(super) record_type: RecordType,
    pub(super) records: Vec<PushRecord>,
    pub(super) reply: oneshot::Sender<Vec<Sent>>,
}

/// What the loop receives.
pub(super) enum Msg {
    Submit(Submission),
    /// A producer finished preparing (see [`Preparing`]).
    Ready,
}

/// Handle held by processors; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Pusher {
    tx: mpsc::UnboundedSender<Msg>,
    pub(super) backlog: Arc<Backlog>,
    max_records: usize,
}

/// How much waits in the pusher, shared with its producers.
#[derive(Debug)]
pub(super) struct Backlog {
    /// Records submitted and not yet in a request (nor riding).
    pub(super) queued: AtomicUsize,
    /// The same, per record type.
    by_type: [AtomicUsize; 4],
    /// Producers preparing records for this pusher now, by ticket (in the
    /// order they began).
    preparing: Mutex<BTreeSet<u64>>,
    next_ticket: AtomicU64,
    /// Told when the next request would leave part-filled for want of
    /// records (see [`Backlog::starving`]): the drain fills it.
    pub(super) room: Arc<Notify>,
    pub(super) started: Instant,
    /// When a full request last waited for a slot (milliseconds since
    /// `started`; `u64::MAX`: never).
    pub(super) full_at_ms: AtomicU64,
}

fn slot(t: RecordType) -> usize {
    match t {
        RecordType::Contact => 0,
        RecordType::Order => 1,
        RecordType::Product => 2,
        RecordType::CustomEvent => 3,
    }
}

impl Backlog {
    pub(super) fn add(&self, t: RecordType, n: usize) {
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.by_type[slot(t)].fetch_add(n, Ordering::Relaxed);
    }

    /// Takes `n` of type `t` off the counts; returns how many of all types
    /// were queued before.
    pub(super) fn remove(&self, t: RecordType, n: usize) -> usize {
        self.by_type[slot(t)].fetch_sub(n, Ordering::Relaxed);
        self.queued.fetch_sub(n, Ordering::Relaxed)
    }

    fn preparing(&self) -> std::sync::MutexGuard<'_, BTreeSet<u64>> {
        self.preparing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The ticket of the producer that began preparing last (a horizon for
    /// [`Backlog::preparing_up_to`]).
    pub(super) fn horizon(&self) -> u64 {
        self.next_ticket.load(Ordering::Relaxed)
    }

    /// Whether the next request would leave part-filled (or not at all)
    /// for want of records: no type has a full request waiting and no
    /// producer is preparing more.
    pub(super) fn starving(&self, max_records: usize) -> bool {
        self.by_type
            .iter()
            .all(|n| n.load(Ordering::Relaxed) < max_records)
            && self.preparing().is_empty()
    }

    /// How many producers that began before `horizon` are still preparing:
    /// a slot waits for those, not for ones that began after it was
    /// granted (at a steady input that would never end).
    pub(super) fn preparing_up_to(&self, horizon: u64) -> usize {
        self.preparing().range(..horizon).count()
    }
}

/// A backlog counts as present this long after a full request last waited:
/// the queue empties with every slot and refills between them (a slot every
/// 250 ms at 4 requests/s), and the budget stays the limit meanwhile.
const BACKLOG_LINGERS: Duration = Duration::from_millis(500);

/// The pusher's loop, to be spawned; it ends when every [`Pusher`] is gone
/// and everything submitted was sent.
pub(crate) struct PushLoop {
    pub(super) rx: mpsc::UnboundedReceiver<Msg>,
    pub(super) backlog: Arc<Backlog>,
    pub(super) client: Client,
    pub(super) max_records: usize,
    pub(super) concurrency: usize,
    /// Off: no product record rides with an identical one.
    pub(super) coalescing: Coalescing,
}

/// The pusher of one account. `room` is told whenever its next request
/// has room for more records (see [`Pusher::room_for`]).
pub(crate) fn pusher(
    client: Client,
    max_records: usize,
    concurrency: usize,
    coalescing: Coalescing,
    room: Arc<Notify>,
) -> (Pusher, PushLoop) {
    let (tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(Backlog {
        queued: AtomicUsize::new(0),
        by_type: Default::default(),
        preparing: Mutex::new(BTreeSet::new()),
        next_ticket: AtomicU64::new(0),
        room,
        started: Instant::now(),
        full_at_ms: AtomicU64::new(u64::MAX),
    });
    let max_records = max_records.clamp(1, 100);
    (
        Pusher {
            tx,
            backlog: backlog.clone(),
            max_records,
        },
        PushLoop {
            rx,
            backlog,
            client,
            max_records,
            concurrency: concurrency.max(1),
            coalescing,
        },
    )
}

impl Pusher {
    /// Hands `records` (one type) over now; the receiver gets how each
    /// part fared once all are answered. `None` when the pusher is gone
    /// (shutting down): the caller retries later.
    pub(crate) fn submit(
        &self,
        record_type: RecordType,
        records: Vec<PushRecord>,
    ) -> Option<oneshot::Receiver<Vec<Sent>>> {
        let (reply, answer) = oneshot::channel();
        if records.is_empty() {
            let _answered = reply.send(Vec::new());
            return Some(answer);
        }
        self.backlog.add(record_type, records.len());
        let sent = self.tx.send(Msg::Submit(Submission {
            record_type,
            records,
            reply,
        }));
        if let Err(mpsc::error::SendError(Msg::Submit(s))) = sent {
            self.backlog.remove(s.record_type, s.records.len());
            return None;
        }
        Some(answer)
    }

    /// How many records of `record_type` to hand over now so that the next
    /// request leaves full: none unless it would leave part-filled for
    /// want of records (no type has a full request waiting, nobody is
    /// preparing more), then what that type's queue lacks of one. The
    /// drain hands over this many contacts (the oldest marks, settled or
    /// not) rather than let a slot go part-filled or unused.
    pub(crate) fn room_for(&self, record_type: RecordType) -> usize {
        let b = &self.backlog;
        if !b.starving(self.max_records) {
            return 0;
        }
        self.max_records
            .saturating_sub(b.by_type[slot(record_type)].load(Ordering::Relaxed))
    }

    /// Whether a full request's worth of records waits now: the next slot
    /// is used whatever else comes.
    pub(crate) fn spoken_for(&self) -> bool {
        self.backlog.queued.load(Ordering::Relaxed) >= self.max_records
    }

    /// Whether a full request's worth of records waits for a slot, or did
    /// within [`BACKLOG_LINGERS`]: the account's budget, not the input, is
    /// the limit.
    pub(crate) fn saturated(&self) -> bool {
        let b = &self.backlog;
        if b.queued.load(Ordering::Relaxed) >= self.max_records {
            return true;
        }
        let full_at = b.full_at_ms.load(Ordering::Relaxed);
        let now = u64::try_from(b.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        full_at != u64::MAX && now.saturating_sub(full_at) < BACKLOG_LINGERS.as_millis() as u64
    }
}

/// A producer (a batch being prepared, a drain page being read) that will
/// hand records to these pushers: while one is, a granted slot whose
/// request is not full yet waits for it (see [`super::pick::fill_until`]).
/// Dropped once its records are handed over.
#[derive(Debug)]
pub(crate) struct Preparing {
    /// Each pusher with this producer's ticket there.
    pushers: Vec<(Pusher, u64)>,
}

impl Preparing {
    pub(crate) fn new(pushers: Vec<Pusher>) -> Preparing {
        let pushers = pushers
            .into_iter()
            .map(|p| {
                let b = &p.backlog;
                let mut preparing = b.preparing();
                let ticket = b.next_ticket.fetch_add(1, Ordering::Relaxed);
                preparing.insert(ticket);
                drop(preparing);
                (p, ticket)
            })
            .collect();
        Preparing { pushers }
    }
}

impl Drop for Preparing {
    fn drop(&mut self) {
        for (p, ticket) in &self.pushers {
            p.backlog.preparing().remove(ticket);
            // After this producer's submissions on the same channel, so the
            // loop sees them first. A closed channel has no slot to fill.
            let _woken = p.tx.send(Msg::Ready);
        }
    }
}
