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

/// The partitions this process's processors may still hold deliveries of,
/// by processor index: listed in its membership row with those it
/// consumes, so no other process writes their time while a delivery taken
/// before a cancelled subscription is unsettled here.
#[derive(Debug, Default)]
pub(crate) struct InHand(std::sync::Mutex<BTreeMap<u16, BTreeSet<u16>>>);

impl InHand {
    fn set(&self, index: u16, partitions: BTreeSet<u16>) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(index, partitions);
    }

    pub(crate) fn all(&self) -> BTreeSet<u16> {
        let by_processor = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        by_processor.values().flatten().copied().collect()
    }
}

/// One processor's progress keeper.
pub(crate) struct Tracker {
    pub(crate) store: Store,
    /// This processor owns partition `p` where `p % processors == index`.
    pub(crate) index: u16,
    pub(crate) processors: u16,
    /// The partitions this process consumes (some perhaps as a standby).
    pub(crate) consuming: watch::Receiver<BTreeSet<u16>>,
    /// The partitions other live processes report consuming; `None` until
    /// known. No partition time is written for them.
    pub(crate) elsewhere: watch::Receiver<Option<BTreeSet<u16>>>,
    /// What is not written yet: it rides in the next batch's commit, or the
    /// next idle tick's write.
    pub(crate) kept: Progress,
    /// Shared with the membership; this processor's entry is kept here.
    pub(crate) in_hand: std::sync::Arc<InHand>,
}

impl Tracker {
    /// After a batch gathered from `began` settled as `traces`; `drained`:
    /// it took everything handed over by then. Kept for the next write: a
    /// trace's fate is known only once its batch is committed and moved.
    pub(crate) fn after(&mut self, traces: &[Trace], began: DateTime<Utc>, drained: bool) {
        let p = self.progress(traces, began, drained);
        self.kept.append(p);
    }

    /// After `traces` settled; `empty`: nothing waits in this processor's
    /// channel now. Then only the partitions still consumed may bring more;
    /// otherwise a partition given up since may still have deliveries
    /// waiting here: kept until empty.
    pub(crate) fn note_in_hand(&mut self, traces: &[Trace], empty: bool) {
        let mut held: BTreeSet<u16> = self.owned().into_iter().collect();
        if !empty {
            held.extend(traces.iter().map(|t| t.partition));
            held.extend(self.in_hand_before());
        }
        self.in_hand.set(self.index, held);
    }

    /// A batch of `partitions` taken: they, and every partition consumed
    /// now (more of them may wait in the channel), are in hand until the
    /// processor finds its channel empty.
    pub(crate) fn note_taken(&mut self, partitions: impl Iterator<Item = u16>) {
        let mut held = self.in_hand_before();
        held.extend(self.owned());
        held.extend(partitions);
        self.in_hand.set(self.index, held);
    }

    fn in_hand_before(&self) -> BTreeSet<u16> {
        let by_processor = self
            .in_hand
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        by_processor.get(&self.index).cloned().unwrap_or_default()
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
        self.note_in_hand(&[], true);
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
        // Holds and releases are per message, always true; a partition's time
        // only while no other process may be working through it.
        match &*self.elsewhere.borrow() {
            Some(taken) => p.marks.retain(|(q, _)| !taken.contains(q)),
            None => p.marks.clear(),
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

#[cfg(test)]
mod tests {
    //! On a real (SQLite) store: what the tracker wrote is read back from it.

    use super::*;

    struct Setup {
        tracker: Tracker,
        store: Store,
        elsewhere: watch::Sender<Option<BTreeSet<u16>>>,
        consuming: watch::Sender<BTreeSet<u16>>,
        _dir: tempfile::TempDir,
    }

    /// One processor consuming `partitions`, no other process known.
    async fn setup(partitions: &[u16]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/so.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, 2).await.unwrap();
        let (consuming_tx, consuming) = watch::channel(partitions.iter().copied().collect());
        let (elsewhere_tx, elsewhere) = watch::channel(Some(BTreeSet::new()));
        let tracker = Tracker {
            store: store.clone(),
            index: 0,
            processors: 1,
            consuming,
            elsewhere,
            kept: Progress::default(),
            in_hand: std::sync::Arc::default(),
        };
        Setup {
            tracker,
            store,
            elsewhere: elsewhere_tx,
            consuming: consuming_tx,
            _dir: dir,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn trace(partition: u16, received: i64, fate: Fate) -> Trace {
        Trace {
            partition,
            received_at: Some(at(received)),
            scheduled: false,
            key: Some(("a.myshopify.com".to_owned(), format!("w-{received}"))),
            held_before: false,
            fate,
        }
    }

    async fn settled_before(s: &Setup, partitions: u16) -> Option<DateTime<Utc>> {
        s.store.settled_before(partitions, at(0)).await.unwrap()
    }

    #[tokio::test]
    async fn a_batch_progress_waits_for_the_next_commit_and_lands_with_it() {
        let mut s = setup(&[0]).await;
        s.tracker
            .after(&[trace(0, 100, Fate::Settled)], at(90), false);
        assert_eq!(settled_before(&s, 1).await, None, "no write of its own");
        let commit = so_store::Commit {
            progress: s.tracker.take(),
            ..so_store::Commit::default()
        };
        let _committed = s.store.commit(&commit).await.unwrap();
        assert_eq!(settled_before(&s, 1).await, Some(at(95)));
    }

    #[tokio::test]
    async fn what_a_failed_commit_did_not_write_goes_with_the_next_write() {
        let mut s = setup(&[0]).await;
        s.tracker
            .after(&[trace(0, 20, Fate::Pending)], at(10), false);
        let unwritten = s.tracker.take();
        s.tracker.restore(unwritten);
        s.tracker
            .after(&[trace(0, 100, Fate::Settled)], at(90), false);
        s.tracker.flush().await;
        assert_eq!(
            settled_before(&s, 1).await,
            Some(at(20)),
            "the retried message holds the partition's later time back"
        );
    }

    #[tokio::test]
    async fn no_partition_time_while_another_process_may_consume_the_partition() {
        let mut s = setup(&[0, 1]).await;
        s.elsewhere.send_replace(None);
        s.tracker.idle(at(50)).await;
        assert_eq!(
            settled_before(&s, 1).await,
            None,
            "membership not known yet"
        );
        s.elsewhere.send_replace(Some(BTreeSet::from([1])));
        s.tracker
            .after(&[trace(1, 100, Fate::Settled)], at(90), true);
        s.tracker.idle(at(100)).await;
        assert_eq!(settled_before(&s, 1).await, Some(at(95)));
        assert_eq!(
            settled_before(&s, 2).await,
            None,
            "partition 1, taken elsewhere, has no time"
        );
        s.elsewhere.send_replace(Some(BTreeSet::new()));
        s.tracker.idle(at(110)).await;
        assert_eq!(settled_before(&s, 2).await, Some(at(105)));
    }

    #[tokio::test]
    async fn a_partition_given_up_is_listed_in_hand_until_the_processor_drains() {
        let mut s = setup(&[0, 1]).await;
        s.tracker.note_taken([1].into_iter());
        s.consuming.send_replace(BTreeSet::from([0]));
        assert_eq!(
            s.tracker.in_hand.all(),
            BTreeSet::from([0, 1]),
            "taken before its consumer was cancelled"
        );
        s.tracker
            .note_in_hand(&[trace(1, 100, Fate::Settled)], false);
        s.tracker
            .note_in_hand(&[trace(0, 110, Fate::Settled)], false);
        assert_eq!(
            s.tracker.in_hand.all(),
            BTreeSet::from([0, 1]),
            "deliveries of 1 may still wait"
        );
        s.tracker.note_in_hand(&[], true);
        assert_eq!(s.tracker.in_hand.all(), BTreeSet::from([0]));
    }
}
