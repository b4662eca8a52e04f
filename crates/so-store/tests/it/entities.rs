use std::collections::BTreeMap;

use so_domain::ShopifyId;
use so_domain::mapping::{OrderLine, OrderState, OrderStatus, RefundSummary, RefundedLine, TagSet};
use so_domain::shopify::Money;
use so_store::{Commit, CommitOutcome};

use crate::support::*;

on_both_backends!(
    order_state_round_trips_with_ids_above_2_pow_53_exact,
    tags_and_variants_are_replaced_whole,
    deliveries_only_move_forward,
    reconnecting_keeps_data_and_reapplies_no_migration,
);

fn money(raw: &str) -> Money {
    Money::parse(raw).unwrap()
}

async fn order_state_round_trips_with_ids_above_2_pow_53_exact(ctx: Ctx) {
    let store = &ctx.store;
    let line_item = ShopifyId::new(BIG.get() + 2);
    let refund_id = ShopifyId::new(9_223_372_036_854_775_807);
    let state = OrderState {
        order_id: BIG,
        presentment_currency: None,
        timestamp: at(0).fixed_offset(),
        currency: "GBP".to_owned(),
        grand_total: money("30.10"),
        base_status: OrderStatus::Complete,
        test: false,
        lines: vec![OrderLine {
            line_item_id: line_item,
            product_id: ShopifyId::new(BIG.get() + 4),
            variant_id: Some(ShopifyId::new(BIG.get() + 6)),
            sku: Some("SKU-1".to_owned()),
            quantity: 2,
            unit_price: money("15.05"),
            subtotal: money("30.10"),
            discount: money("0.00"),
            tax: money("5.02"),
            total: money("30.10"),
            variant_options: vec!["Small".to_owned(), "Red".to_owned()],
        }],
        refunds: BTreeMap::from([(
            refund_id,
            RefundSummary {
                amount: money("15.05"),
                lines: BTreeMap::from([(
                    line_item,
                    RefundedLine {
                        quantity: 1,
                        amount: money("15.05"),
                    },
                )]),
            },
        )]),
        buyer: None,
    };
    let commit = Commit {
        order_states: vec![(shop(), state.clone())],
        ..Commit::default()
    };

    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );
    let read = store.order_state(&shop(), BIG).await.unwrap();

    assert_eq!(read, Some(state));
    assert_eq!(store.order_state(&other_shop(), BIG).await.unwrap(), None);
    assert_eq!(
        store
            .order_state(&shop(), ShopifyId::new(BIG.get() - 1))
            .await
            .unwrap(),
        None
    );
}

async fn tags_and_variants_are_replaced_whole(ctx: Ctx) {
    let store = &ctx.store;
    let customer = ShopifyId::new(42);
    let product = ShopifyId::new(7);
    let first = Commit {
        tags: vec![(shop(), customer, TagSet::parse_csv("VIP, newsletter"))],
        variants: vec![(shop(), product, vec![ShopifyId::new(1), ShopifyId::new(2)])],
        ..Commit::default()
    };
    let second = Commit {
        tags: vec![(shop(), customer, TagSet::parse_csv("wholesale"))],
        variants: vec![(shop(), product, vec![ShopifyId::new(2)])],
        ..Commit::default()
    };

    assert_eq!(
        store.commit(&first).await.unwrap(),
        CommitOutcome::Committed
    );
    assert_eq!(
        store.commit(&second).await.unwrap(),
        CommitOutcome::Committed
    );

    let tags = store.customer_tags(&shop(), customer).await.unwrap();
    assert_eq!(tags.iter().collect::<Vec<_>>(), vec!["wholesale"]);
    let variants = store.known_variants(&shop(), product).await.unwrap();
    assert_eq!(variants, vec![ShopifyId::new(2)]);
    assert!(
        store
            .customer_tags(&other_shop(), customer)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn deliveries_only_move_forward(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(
        store
            .last_delivery(&shop(), "contact", "uk:42")
            .await
            .unwrap(),
        None
    );

    store
        .record_delivery(&shop(), "contact", "uk:42", at(10))
        .await
        .unwrap();
    store
        .record_delivery(&shop(), "contact", "uk:42", at(5))
        .await
        .unwrap();

    let last = store
        .last_delivery(&shop(), "contact", "uk:42")
        .await
        .unwrap();
    assert_eq!(last, Some(at(10)));
    assert_eq!(
        store
            .last_delivery(&shop(), "order", "uk:42")
            .await
            .unwrap(),
        None
    );
}

async fn reconnecting_keeps_data_and_reapplies_no_migration(ctx: Ctx) {
    let commit = Commit {
        ledger: vec![entry(1, None, 0)],
        ..Commit::default()
    };
    assert_eq!(
        ctx.store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );

    let again = ctx.another_worker().await;

    again.ping().await.unwrap();
    let seen = again.ledger_lookup(&shop(), &wid(1)).await.unwrap();
    assert_eq!(seen, so_domain::freshness::LedgerLookup::SeenAt(at(0)));
    again.close().await;
}
