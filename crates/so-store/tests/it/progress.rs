//! How far the worker has settled its input: the least partition time, known only once every
//! partition recorded one, only moving forward, and held back by messages in retry tiers until
//! they are settled for good (or the hold is older than the caller still waits for). A batch's
//! progress rides in its commit: written with its records, or not at all.

use so_domain::freshness::{EntityKind, LedgerLookup};
use so_store::{Commit, CommitOutcome, Progress, ProgressHold};

use crate::support::*;

on_both_backends!(
    the_least_partition_time_counts_once_every_partition_has_one,
    a_message_in_a_retry_tier_holds_the_progress_until_it_is_settled,
    a_batch_commit_writes_its_progress_with_its_records_or_not_at_all,
    a_release_carried_before_a_new_hold_of_the_same_message_leaves_it_held,
);

fn marks(marks: &[(u16, i64)]) -> Progress {
    Progress {
        marks: marks.iter().map(|(p, s)| (*p, at(*s))).collect(),
        ..Progress::default()
    }
}

async fn the_least_partition_time_counts_once_every_partition_has_one(ctx: Ctx) {
    let store = &ctx.store;
    store
        .record_progress(&marks(&[(0, 50), (1, 40)]), at(60))
        .await
        .unwrap();
    assert_eq!(
        store.settled_before(3, at(0)).await.unwrap(),
        None,
        "partition 2 recorded nothing"
    );
    assert_eq!(store.settled_before(2, at(0)).await.unwrap(), Some(at(40)));
    store
        .record_progress(&marks(&[(2, 70), (1, 30)]), at(80))
        .await
        .unwrap();
    assert_eq!(
        store.settled_before(3, at(0)).await.unwrap(),
        Some(at(40)),
        "a partition's time only moves forward"
    );
    store
        .record_progress(&marks(&[(1, 90)]), at(90))
        .await
        .unwrap();
    assert_eq!(store.settled_before(3, at(0)).await.unwrap(), Some(at(50)));
    assert_eq!(
        store.partition_times().await.unwrap(),
        vec![(0, at(50)), (1, at(90)), (2, at(70))]
    );
}

async fn a_message_in_a_retry_tier_holds_the_progress_until_it_is_settled(ctx: Ctx) {
    let store = &ctx.store;
    let hold = ProgressHold {
        shop: shop().as_str().to_owned(),
        webhook_id: "w-1".to_owned(),
        received_at: at(20),
    };
    let retried = Progress {
        marks: vec![(0, at(100)), (1, at(100))],
        holds: vec![hold.clone()],
        released: Vec::new(),
    };
    store.record_progress(&retried, at(100)).await.unwrap();
    assert_eq!(store.settled_before(2, at(0)).await.unwrap(), Some(at(20)));
    assert_eq!(
        store.settled_before(2, at(101)).await.unwrap(),
        Some(at(100)),
        "a hold taken before the caller's horizon is taken for lost"
    );
    // Retried again: the hold keeps its first time.
    let again = Progress {
        holds: vec![hold.clone()],
        ..Progress::default()
    };
    store.record_progress(&again, at(200)).await.unwrap();
    assert_eq!(
        store.settled_before(2, at(101)).await.unwrap(),
        Some(at(100))
    );
    let settled = Progress {
        released: vec![(hold.shop.clone(), hold.webhook_id.clone())],
        ..Progress::default()
    };
    store.record_progress(&settled, at(300)).await.unwrap();
    assert_eq!(store.settled_before(2, at(0)).await.unwrap(), Some(at(100)));
    store.record_progress(&again, at(400)).await.unwrap();
    assert_eq!(store.prune_progress_holds(at(401)).await.unwrap(), 1);
    assert_eq!(store.settled_before(2, at(0)).await.unwrap(), Some(at(100)));
}

fn hold(id: &str, received: i64) -> ProgressHold {
    ProgressHold {
        shop: shop().as_str().to_owned(),
        webhook_id: id.to_owned(),
        received_at: at(received),
    }
}

/// Records through the commit carrying them: the store's tables say what was written, whatever
/// `commit` reports.
async fn a_batch_commit_writes_its_progress_with_its_records_or_not_at_all(ctx: Ctx) {
    let store = &ctx.store;
    let order_key = key(EntityKind::Order, "1");
    let progress = Progress {
        marks: vec![(0, at(100)), (1, at(90))],
        holds: vec![hold("w-held", 30)],
        released: Vec::new(),
    };
    let stale = Commit {
        progress: progress.clone(),
        ..advancing(&order_key, 1, 10)
    };
    store
        .commit(&advancing(&order_key, 2, 20))
        .await
        .map(|o| assert_eq!(o, CommitOutcome::Committed))
        .unwrap();
    let refused = store.commit(&stale).await.unwrap();
    assert!(matches!(refused, CommitOutcome::Superseded { .. }));
    assert_eq!(
        store.settled_before(2, at(0)).await.unwrap(),
        None,
        "a superseded commit records no progress"
    );
    // Written after the records and refused midway (an id beyond i64): nothing lands.
    let mut failing = Commit {
        progress: progress.clone(),
        ..advancing(&key(EntityKind::Order, "2"), 3, 30)
    };
    failing.order_states.push((shop(), order(u64::MAX, "c-1")));
    store.commit(&failing).await.unwrap_err();
    assert_eq!(store.settled_before(2, at(0)).await.unwrap(), None);
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(3)).await.unwrap(),
        LedgerLookup::NotSeen
    );
    let landed = Commit {
        progress,
        ..advancing(&key(EntityKind::Order, "3"), 4, 40)
    };
    assert_eq!(
        store.commit(&landed).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(4)).await.unwrap(),
        LedgerLookup::SeenAt(at(40))
    );
    assert_eq!(
        store.settled_before(2, at(0)).await.unwrap(),
        Some(at(30)),
        "the marks and the hold landed with the records"
    );
}

/// A message settled, then redelivered and retried before either was written: kept held.
async fn a_release_carried_before_a_new_hold_of_the_same_message_leaves_it_held(ctx: Ctx) {
    let store = &ctx.store;
    store
        .record_progress(
            &Progress {
                holds: vec![hold("w-1", 20)],
                ..marks(&[(0, 10)])
            },
            at(50),
        )
        .await
        .unwrap();
    let mut carried = Progress {
        released: vec![(shop().as_str().to_owned(), "w-1".to_owned())],
        ..marks(&[(0, 60)])
    };
    carried.append(Progress {
        holds: vec![hold("w-1", 20)],
        ..Progress::default()
    });
    carried.append(marks(&[(0, 40), (1, 30)]));
    assert_eq!(
        carried.marks,
        vec![(0, at(60)), (1, at(30))],
        "one mark per partition"
    );
    store.record_progress(&carried, at(70)).await.unwrap();
    assert_eq!(store.settled_before(1, at(0)).await.unwrap(), Some(at(20)));
}
