use serde_json::json;
use so_store::{ShopSource, ShopWrite, ShopWriter};

use crate::support::*;

on_both_backends!(
    settings_are_versioned_audited_and_raise_the_revision,
    pausing_is_a_version_and_enabled_applies_only_when_it_changes,
    the_api_cannot_change_a_shop_managed_as_code,
    concurrent_writers_never_share_a_version,
    workers_report_the_shop_revision_they_applied,
);

fn by(actor: &str, secs: i64) -> ShopWriter<'_> {
    ShopWriter {
        actor,
        now: at(secs),
    }
}

async fn settings_are_versioned_audited_and_raise_the_revision(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.shops_revision().await.unwrap(), 0);
    assert!(store.stored_shop(&shop()).await.unwrap().is_none());
    let v1 = json!({"namespace": "uk", "enabled": true, "lists": {"subscribers": [1]}});
    let w = store
        .put_shop_settings(&shop(), &v1, ShopSource::Store, by("cli:ann", 1))
        .await
        .unwrap();
    assert_eq!(w, ShopWrite::Written { version: 1 });
    let r1 = store.shops_revision().await.unwrap();
    // The same settings again: no version, no audit row, no revision.
    let w = store
        .put_shop_settings(&shop(), &v1, ShopSource::Store, by("cli:ann", 2))
        .await
        .unwrap();
    assert_eq!(w, ShopWrite::Unchanged);
    assert_eq!(store.shops_revision().await.unwrap(), r1);

    let v2 = json!({"namespace": "uk", "enabled": true, "lists": {"subscribers": [2]}});
    let w = store
        .put_shop_settings(&shop(), &v2, ShopSource::Store, by("admin:ops", 3))
        .await
        .unwrap();
    assert_eq!(w, ShopWrite::Written { version: 2 });
    assert!(store.shops_revision().await.unwrap() > r1);

    let row = store.stored_shop(&shop()).await.unwrap().unwrap();
    assert_eq!(row.version, 2);
    assert_eq!(row.settings, v2);
    assert!(!row.paused);
    assert_eq!(row.source, ShopSource::Store);
    assert_eq!(row.updated_by, "admin:ops");
    assert_eq!(row.updated_at, at(3));

    let history = store.shop_history(&shop(), 10).await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(history[0].actor, "admin:ops");
    assert_eq!(history[0].changes.len(), 1);
    let change = &history[0].changes[0];
    assert_eq!(change.key, "lists.subscribers");
    assert_eq!(change.before, Some(json!([1])));
    assert_eq!(change.after, Some(json!([2])));
    // The first version lists every key, with nothing before.
    assert!(history[1].changes.iter().all(|c| c.before.is_none()));
    assert!(history[1].changes.iter().any(|c| c.key == "source"));
    assert!(
        store
            .shop_history(&other_shop(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.shops().await.unwrap().len(), 1);
}

async fn pausing_is_a_version_and_enabled_applies_only_when_it_changes(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(
        store
            .set_shop_paused(&shop(), true, by("cli:ann", 1))
            .await
            .unwrap(),
        ShopWrite::Unknown
    );
    let seeded = json!({"namespace": "", "enabled": true});
    store
        .put_shop_settings(&shop(), &seeded, ShopSource::Config, by("config", 1))
        .await
        .unwrap();
    let w = store
        .set_shop_paused(&shop(), true, by("cli:ann", 2))
        .await
        .unwrap();
    assert_eq!(w, ShopWrite::Written { version: 2 });
    assert_eq!(
        store
            .set_shop_paused(&shop(), true, by("cli:ann", 3))
            .await
            .unwrap(),
        ShopWrite::Unchanged
    );
    // A restart seeding the same TOML (`enabled = true`) keeps the operator's pause.
    assert_eq!(
        store
            .put_shop_settings(&shop(), &seeded, ShopSource::Config, by("config", 4))
            .await
            .unwrap(),
        ShopWrite::Unchanged
    );
    assert!(store.stored_shop(&shop()).await.unwrap().unwrap().paused);
    // TOML changing `enabled` applies: resumed here.
    let disabled = json!({"namespace": "", "enabled": false});
    store
        .put_shop_settings(&shop(), &disabled, ShopSource::Config, by("config", 5))
        .await
        .unwrap();
    assert!(store.stored_shop(&shop()).await.unwrap().unwrap().paused);
    store
        .put_shop_settings(&shop(), &seeded, ShopSource::Config, by("config", 6))
        .await
        .unwrap();
    let row = store.stored_shop(&shop()).await.unwrap().unwrap();
    assert!(!row.paused);
    let history = store.shop_history(&shop(), 1).await.unwrap();
    assert!(
        history[0]
            .changes
            .iter()
            .any(|c| c.key == "paused" && c.after == Some(json!(false)))
    );
}

async fn the_api_cannot_change_a_shop_managed_as_code(ctx: Ctx) {
    let store = &ctx.store;
    let seeded = json!({"namespace": "uk", "enabled": true});
    store
        .put_shop_settings(&shop(), &seeded, ShopSource::Config, by("config", 1))
        .await
        .unwrap();
    let revision = store.shops_revision().await.unwrap();
    let w = store
        .put_shop_settings(
            &shop(),
            &json!({"namespace": "fr"}),
            ShopSource::Store,
            by("cli:ann", 2),
        )
        .await
        .unwrap();
    assert_eq!(w, ShopWrite::ManagedAsCode);
    let row = store.stored_shop(&shop()).await.unwrap().unwrap();
    assert_eq!(row.settings, seeded);
    assert_eq!(row.version, 1);
    assert_eq!(store.shops_revision().await.unwrap(), revision);
    assert_eq!(store.shop_history(&shop(), 10).await.unwrap().len(), 1);
}

async fn concurrent_writers_never_share_a_version(ctx: Ctx) {
    let other = ctx.another_worker().await;
    ctx.store
        .put_shop_settings(
            &shop(),
            &json!({"enabled": true}),
            ShopSource::Store,
            by("a", 1),
        )
        .await
        .unwrap();
    let tasks = (0..8).map(|i| {
        let store = if i % 2 == 0 {
            ctx.store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            store
                .put_shop_settings(
                    &shop(),
                    &json!({"enabled": true, "n": i}),
                    ShopSource::Store,
                    by("b", 2),
                )
                .await
                .unwrap()
        })
    });
    for t in tasks {
        assert!(matches!(
            t.await.unwrap(),
            ShopWrite::Written { .. } | ShopWrite::Unchanged
        ));
    }
    let history = ctx.store.shop_history(&shop(), 100).await.unwrap();
    let versions: Vec<i64> = history.iter().map(|c| c.version).rev().collect();
    assert_eq!(versions, (1..=9).collect::<Vec<i64>>());
    other.close().await;
}

async fn workers_report_the_shop_revision_they_applied(ctx: Ctx) {
    let store = &ctx.store;
    store.worker_heartbeat("w1", at(100), "0").await.unwrap();
    store.worker_heartbeat("w2", at(100), "1").await.unwrap();
    store.worker_heartbeat("gone", at(10), "").await.unwrap();
    store.worker_applied_shops("w1", 5).await.unwrap();
    // A live worker behind; one not seen within the lease does not count.
    assert_eq!(store.workers_behind_shops(at(50), 5).await.unwrap(), ["w2"]);
    store.worker_applied_shops("w2", 6).await.unwrap();
    // Never moves back (a late write of an older snapshot).
    store.worker_applied_shops("w2", 3).await.unwrap();
    assert!(store.workers_behind_shops(at(50), 6).await.unwrap() == ["w1"]);
    // A heartbeat keeps what was applied.
    store.worker_heartbeat("w2", at(101), "1").await.unwrap();
    assert!(
        store
            .workers_behind_shops(at(50), 5)
            .await
            .unwrap()
            .is_empty()
    );
}
