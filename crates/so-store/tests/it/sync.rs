use so_store::{BackfillCheckpoint, ConsentDecision};

use crate::support::*;

on_both_backends!(checkpoints_values_decisions_and_leases_round_trip,);

async fn checkpoints_values_decisions_and_leases_round_trip(ctx: Ctx) {
    let store = &ctx.store;
    assert!(
        store
            .backfill_checkpoint(&shop(), "orders")
            .await
            .unwrap()
            .is_none()
    );
    let mut c = BackfillCheckpoint {
        options: "orders;since=2026-01-01".to_owned(),
        operation_id: Some("gid://shopify/BulkOperation/1".to_owned()),
        lines_done: 500,
        published: 480,
        started_at: at(1),
        finished_at: None,
    };
    store
        .save_backfill_checkpoint(&shop(), "orders", &c)
        .await
        .unwrap();
    c.lines_done = 1000;
    c.finished_at = Some(at(9));
    store
        .save_backfill_checkpoint(&shop(), "orders", &c)
        .await
        .unwrap();
    assert_eq!(
        store.backfill_checkpoint(&shop(), "orders").await.unwrap(),
        Some(c)
    );
    assert!(
        store
            .backfill_checkpoint(&other_shop(), "orders")
            .await
            .unwrap()
            .is_none()
    );

    store
        .set_sync_value(&shop(), "consent_cursor", "a")
        .await
        .unwrap();
    store
        .set_sync_value(&shop(), "consent_cursor", "b")
        .await
        .unwrap();
    assert_eq!(
        store
            .sync_value(&shop(), "consent_cursor")
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );

    let d = ConsentDecision {
        profile_id: "p1".to_owned(),
        customer_id: Some(so_domain::ShopifyId::new(7)),
        decision: "skipped".to_owned(),
        reason: "not_a_shopify_customer".to_owned(),
        decided_at: at(3),
        unsubscribed_at: Some(at(2)),
    };
    store.record_consent_decision(&shop(), &d).await.unwrap();
    assert_eq!(store.consent_decisions(&shop(), 10).await.unwrap(), vec![d]);
    assert!(store.consent_decided(&shop(), "p1", at(2)).await.unwrap());
    assert!(!store.consent_decided(&shop(), "p1", at(3)).await.unwrap());
    assert!(
        !store
            .consent_decided(&other_shop(), "p1", at(2))
            .await
            .unwrap()
    );

    let later = chrono::Utc::now() + chrono::Duration::seconds(60);
    assert!(store.try_lease("consent-sync", "a", later).await.unwrap());
    assert!(
        store.try_lease("consent-sync", "a", later).await.unwrap(),
        "renewed by its holder"
    );
    assert!(
        !store.try_lease("consent-sync", "b", later).await.unwrap(),
        "held by a"
    );
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert!(store.try_lease("other", "a", past).await.unwrap());
    assert!(
        store.try_lease("other", "b", later).await.unwrap(),
        "an expired lease is taken over"
    );
}
