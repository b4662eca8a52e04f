//! How far the worker has settled its input: the least partition time, known only once every
//! partition recorded one, only moving forward, and held back by messages in retry tiers until
//! they are settled for good (or the hold is older than the caller still waits for).

use so_store::{Progress, ProgressHold};

use crate::support::*;

on_both_backends!(
    the_least_partition_time_counts_once_every_partition_has_one,
    a_message_in_a_retry_tier_holds_the_progress_until_it_is_settled,
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
