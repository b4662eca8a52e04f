//! Accounting per webhook id: every acknowledged webhook is matched against
//! the fake Ometria's write log, never against the distinct records (which
//! cannot show a record written twice, nor a create an update overwrote).
//!
//! An acknowledged webhook is
//! - *delivered* if a write of its entity at its version is in the log
//!   (when several webhooks carry one version, as many as it has writes);
//! - a *recognised duplicate* if it carries a version other acknowledged
//!   webhooks carry and was not written again (a copy under another
//!   webhook id that the worker dropped);
//! - *stale* if its version was never written but a newer version of the
//!   same entity was (the worker dropped it as superseded);
//! - *lost* otherwise.
//!
//! *Doubles* are extra writes of one version (a push whose commit was lost
//! and that was pushed again), and *regressions* writes of a version older
//! than one already written (the final state would be wrong).

use std::collections::{HashMap, HashSet};

use so_domain::ometria::RecordType;
use so_fake_ometria::AppliedWrite;

use super::load::{Sent, version_of};

/// What a case's accounting found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Accounts {
    pub(crate) webhooks: u64,
    pub(crate) sent: u64,
    pub(crate) acknowledged: u64,
    pub(crate) unacknowledged: u64,
    pub(crate) resent: u64,
    pub(crate) delivered: u64,
    pub(crate) stale: u64,
    pub(crate) duplicates: u64,
    pub(crate) doubles: u64,
    pub(crate) regressions: u64,
    pub(crate) lost: u64,
    /// Doubles of a version whose webhook the sender had sent more than once
    /// (a copy the ingress published before its answer was lost).
    pub(crate) doubles_of_resent: u64,
    /// The doubled versions as (customer, version, writes), to look up.
    pub(crate) doubled: Vec<(String, u32, u64)>,
    /// The lost webhook ids with their customer and version, to look up.
    pub(crate) lost_ids: Vec<(String, u64, u32)>,
}

/// Matches the sender's record against the write log.
pub(crate) fn account(sent: &[Sent], log: &[AppliedWrite]) -> Accounts {
    let entities: HashSet<String> = sent.iter().map(|s| s.entity.to_string()).collect();
    let mut writes: HashMap<(String, u32), u64> = HashMap::new();
    let mut newest: HashMap<String, u32> = HashMap::new();
    let mut a = Accounts::default();
    for w in log {
        if w.key.record_type != RecordType::Contact || !entities.contains(&w.key.id) {
            continue;
        }
        let Some(version) = w.version.as_deref().and_then(version_of) else {
            continue;
        };
        let top = newest.entry(w.key.id.clone()).or_insert(0);
        if version < *top {
            a.regressions += 1;
        }
        *top = (*top).max(version);
        *writes.entry((w.key.id.clone(), version)).or_insert(0) += 1;
    }
    a.doubles = writes.values().map(|n| n.saturating_sub(1)).sum();
    a.doubled = writes
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((id, v), n)| (id.clone(), *v, *n))
        .collect();
    let mut attributed: HashMap<(String, u32), u64> = HashMap::new();
    for s in sent {
        a.webhooks += 1;
        a.sent += u64::from(s.sends);
        a.resent += u64::from(s.sends.saturating_sub(1));
        if !s.acknowledged {
            a.unacknowledged += 1;
            continue;
        }
        a.acknowledged += 1;
        let key = (s.entity.to_string(), s.version);
        if s.sends > 1 {
            a.doubles_of_resent += writes.get(&key).map_or(0, |n| n.saturating_sub(1));
        }
        if let Some(written) = writes.get(&key) {
            // As many webhooks delivered as there were writes of their
            // version; the rest were recognised and not written again.
            let taken = attributed.entry(key).or_insert(0);
            if *taken < *written {
                *taken += 1;
                a.delivered += 1;
            } else {
                a.duplicates += 1;
            }
        } else if newest.get(&key.0).is_some_and(|n| *n > s.version) {
            a.stale += 1;
        } else {
            a.lost += 1;
            a.lost_ids.push((s.webhook_id.clone(), s.entity, s.version));
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use so_fake_ometria::RecordKey;

    use super::*;
    use crate::fault_suite::load::email;

    fn sent(entity: u64, version: u32, acknowledged: bool) -> Sent {
        Sent {
            webhook_id: format!("{entity}-{version}"),
            entity,
            version,
            sends: 1,
            acknowledged,
        }
    }

    fn write(seq: usize, entity: u64, version: u32) -> AppliedWrite {
        AppliedWrite {
            seq,
            key: RecordKey {
                record_type: RecordType::Contact,
                collection: Some("customers".to_owned()),
                id: entity.to_string(),
            },
            version: Some(email(entity, version)),
            at: tokio::time::Instant::now(),
            timestamp: chrono::Utc::now(),
        }
    }

    #[test]
    fn each_acknowledged_webhook_is_delivered_stale_duplicate_or_lost() {
        let sent = [
            sent(1, 1, true),  // delivered
            sent(1, 2, true),  // delivered
            sent(1, 2, true),  // a copy, not written again: duplicate
            sent(2, 1, true),  // superseded by version 2: stale
            sent(2, 2, true),  // delivered
            sent(3, 1, true),  // never written: lost
            sent(4, 1, false), // unacknowledged: not counted as lost
            sent(5, 1, true),  // delivered, and written again: a double
            sent(6, 1, true),  // delivered
            sent(6, 1, true),  // a copy written again: delivered, a double
        ];
        let log = [
            write(0, 1, 1),
            write(1, 1, 2),
            write(2, 2, 2),
            write(3, 5, 1),
            write(4, 5, 1),
            write(5, 6, 1),
            write(6, 6, 1),
        ];
        let a = account(&sent, &log);
        assert_eq!(
            (a.acknowledged, a.delivered, a.duplicates, a.stale, a.lost),
            (9, 6, 1, 1, 1)
        );
        assert_eq!((a.doubles, a.regressions, a.unacknowledged), (2, 0, 1));
    }

    #[test]
    fn an_older_version_written_after_a_newer_one_is_a_regression() {
        let sent = [sent(1, 1, true), sent(1, 2, true)];
        let a = account(&sent, &[write(0, 1, 2), write(1, 1, 1)]);
        assert_eq!((a.delivered, a.regressions, a.lost), (2, 1, 0));
    }
}
