use std::collections::BTreeMap;

use so_domain::ShopifyId;
use so_domain::freshness::{EntityKind, LedgerLookup};
use so_domain::mapping::{OrderState, OrderStatus, TagSet};
use so_domain::shopify::Money;
use so_store::{Commit, CommitOutcome, Error};

use crate::support::*;

on_both_backends!(
    a_commit_writes_everything_and_a_replay_changes_nothing,
    a_superseded_commit_writes_nothing,
    a_commit_that_fails_midway_leaves_no_trace,
);

fn order(id: ShopifyId) -> OrderState {
    OrderState {
        order_id: id,
        presentment_currency: None,
        timestamp: at(0).fixed_offset(),
        currency: "GBP".to_owned(),
        grand_total: Money::parse("10.00").unwrap(),
        base_status: OrderStatus::Paid,
        test: false,
        lines: Vec::new(),
        refunds: BTreeMap::new(),
        buyer: None,
    }
}

fn full_commit(order_id: ShopifyId) -> Commit {
    Commit {
        ledger: vec![entry(1, Some("ev-1"), 10)],
        watermarks: vec![(key(EntityKind::Order, &order_id.to_string()), mark(1, 10))],
        order_states: vec![(shop(), order(order_id))],
        tags: vec![(shop(), ShopifyId::new(42), TagSet::parse_csv("VIP"))],
        variants: vec![(shop(), ShopifyId::new(7), vec![ShopifyId::new(70), BIG])],
        ..Commit::default()
    }
}

async fn a_commit_writes_everything_and_a_replay_changes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let commit = full_commit(BIG);

    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );

    let order_key = key(EntityKind::Order, &BIG.to_string());
    assert_eq!(
        store.watermark(&order_key).await.unwrap(),
        Some(mark(1, 10))
    );
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(1)).await.unwrap(),
        LedgerLookup::SeenAt(at(10))
    );
    assert_eq!(
        store.order_state(&shop(), BIG).await.unwrap(),
        Some(order(BIG))
    );
    let tags = store
        .customer_tags(&shop(), ShopifyId::new(42))
        .await
        .unwrap();
    assert_eq!(tags, TagSet::parse_csv("VIP"));
    let variants = store
        .known_variants(&shop(), ShopifyId::new(7))
        .await
        .unwrap();
    assert_eq!(variants, vec![ShopifyId::new(70), BIG]);
}

async fn a_superseded_commit_writes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let order_key = key(EntityKind::Order, &BIG.to_string());
    assert_eq!(
        store.commit(&advancing(&order_key, 9, 20)).await.unwrap(),
        CommitOutcome::Committed
    );

    let stale = store.commit(&full_commit(BIG)).await.unwrap();

    assert_eq!(
        stale,
        CommitOutcome::Superseded {
            keys: vec![order_key]
        }
    );
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(1)).await.unwrap(),
        LedgerLookup::NotSeen
    );
    assert_eq!(store.order_state(&shop(), BIG).await.unwrap(), None);
    assert!(
        store
            .customer_tags(&shop(), ShopifyId::new(42))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .known_variants(&shop(), ShopifyId::new(7))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_commit_that_fails_midway_leaves_no_trace(ctx: Ctx) {
    let store = &ctx.store;
    let mut commit = full_commit(BIG);
    // Written after the watermark and the ledger row, and refused: ids beyond i64.
    commit
        .order_states
        .push((shop(), order(ShopifyId::new(u64::MAX))));

    let err = store.commit(&commit).await.unwrap_err();

    assert!(matches!(err, Error::IdOutOfRange(_)), "{err:?}");
    assert!(!err.is_transient());
    let order_key = key(EntityKind::Order, &BIG.to_string());
    assert_eq!(store.watermark(&order_key).await.unwrap(), None);
    assert_eq!(
        store.ledger_lookup(&shop(), &wid(1)).await.unwrap(),
        LedgerLookup::NotSeen
    );
    assert_eq!(store.order_state(&shop(), BIG).await.unwrap(), None);
}
