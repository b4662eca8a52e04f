//! What a shop's status reads beside the other tables: the last accepted push (only moves
//! forward), the last webhook subscription check, and Ometria's asynchronous rejections per
//! shop (once per item, counted from a cutoff, pruned).

use std::collections::BTreeMap;

use so_store::WebhookCheck;

use crate::support::*;

on_both_backends!(
    the_last_accepted_push_is_per_shop_and_only_moves_forward,
    the_last_webhook_check_replaces_the_one_before,
    rejections_are_counted_per_shop_from_a_cutoff_once_per_item,
);

async fn the_last_accepted_push_is_per_shop_and_only_moves_forward(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.last_push_accepted(&shop()).await.unwrap(), None);
    store.record_push_accepted(&shop(), at(10)).await.unwrap();
    store.record_push_accepted(&shop(), at(5)).await.unwrap();
    assert_eq!(
        store.last_push_accepted(&shop()).await.unwrap(),
        Some(at(10))
    );
    assert_eq!(store.last_push_accepted(&other_shop()).await.unwrap(), None);
    store.record_push_accepted(&shop(), at(20)).await.unwrap();
    assert_eq!(
        store.last_push_accepted(&shop()).await.unwrap(),
        Some(at(20))
    );
}

fn check(secs: i64, in_order: bool, missing: u64) -> WebhookCheck {
    WebhookCheck {
        checked_at: at(secs),
        in_order,
        kind: "shop_specific".to_owned(),
        states: BTreeMap::from([("ok".to_owned(), 20), ("missing".to_owned(), missing)]),
    }
}

async fn the_last_webhook_check_replaces_the_one_before(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.last_webhook_check(&shop()).await.unwrap(), None);
    store
        .save_webhook_check(&shop(), &check(1, false, 3))
        .await
        .unwrap();
    store
        .save_webhook_check(&shop(), &check(2, true, 0))
        .await
        .unwrap();
    assert_eq!(
        store.last_webhook_check(&shop()).await.unwrap(),
        Some(check(2, true, 0))
    );
    assert_eq!(store.last_webhook_check(&other_shop()).await.unwrap(), None);
}

async fn rejections_are_counted_per_shop_from_a_cutoff_once_per_item(ctx: Ctx) {
    let store = &ctx.store;
    let none = store
        .ometria_rejections_since(&shop(), at(0))
        .await
        .unwrap();
    assert_eq!((none.count, none.latest), (0, None));
    for (fp, secs, reason) in [("a", 10, "old"), ("b", 100, "first"), ("c", 200, "newest")] {
        store
            .record_ometria_rejection("acct", fp, &shop(), at(secs), reason)
            .await
            .unwrap();
    }
    // The same item recorded by a second watcher: no second row.
    store
        .record_ometria_rejection("acct", "c", &shop(), at(300), "again")
        .await
        .unwrap();
    store
        .record_ometria_rejection("acct", "d", &other_shop(), at(150), "other")
        .await
        .unwrap();
    let got = store
        .ometria_rejections_since(&shop(), at(50))
        .await
        .unwrap();
    assert_eq!(got.count, 2);
    assert_eq!(got.latest, Some((at(200), "newest".to_owned())));
    assert_eq!(store.prune_ometria_rejections(at(50)).await.unwrap(), 1);
    let all = store
        .ometria_rejections_since(&shop(), at(0))
        .await
        .unwrap();
    assert_eq!(all.count, 2);
}
