//! Each processor records how far it has settled its partitions (see
//! `so_store::Progress`), for the abandonment checks' rule
//! (`prepare/due.rs`). One write per batch at most, and one per idle tick.
//!
//! A partition's queue is first in, first out, and one processor takes it
//! in order: once a message received at `t` is settled, so is everything
//! before it, but for what left the order: a message sent to a retry tier,
//! or returned to its queue, is held until it is settled for good. A
//! partition with nothing in the batch, when the batch took everything the
//! consumer had handed over, had nothing received before the batch began.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use so_store::{Progress, ProgressHold, Store};
use tokio::sync::watch;

/// How long after the ingress stamps a message's received time it may
/// still be publishing it (concurrent webhooks are published out of step).
const INGRESS_SKEW: TimeDelta = TimeDelta::seconds(5);

/// What became of one delivery, for the progress.
#[derive(Debug, Clone)]
pub(crate) struct Trace {
    pub(crate) partition: u16,
    pub(crate) received_at: Option<DateTime<Utc>>,
    /// A scheduled copy (an abandonment check): not input, never held.
    pub(crate) scheduled: bool,
    /// (shop, webhook id), as the headers say.
    pub(crate) key: Option<(String, String)>,
    /// Retried or returned before: it may hold its partition.
    pub(crate) held_before: bool,
    pub(crate) fate: Fate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Committed, parked, dead-lettered, or deferred: done with.
    Settled,
    /// Sent to a retry tier, or returned to its queue: not settled yet.
    Pending,
}

/// One processor's progress keeper.
pub(crate) struct Tracker {
    pub(crate) store: Store,
    /// This processor owns partition `p` where `p % processors == index`.
    pub(crate) index: u16,
    pub(crate) processors: u16,
    /// The partitions this process consumes.
    pub(crate) consuming: watch::Receiver<BTreeSet<u16>>,
    /// What could not be written yet: kept and written with the next.
    pub(crate) unwritten: Progress,
}

impl Tracker {
    /// After a batch gathered from `began` settled as `traces`; `drained`:
    /// it took everything handed over by then. An idle tick is an empty
    /// batch that drained.
    pub(crate) async fn after(&mut self, traces: &[Trace], began: DateTime<Utc>, drained: bool) {
        let mut p = std::mem::take(&mut self.unwritten);
        let mut seen: BTreeMap<u16, Option<DateTime<Utc>>> = BTreeMap::new();
        for t in traces.iter().filter(|t| !t.scheduled) {
            let mark = seen.entry(t.partition).or_default();
            let Some(received) = t.received_at else {
                continue;
            };
            *mark = Some(mark.map_or(received, |m| m.max(received)));
            match (t.fate, &t.key) {
                (Fate::Pending, Some((shop, id))) => p.holds.push(ProgressHold {
                    shop: shop.clone(),
                    webhook_id: id.clone(),
                    received_at: received,
                }),
                (Fate::Settled, Some(key)) if t.held_before => p.released.push(key.clone()),
                _ => {}
            }
        }
        for (part, latest) in seen {
            if let Some(latest) = latest {
                p.marks.push((part, latest - INGRESS_SKEW));
            }
        }
        if drained {
            let quiet = self
                .owned()
                .into_iter()
                .filter(|q| !traces.iter().any(|t| t.partition == *q && !t.scheduled));
            p.marks
                .extend(quiet.map(|q| (q, began - INGRESS_SKEW)).collect::<Vec<_>>());
        }
        if let Err(e) = self.store.record_progress(&p, Utc::now()).await {
            tracing::warn!(error = %e, "Cannot record the partitions' progress; abandonment checks wait for the next write.");
            self.unwritten = p;
        }
    }

    /// The partitions this processor consumes now.
    fn owned(&self) -> Vec<u16> {
        let n = self.processors.max(1);
        self.consuming
            .borrow()
            .iter()
            .copied()
            .filter(|p| p % n == self.index)
            .collect()
    }
}
