use serde_json::json;
use so_domain::ShopifyId;
use so_domain::identity::{CustomerStatus, GuestId, IdentityDecision};
use so_domain::ometria::{PushRecord, RecordType};
use so_store::{CheckoutChange, Commit, HeldChange, ShopStatus, email_fingerprint};

use crate::support::*;

on_both_backends!(
    redacting_a_person_erases_their_rows_and_suppresses_them,
    a_shop_redact_deletes_everything_of_that_shop_only,
    erasure_requests_are_tracked_until_completed,
    a_data_request_exports_what_is_held,
);

const CUSTOMER: ShopifyId = ShopifyId::new(9_007_199_254_740_993);

async fn seed(store: &so_store::Store, shop: &so_domain::ShopDomain) {
    let e = email("gone@example.com");
    let g: GuestId = so_store::Store::new_guest_id();
    let _applied: so_store::IdentityApplied = store
        .apply_identity(
            shop,
            &[IdentityDecision::RememberGuest {
                email: e,
                guest_id: g,
            }],
        )
        .await
        .unwrap();
    let record = PushRecord {
        record_type: RecordType::Contact,
        id: "c1".to_owned(),
        body: json!({"@type": "contact", "id": "c1", "email": "gone@example.com"})
            .as_object()
            .unwrap()
            .clone(),
    };
    let commit = Commit {
        order_states: vec![(shop.clone(), order(1, "c1"))],
        subscriptions: vec![(shop.clone(), "c1".to_owned(), false)],
        held: vec![(
            shop.clone(),
            HeldChange::Hold {
                contact: "c1".to_owned(),
                record,
                at: at(1),
            },
        )],
        checkouts: vec![(
            shop.clone(),
            CheckoutChange::Seen {
                token: "t1".to_owned(),
                cart_token: None,
                version: at(1),
                contact: Some("c1".to_owned()),
            },
        )],
        ..Commit::default()
    };
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        so_store::CommitOutcome::Committed
    );
    let tags = json!({"shopify_tags": ["vip"]})
        .as_object()
        .unwrap()
        .clone();
    store
        .merge_contact_properties(shop, "c1", &tags)
        .await
        .unwrap();
}

async fn redacting_a_person_erases_their_rows_and_suppresses_them(ctx: Ctx) {
    let store = &ctx.store;
    seed(store, &shop()).await;
    let e = email("gone@example.com");
    assert!(!store.email_suppressed(&shop(), &e).await.unwrap());
    store
        .redact_person(&shop(), Some(CUSTOMER), Some(&e), &["c1".to_owned()], at(5))
        .await
        .unwrap();
    assert!(store.email_suppressed(&shop(), &e).await.unwrap());
    assert!(!store.email_suppressed(&other_shop(), &e).await.unwrap());
    assert!(store.guest_for_email(&shop(), &e).await.unwrap().is_none());
    assert!(store.held_records(&shop(), "c1").await.unwrap().is_empty());
    assert_eq!(store.subscription(&shop(), "c1").await.unwrap(), None);
    assert!(store.checkout(&shop(), "t1").await.unwrap().is_none());
    let props = store.contact_properties(&shop(), "c1").await.unwrap();
    assert_eq!(props.version, 0, "the property snapshot is erased");
    assert!(
        store
            .orders_of_contact(&shop(), "c1")
            .await
            .unwrap()
            .is_empty(),
        "orders unlinked"
    );
    let snap = store
        .identity_snapshot(&shop(), Some(CUSTOMER), Some(&e))
        .await
        .unwrap();
    assert_eq!(snap.customer, CustomerStatus::Redacted);
    assert!(snap.email_suppressed && snap.guest.is_none());
    // Idempotent.
    store
        .redact_person(&shop(), Some(CUSTOMER), Some(&e), &["c1".to_owned()], at(6))
        .await
        .unwrap();
}

async fn a_shop_redact_deletes_everything_of_that_shop_only(ctx: Ctx) {
    let store = &ctx.store;
    seed(store, &shop()).await;
    seed(store, &other_shop()).await;
    store.redact_shop(&shop(), at(9)).await.unwrap();
    assert!(
        store
            .orders_of_contact(&shop(), "c1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.held_records(&shop(), "c1").await.unwrap().is_empty());
    assert!(
        store
            .guest_for_email(&shop(), &email("gone@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.shop_status(&shop()).await.unwrap().map(|s| s.0),
        Some(ShopStatus::Redacted)
    );
    assert_eq!(
        store
            .orders_of_contact(&other_shop(), "c1")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.held_records(&other_shop(), "c1").await.unwrap().len(),
        1
    );
    assert_eq!(store.shop_status(&other_shop()).await.unwrap(), None);
    assert_eq!(
        store
            .contact_properties(&shop(), "c1")
            .await
            .unwrap()
            .version,
        0
    );
    assert_eq!(
        store
            .contact_properties(&other_shop(), "c1")
            .await
            .unwrap()
            .version,
        1
    );
    store
        .set_shop_status(&other_shop(), Some(ShopStatus::Uninstalled), at(10))
        .await
        .unwrap();
    assert_eq!(
        store.shop_status(&other_shop()).await.unwrap(),
        Some((ShopStatus::Uninstalled, at(10)))
    );
    store
        .set_shop_status(&other_shop(), None, at(11))
        .await
        .unwrap();
    assert_eq!(store.shop_status(&other_shop()).await.unwrap(), None);
}

async fn erasure_requests_are_tracked_until_completed(ctx: Ctx) {
    let store = &ctx.store;
    let f = email_fingerprint(&email("gone@example.com"));
    store
        .record_erasure(&shop(), &f, Some(CUSTOMER), Some("req-1"), at(1))
        .await
        .unwrap();
    store
        .record_erasure(&shop(), &f, Some(CUSTOMER), Some("req-2"), at(2))
        .await
        .unwrap();
    store
        .record_erasure(&shop(), "no-email", None, None, at(3))
        .await
        .unwrap();
    let open = store.open_erasures().await.unwrap();
    assert_eq!(open.len(), 1, "nothing to wait for without a request");
    assert_eq!(
        open[0].ometria_id.as_deref(),
        Some("req-1"),
        "the first one is kept"
    );
    store
        .complete_erasure(&shop(), &f, at(9), Some("1 contact record anonymised"))
        .await
        .unwrap();
    assert!(store.open_erasures().await.unwrap().is_empty());
    assert_eq!(
        store
            .erasure(&shop(), &f)
            .await
            .unwrap()
            .unwrap()
            .completed_at,
        Some(at(9))
    );
}

async fn a_data_request_exports_what_is_held(ctx: Ctx) {
    let store = &ctx.store;
    seed(store, &shop()).await;
    let e = email("gone@example.com");
    let export = store
        .export_person(&shop(), Some(CUSTOMER), Some(&e), &["c1".to_owned()])
        .await
        .unwrap();
    assert_eq!(export["email"], "gone@example.com");
    assert!(export["guest_id"].is_string());
    assert_eq!(export["orders"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["held_records"][0]["record"]["email"],
        "gone@example.com"
    );
    assert_eq!(export["email_subscriptions"][0]["subscribed"], false);
    assert_eq!(export["checkouts"][0][0]["token"], "t1");
    assert_eq!(
        export["contact_properties"],
        json!([{"contact": "c1", "properties": {"shopify_tags": ["vip"]}}])
    );
}
