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

on_both_backends!(profile_sends_are_recorded_and_the_last_ones_read_back,);

async fn profile_sends_are_recorded_and_the_last_ones_read_back(ctx: Ctx) {
    use so_store::{ProfileSendCounts, ProfileSendRow};
    let store = &ctx.store;
    let row = |id: &str, kind: &str, start: i64, outcome: &str| ProfileSendRow {
        id: id.to_owned(),
        shop: shop(),
        kind: kind.to_owned(),
        choices: r#"{"profiles":"all"}"#.to_owned(),
        started_at: at(start),
        finished_at: (outcome != "running").then(|| at(start + 1)),
        counts: ProfileSendCounts {
            read: 10,
            matched: 4,
            published: 4,
        },
        outcome: outcome.to_owned(),
        detail: None,
    };
    assert!(
        store
            .last_profile_send(&shop(), None, false)
            .await
            .unwrap()
            .is_none()
    );
    let auto = row("a1", "auto", 1, "completed");
    store.save_profile_send(&auto).await.unwrap();
    let mut demand = row("d1", "on_demand", 5, "running");
    store.save_profile_send(&demand).await.unwrap();
    assert_eq!(
        store
            .unfinished_profile_send(&shop(), "on_demand", &demand.choices)
            .await
            .unwrap(),
        Some(demand.clone())
    );
    assert!(
        store
            .unfinished_profile_send(&shop(), "on_demand", "{}")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.last_profile_send(&shop(), None, true).await.unwrap(),
        Some(auto.clone())
    );
    demand.outcome = "completed".to_owned();
    demand.finished_at = Some(at(6));
    demand.counts.published = 3;
    store.save_profile_send(&demand).await.unwrap();
    assert_eq!(
        store.last_profile_send(&shop(), None, true).await.unwrap(),
        Some(demand.clone())
    );
    assert_eq!(
        store
            .last_profile_send(&shop(), Some("auto"), false)
            .await
            .unwrap(),
        Some(auto)
    );
    assert!(
        store
            .last_profile_send(&other_shop(), None, false)
            .await
            .unwrap()
            .is_none()
    );
}
