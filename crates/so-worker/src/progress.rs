//! Each processor records how far it has settled its partitions (see
//! `so_store::Progress`), for the abandonment checks' rule
//! (`prepare/due.rs`). A batch's progress rides in the next batch's commit
//! (one transaction per batch), or in the next idle tick's own small write:
//! late by a batch, never ahead of what is settled.
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
    /// What is not written yet: it rides in the next batch's commit, or the
    /// next idle tick's write.
    pub(crate) kept: Progress,
}

impl Tracker {
    /// After a batch gathered from `began` settled as `traces`; `drained`:
    /// it took everything handed over by then. Kept for the next write: a
    /// trace's fate is known only once its batch is committed and moved.
    pub(crate) fn after(&mut self, traces: &[Trace], began: DateTime<Utc>, drained: bool) {
        let p = self.progress(traces, began, drained);
        self.kept.append(p);
    }

    /// The progress kept so far, for the next batch's commit to carry.
    pub(crate) fn take(&mut self) -> Progress {
        std::mem::take(&mut self.kept)
    }

    /// Keeps again what a failed commit did not write (it came first).
    pub(crate) fn restore(&mut self, unwritten: Progress) {
        let later = std::mem::replace(&mut self.kept, unwritten);
        self.kept.append(later);
    }

    /// An idle tick (nothing handed over since `began`): what is kept and
    /// the quiet partitions' marks, in a small write of its own.
    pub(crate) async fn idle(&mut self, began: DateTime<Utc>) {
        self.after(&[], began, true);
        self.flush().await;
    }

    /// Writes what is kept now; kept on failure, for the next write.
    pub(crate) async fn flush(&mut self) {
        let p = self.take();
        if let Err(e) = self.store.record_progress(&p, Utc::now()).await {
            tracing::warn!(error = %e, "Cannot record the partitions' progress; abandonment checks wait for the next write.");
            self.restore(p);
        }
    }

    fn progress(&self, traces: &[Trace], began: DateTime<Utc>, drained: bool) -> Progress {
        let mut p = Progress::default();
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
        p
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
