//! `customers/data_request` exports: kept per (shop, request), served until they expire, gone
//! with the person or the shop.

use serde_json::json;
use so_domain::ShopifyId;
use so_store::export_id;

use crate::support::*;

on_both_backends!(
    an_export_is_written_and_read_back,
    a_redelivered_request_keeps_the_first_export,
    expired_exports_are_hidden_then_pruned,
    exports_go_with_the_person_and_the_shop,
);

const CUSTOMER: ShopifyId = ShopifyId::new(9_007_199_254_740_993);

async fn an_export_is_written_and_read_back(ctx: Ctx) {
    // Arrange
    let store = &ctx.store;
    let content = json!({"email": "ann@example.com", "orders": [{"id": "1"}]});

    // Act
    let id = store
        .save_export(&shop(), "4242", Some(CUSTOMER), &content, at(0), at(100))
        .await
        .unwrap();
    store
        .save_export(&other_shop(), "77", None, &json!({}), at(5), at(100))
        .await
        .unwrap();

    // Assert
    assert_eq!(id, export_id(&shop(), "4242"));
    let got = store.export(&id, at(1)).await.unwrap().unwrap();
    assert_eq!(got.content, content);
    assert_eq!(got.summary.shop, shop().as_str());
    assert_eq!(got.summary.request, "4242");
    assert_eq!(got.summary.customer_id, Some(CUSTOMER));
    assert_eq!(
        (got.summary.created_at, got.summary.expires_at),
        (at(0), at(100))
    );
    let all = store.exports(None, at(1), 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].shop, other_shop().as_str(), "newest first");
    let mine = store.exports(Some(&shop()), at(1), 10).await.unwrap();
    assert_eq!(mine, vec![got.summary]);
    assert_eq!(store.exports(None, at(1), 1).await.unwrap().len(), 1);
    assert!(store.export("nope", at(1)).await.unwrap().is_none());
}

async fn a_redelivered_request_keeps_the_first_export(ctx: Ctx) {
    // Arrange
    let store = &ctx.store;
    let first = store
        .save_export(
            &shop(),
            "4242",
            Some(CUSTOMER),
            &json!({"n": 1}),
            at(0),
            at(100),
        )
        .await
        .unwrap();

    // Act: the same webhook again, later, from another worker.
    let again = ctx
        .another_worker()
        .await
        .save_export(
            &shop(),
            "4242",
            Some(CUSTOMER),
            &json!({"n": 2}),
            at(50),
            at(150),
        )
        .await
        .unwrap();

    // Assert
    assert_eq!(first, again);
    let kept = store.export(&first, at(1)).await.unwrap().unwrap();
    assert_eq!(kept.content, json!({"n": 1}));
    assert_eq!(kept.summary.expires_at, at(100));
    assert_eq!(store.exports(None, at(1), 10).await.unwrap().len(), 1);
}

async fn expired_exports_are_hidden_then_pruned(ctx: Ctx) {
    // Arrange
    let store = &ctx.store;
    let old = store
        .save_export(&shop(), "old", None, &json!({}), at(0), at(10))
        .await
        .unwrap();
    let new = store
        .save_export(&shop(), "new", None, &json!({}), at(5), at(100))
        .await
        .unwrap();

    // Act / Assert: past its expiry an export is no longer served...
    assert!(store.export(&old, at(10)).await.unwrap().is_none());
    let listed = store.exports(None, at(10), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, new);

    // ...and pruning deletes exactly the expired ones.
    assert_eq!(store.prune_exports(at(10)).await.unwrap(), 1);
    assert_eq!(store.prune_exports(at(10)).await.unwrap(), 0);
    assert!(store.export(&new, at(10)).await.unwrap().is_some());
    assert!(
        store.export(&old, at(0)).await.unwrap().is_none(),
        "deleted"
    );
}

async fn exports_go_with_the_person_and_the_shop(ctx: Ctx) {
    // Arrange
    let store = &ctx.store;
    let person = store
        .save_export(&shop(), "1", Some(CUSTOMER), &json!({}), at(0), at(100))
        .await
        .unwrap();
    let other = store
        .save_export(
            &shop(),
            "2",
            Some(ShopifyId::new(5)),
            &json!({}),
            at(0),
            at(100),
        )
        .await
        .unwrap();
    let elsewhere = store
        .save_export(
            &other_shop(),
            "3",
            Some(CUSTOMER),
            &json!({}),
            at(0),
            at(100),
        )
        .await
        .unwrap();

    // Act
    store
        .redact_person(&shop(), Some(CUSTOMER), None, &[], at(1))
        .await
        .unwrap();

    // Assert
    assert!(store.export(&person, at(2)).await.unwrap().is_none());
    assert!(store.export(&other, at(2)).await.unwrap().is_some());
    assert!(store.export(&elsewhere, at(2)).await.unwrap().is_some());
    store.redact_shop(&shop(), at(3)).await.unwrap();
    assert!(store.export(&other, at(4)).await.unwrap().is_none());
    assert!(store.export(&elsewhere, at(4)).await.unwrap().is_some());
}
