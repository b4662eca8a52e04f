//! Worker processes sharing one store split the work partitions: each one
//! refreshes its membership row, and the live members, sorted by id, take
//! the partitions round-robin (member `i` of `n` takes `p` where
//! `p % n == i`). Single active consumer still guarantees one consumer per
//! partition at a time, so a moment where two processes both subscribe
//! (while a new member joins) only makes one of them a standby; and a
//! moment where none does (a member died, its lease not yet expired) only
//! pauses those partitions. The members also split Ometria's per-account
//! request budget: each one's limiter runs at `1/n` of it.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use so_platform::Shutdown;
use so_store::Store;
use tokio::sync::watch;

/// The partitions `me` takes among `members` (sorted).
pub(crate) fn share(members: &[String], me: &str, partitions: u16) -> BTreeSet<u16> {
    let n = members.len().max(1);
    let i = members.iter().position(|m| m == me).unwrap_or(0);
    (0..partitions)
        .filter(|p| usize::from(*p) % n == i)
        .collect()
}

/// The partitions the other live members report consuming (`rows`: every
/// member's id and list, as `worker_members` reads them). This process
/// records no progress for them: while members change, it may be a standby
/// on a partition another process is still working through.
pub(crate) fn consumed_elsewhere(rows: &[(String, String)], me: &str) -> BTreeSet<u16> {
    rows.iter()
        .filter(|(id, _)| id != me)
        .flat_map(|(_, listed)| listed.split(',').filter_map(|p| p.parse().ok()))
        .collect()
}

/// The request budgets of this process's Ometria accounts, each split between the live
/// worker processes; an account built after start joins with the current split.
pub(crate) struct Budgets {
    limiters: std::sync::RwLock<Vec<so_ometria::RateLimiter>>,
    members: std::sync::atomic::AtomicU32,
}

impl Budgets {
    pub(crate) fn new(limiters: Vec<so_ometria::RateLimiter>) -> Budgets {
        Budgets {
            limiters: std::sync::RwLock::new(limiters),
            members: std::sync::atomic::AtomicU32::new(1),
        }
    }

    /// Adds an account's budget, at once given the share the others have.
    pub(crate) fn add(&self, limiter: so_ometria::RateLimiter) {
        limiter.set_share(self.members.load(std::sync::atomic::Ordering::Relaxed));
        self.limiters
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(limiter);
    }

    fn split(&self, members: u32) {
        self.members
            .store(members, std::sync::atomic::Ordering::Relaxed);
        let limiters = self
            .limiters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for limiter in limiters.iter() {
            limiter.set_share(members);
        }
    }
}

/// One worker process's membership.
pub(crate) struct Membership {
    pub(crate) store: Store,
    /// This process's id (random per start).
    pub(crate) me: String,
    pub(crate) partitions: u16,
    pub(crate) lease: Duration,
    /// Its share of each account's request budget follows the member count.
    pub(crate) budgets: std::sync::Arc<Budgets>,
    /// The shop revision this process applied, recorded with each heartbeat.
    pub(crate) applied: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Partitions given up whose deliveries may still be in hand: listed too.
    pub(crate) in_hand: std::sync::Arc<crate::progress::InHand>,
}

impl Membership {
    /// Keeps `assigned` current until `shutdown`, then leaves. `consuming`
    /// is what the consumer actually subscribed to, reported in the row
    /// with the partitions still in hand;
    /// `elsewhere` (see [`consumed_elsewhere`]) is sent before `assigned`,
    /// so a partition newly assigned is known taken until its last consumer
    /// reports it gave it up.
    pub(crate) async fn run(
        self,
        assigned: watch::Sender<BTreeSet<u16>>,
        consuming: watch::Receiver<BTreeSet<u16>>,
        elsewhere: watch::Sender<Option<BTreeSet<u16>>>,
        shutdown: Shutdown,
    ) {
        let Membership {
            store,
            me,
            partitions,
            lease,
            budgets,
            applied,
            in_hand,
        } = self;
        let mut tick = tokio::time::interval(lease / 3);
        let mut warned = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = Utc::now();
            let since =
                now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(10));
            let mut listed = consuming.borrow().clone();
            listed.extend(in_hand.all());
            let listed = listed
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let members = async {
                store.worker_heartbeat(&me, now, &listed).await?;
                let revision = applied.load(std::sync::atomic::Ordering::Relaxed);
                store.worker_applied_shops(&me, revision).await?;
                let live = store.live_workers(since).await?;
                Ok::<_, so_store::Error>((live, store.worker_members().await?))
            }
            .await;
            match members {
                Ok((mut members, rows)) => {
                    warned = false;
                    elsewhere.send_replace(Some(consumed_elsewhere(&rows, &me)));
                    if !members.contains(&me) {
                        members.push(me.clone());
                        members.sort();
                    }
                    // The account's request budget is split between the members.
                    budgets.split(u32::try_from(members.len()).unwrap_or(u32::MAX));
                    let mine = share(&members, &me, partitions);
                    assigned.send_if_modified(|current| {
                    if *current == mine {
                        return false;
                    }
                    tracing::info!(members = members.len(), partitions = ?mine, "Work partitions reassigned.");
                    *current = mine;
                    true
                });
                }
                // Keep what we have: single active consumer keeps it safe.
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "Cannot refresh worker membership; keeping the current partitions.");
                }
                Err(_) => {}
            }
        }
        if let Err(e) = store.worker_leave(&me).await {
            tracing::warn!(error = %e, "Cannot leave the worker membership; its lease will expire.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_split_the_partitions_without_overlap_or_gap() {
        let members: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let all: Vec<BTreeSet<u16>> = members.iter().map(|m| share(&members, m, 8)).collect();
        assert_eq!(all[0], BTreeSet::from([0, 3, 6]));
        assert_eq!(all[1], BTreeSet::from([1, 4, 7]));
        assert_eq!(all[2], BTreeSet::from([2, 5]));
        let union: BTreeSet<u16> = all.iter().flatten().copied().collect();
        assert_eq!(union.len(), 8);
        assert_eq!(
            share(&["a".to_owned()], "a", 4),
            BTreeSet::from([0, 1, 2, 3])
        );
    }

    #[test]
    fn what_the_other_members_consume_is_known_taken() {
        let rows: Vec<(String, String)> = [("a", "0,1,2,3"), ("b", "1,3"), ("c", "")]
            .iter()
            .map(|(id, p)| ((*id).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(consumed_elsewhere(&rows, "b"), BTreeSet::from([0, 1, 2, 3]));
        assert_eq!(consumed_elsewhere(&rows, "a"), BTreeSet::from([1, 3]));
        assert!(consumed_elsewhere(&rows[..1], "a").is_empty());
    }
}
