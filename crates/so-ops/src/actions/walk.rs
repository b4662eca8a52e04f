//! One walk through a queue: counting what it sees, taking the matches,
//! removing them once they are done with.

use std::collections::HashMap;

use so_queue::{QueueScan, Scanned};

use super::OperationReport;
use crate::letter::{self, LetterSummary};
use crate::{OpsError, index};

/// What a walk through a queue has seen so far.
pub(super) struct Tally {
    pub(super) scanned: u32,
    pub(super) matched: u64,
    /// The first `keep` matches.
    pub(super) kept: Vec<LetterSummary>,
    keep: usize,
    /// Index keys of the messages removed from the queue.
    pub(super) removed: Vec<String>,
}

impl Tally {
    pub(super) fn keeping(keep: usize) -> Tally {
        Tally {
            scanned: 0,
            matched: 0,
            kept: Vec::new(),
            keep,
            removed: Vec::new(),
        }
    }

    fn removed(&mut self, m: &Scanned) {
        self.removed
            .push(index::copy_key(m.envelope(), &m.routing_key, &m.body));
    }

    pub(super) fn into_report(self, report: &mut OperationReport) {
        report.scanned = self.scanned;
        report.matched = self.matched;
        report.sample = self.kept;
    }
}

/// Takes messages until the next one that matches, counting all it saw;
/// `None` once the scan is through.
pub(super) async fn next_match(
    scan: &mut QueueScan,
    matches: &(dyn Fn(&LetterSummary) -> bool + Sync),
    tally: &mut Tally,
) -> Result<Option<Scanned>, OpsError> {
    while let Some(m) = scan.next().await? {
        tally.scanned += 1;
        let s = letter::summarize(&m);
        if matches(&s) {
            tally.matched += 1;
            if tally.kept.len() < tally.keep {
                tally.kept.push(s);
            }
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Removes every matching message for good.
pub(super) async fn purge_matching(
    scan: &mut QueueScan,
    matches: &(dyn Fn(&LetterSummary) -> bool + Sync),
    tally: &mut Tally,
    report: &mut OperationReport,
) -> Result<(), OpsError> {
    while let Some(m) = next_match(scan, matches, tally).await? {
        if m.remove().await != so_queue::AckOutcome::Acked {
            return Err(OpsError::Queue(so_queue::Error::NotConnected));
        }
        tally.removed(&m);
        report.done += 1;
    }
    Ok(())
}

/// Removes each confirmed message from its queue; a failed confirm stops
/// the operation with that message (and later ones) left where they were.
pub(super) async fn settle(
    held: &mut HashMap<u64, Scanned>,
    settled: Vec<(u64, Result<(), so_queue::PublishError>)>,
    report: &mut OperationReport,
    tally: &mut Tally,
) -> Result<(), OpsError> {
    for (tag, outcome) in settled {
        let Some(m) = held.remove(&tag) else { continue };
        outcome?;
        if m.remove().await == so_queue::AckOutcome::Acked {
            tally.removed(&m);
            report.done += 1;
        } else {
            return Err(OpsError::Queue(so_queue::Error::NotConnected));
        }
    }
    Ok(())
}
