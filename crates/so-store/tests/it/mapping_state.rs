//! What the mapping remembers (migration 0010): checkouts by cart token,
//! product records delivered from order lines, contacts whose consent was
//! set (and forced), and Ometria-side unsubscribes for the worker.

use chrono::{DateTime, Utc};
use so_domain::ShopifyId;
use so_store::{CheckoutChange, Commit, CommitOutcome, ConsentDecision};

use crate::support::*;

on_both_backends!(
    checkouts_are_found_by_cart_token,
    product_records_are_known_from_variants_and_from_order_lines,
    consent_set_remembers_forced_and_unsubscribes_are_read_back,
);

async fn commit(ctx: &Ctx, c: Commit) {
    assert_eq!(
        ctx.store.commit(&c).await.unwrap(),
        CommitOutcome::Committed
    );
}

async fn checkouts_are_found_by_cart_token(ctx: Ctx) {
    let seen = |token: &str, cart: Option<&str>, secs| {
        (
            shop(),
            CheckoutChange::Seen {
                token: token.to_owned(),
                cart_token: cart.map(str::to_owned),
                version: at(secs),
                contact: Some("c1".to_owned()),
            },
        )
    };
    commit(
        &ctx,
        Commit {
            checkouts: vec![seen("t1", Some("cart"), 1), seen("t2", Some("cart"), 2)],
            ..Commit::default()
        },
    )
    .await;
    // A later version without a cart token keeps the one known.
    commit(
        &ctx,
        Commit {
            checkouts: vec![seen("t1", None, 3)],
            ..Commit::default()
        },
    )
    .await;
    let store = &ctx.store;
    assert_eq!(
        store
            .checkout_tokens_by_cart(&shop(), "cart")
            .await
            .unwrap(),
        ["t1", "t2"]
    );
    assert!(
        store
            .checkout_tokens_by_cart(&other_shop(), "cart")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .checkout_tokens_by_cart(&shop(), "other")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn product_records_are_known_from_variants_and_from_order_lines(ctx: Ctx) {
    let (p, q, v) = (BIG, ShopifyId::new(7), ShopifyId::new(70));
    commit(
        &ctx,
        Commit {
            variants: vec![(shop(), p, vec![v])],
            products_known: vec![(shop(), (q, None)), (shop(), (q, Some(v)))],
            ..Commit::default()
        },
    )
    .await;
    // Recording one twice changes nothing.
    commit(
        &ctx,
        Commit {
            products_known: vec![(shop(), (q, None))],
            ..Commit::default()
        },
    )
    .await;
    let asked = [
        (p, None),
        (p, Some(v)),
        (p, Some(ShopifyId::new(71))),
        (q, None),
        (q, Some(v)),
        (ShopifyId::new(8), None),
    ];
    let known = ctx
        .store
        .known_product_records(&shop(), &asked)
        .await
        .unwrap();
    let mut known: Vec<_> = known.into_iter().collect();
    known.sort();
    assert_eq!(known, [(q, None), (q, Some(v)), (p, None), (p, Some(v))]);
    assert!(
        ctx.store
            .known_product_records(&other_shop(), &asked)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn consent_set_remembers_forced_and_unsubscribes_are_read_back(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.consent_set(&shop(), "uk:1").await.unwrap(), None);
    for forced in [false, true, false] {
        commit(
            &ctx,
            Commit {
                consent_set: vec![(shop(), "uk:1".to_owned(), forced)],
                ..Commit::default()
            },
        )
        .await;
    }
    assert_eq!(
        store.consent_set(&shop(), "uk:1").await.unwrap(),
        Some(true),
        "forced stays forced"
    );
    assert_eq!(
        store.consent_set(&other_shop(), "uk:1").await.unwrap(),
        None
    );

    let decision = |reason: &str, at: DateTime<Utc>| ConsentDecision {
        profile_id: "p1".to_owned(),
        customer_id: Some(BIG),
        decision: "skipped".to_owned(),
        reason: reason.to_owned(),
        decided_at: at,
        unsubscribed_at: Some(at),
    };
    assert_eq!(
        store.ometria_unsubscribed_at(&shop(), BIG).await.unwrap(),
        None
    );
    for d in [
        decision("sent", at(10)),
        decision("shopify_consent_newer", at(20)),
        // Undone in Ometria: no unsubscribe stands.
        decision("resubscribed_in_ometria", at(30)),
    ] {
        store.record_consent_decision(&shop(), &d).await.unwrap();
    }
    assert_eq!(
        store.ometria_unsubscribed_at(&shop(), BIG).await.unwrap(),
        Some(at(20))
    );
    assert_eq!(
        store
            .ometria_unsubscribed_at(&shop(), ShopifyId::new(5))
            .await
            .unwrap(),
        None
    );
}
