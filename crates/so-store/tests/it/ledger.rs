use so_domain::freshness::LedgerLookup;
use so_store::{Commit, CommitOutcome};

use crate::support::*;

on_both_backends!(
    a_recorded_delivery_is_seen_by_webhook_id_and_by_event_id,
    a_replayed_delivery_keeps_its_first_seen_time,
    pruning_removes_only_rows_seen_before_the_cutoff,
);

async fn a_recorded_delivery_is_seen_by_webhook_id_and_by_event_id(ctx: Ctx) {
    let store = &ctx.store;
    let commit = Commit {
        ledger: vec![entry(1, Some("ev-1"), 10)],
        ..Commit::default()
    };

    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );

    let seen = LedgerLookup::SeenAt(at(10));
    assert_eq!(store.ledger_lookup(&shop(), &wid(1)).await.unwrap(), seen);
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(2)).await.unwrap(),
        LedgerLookup::NotSeen
    );
    assert_eq!(
        store.ledger_lookup(&other_shop(), &wid(1)).await.unwrap(),
        LedgerLookup::NotSeen,
        "the ledger is per shop"
    );
    let (updated, paid) = (topic("orders/updated"), topic("orders/paid"));
    let by_event = store.event_lookup(&shop(), &updated, "ev-1").await.unwrap();
    assert_eq!(by_event, seen);
    let other_topic = store.event_lookup(&shop(), &paid, "ev-1").await.unwrap();
    assert_eq!(other_topic, LedgerLookup::NotSeen);
}

async fn a_replayed_delivery_keeps_its_first_seen_time(ctx: Ctx) {
    let store = &ctx.store;
    let first = Commit {
        ledger: vec![entry(1, None, 10)],
        ..Commit::default()
    };
    let replay = Commit {
        ledger: vec![entry(1, None, 99)],
        ..Commit::default()
    };

    assert_eq!(
        store.commit(&first).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        store.commit(&replay).await.unwrap(),
        CommitOutcome::Committed
    );

    assert_eq!(
        store.ledger_lookup(&shop(), &wid(1)).await.unwrap(),
        LedgerLookup::SeenAt(at(10))
    );
}

async fn pruning_removes_only_rows_seen_before_the_cutoff(ctx: Ctx) {
    let store = &ctx.store;
    let commit = Commit {
        ledger: vec![entry(1, None, 0), entry(2, None, 5), entry(3, None, 10)],
        ..Commit::default()
    };
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );

    let pruned = store.prune_ledger(at(5)).await.unwrap();

    assert_eq!(pruned, 1);
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(1)).await.unwrap(),
        LedgerLookup::NotSeen
    );
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(2)).await.unwrap(),
        LedgerLookup::SeenAt(at(5))
    );
    assert_eq!(store.prune_ledger(at(5)).await.unwrap(), 0);
}
