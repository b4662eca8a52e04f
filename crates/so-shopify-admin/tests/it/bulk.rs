//! Bulk operations: start, poll, stream and regroup the JSONL.

use std::collections::BTreeMap;
use std::time::Duration;

use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, GenerateSpec, generate};
use so_shopify_admin::{
    AdminClient, AdminError, AdminSettings, BulkStatus, Customer, Order, Product, ShopCredentials,
    customers_bulk_query, orders_bulk_query, products_bulk_query,
};

use crate::support::{client, fake, settings};

const POLL: Duration = Duration::from_millis(10);

#[tokio::test]
async fn order_rows_regroup_line_items_under_their_order() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(30, 4, 0.3));
    shop.seed_dataset(&data);
    shop.set_bulk_timing(3, None);
    let client = client(&fake);
    let id = client
        .run_bulk_query(&orders_bulk_query(None))
        .await
        .unwrap();
    let op = client.wait_bulk(&id, POLL).await.unwrap();
    assert_eq!(op.status, BulkStatus::Completed);
    let lines: usize = data.orders.iter().map(|o| 1 + o.line_items.len()).sum();
    assert_eq!(op.object_count as usize, lines);
    assert_eq!(op.root_object_count as usize, data.orders.len());

    let mut rows = client.bulk_rows::<Order>(&op).await.unwrap();
    let mut got = BTreeMap::new();
    while let Some(order) = rows.next().await.unwrap() {
        assert!(got.insert(order.id.id(), order).is_none(), "order twice");
    }
    assert_eq!(got.len(), data.orders.len());
    for s in &data.orders {
        let o = &got[&s.id];
        let lines: Vec<u64> = o.line_items.nodes.iter().map(|l| l.id.id()).collect();
        assert_eq!(lines, s.line_items.iter().map(|l| l.id).collect::<Vec<_>>());
        // Refunds are inline in bulk rows, without refund lines.
        let refunds: Vec<u64> = o.refunds.iter().map(|r| r.id.id()).collect();
        assert_eq!(refunds, s.refunds.iter().map(|r| r.id).collect::<Vec<_>>());
        assert_eq!(o.customer.as_ref().map(|c| c.id.id()), s.customer_id);
    }
}

#[tokio::test]
async fn ungrouped_results_need_collect_all() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(5, 0, 0.3));
    shop.seed_dataset(&data);
    shop.bulk_ungrouped(true);
    let client = client(&fake);

    let id = client
        .run_bulk_query_with(&products_bulk_query(None), false)
        .await
        .unwrap();
    let op = client.wait_bulk(&id, POLL).await.unwrap();
    let mut rows = client.bulk_rows::<Product>(&op).await.unwrap();
    let mut streamed = Ok(None);
    for _ in 0..=data.products.len() {
        streamed = rows.next().await;
        if streamed.is_err() {
            break;
        }
    }
    assert!(
        matches!(streamed, Err(AdminError::Decode { .. })),
        "{streamed:?}"
    );

    let products = client
        .bulk_rows::<Product>(&op)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(products.len(), data.products.len());
    for s in &data.products {
        let p = products.iter().find(|p| p.id.id() == s.id).unwrap();
        let variants: Vec<u64> = p.variants.nodes.iter().map(|v| v.id.id()).collect();
        assert_eq!(
            variants,
            s.variants.iter().map(|v| v.id).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn filtered_bulk_queries_and_empty_results() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(50, 0, 0.4));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let id = client
        .run_bulk_query(&customers_bulk_query(Some(
            "email_marketing_state:SUBSCRIBED",
        )))
        .await
        .unwrap();
    let op = client.wait_bulk(&id, POLL).await.unwrap();
    let rows = client
        .bulk_rows::<Customer>(&op)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 20);

    let id = client
        .run_bulk_query(&customers_bulk_query(Some(
            "updated_at:>'2999-01-01T00:00:00Z'",
        )))
        .await
        .unwrap();
    let op = client.wait_bulk(&id, POLL).await.unwrap();
    assert_eq!(op.url, None);
    let mut rows = client.bulk_rows::<Customer>(&op).await.unwrap();
    assert!(rows.next().await.unwrap().is_none());
}

#[tokio::test]
async fn failed_operations_are_typed_errors() {
    let (fake, shop) = fake().await;
    shop.fail_next_bulk();
    let client = client(&fake);
    let id = client
        .run_bulk_query(&customers_bulk_query(None))
        .await
        .unwrap();
    let err = client.wait_bulk(&id, POLL).await.unwrap_err();
    let AdminError::BulkFailed {
        status, error_code, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, "FAILED");
    assert_eq!(error_code.as_deref(), Some("INTERNAL_SERVER_ERROR"));
}

#[tokio::test]
async fn waiting_is_bounded() {
    let (fake, shop) = fake().await;
    shop.set_bulk_timing(u32::MAX, None);
    let client = AdminClient::new(
        &AdminSettings {
            max_bulk_wait: Duration::from_millis(100),
            ..settings()
        },
        &ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&fake.base_url()),
    )
    .unwrap();
    let id = client
        .run_bulk_query(&customers_bulk_query(None))
        .await
        .unwrap();
    let err = client.wait_bulk(&id, POLL).await.unwrap_err();
    assert!(matches!(err, AdminError::BulkTimeout { .. }), "{err:?}");
    let current = client.current_bulk_operation().await.unwrap().unwrap();
    assert_eq!(current.id, id);
    assert_eq!(current.status, BulkStatus::Running);
}

fn client_on(fake: &so_fake_shopify::FakeShopify, version: &str) -> AdminClient {
    AdminClient::new(
        &AdminSettings {
            api_version: version.to_owned(),
            ..settings()
        },
        &ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&fake.base_url()),
    )
    .unwrap()
}

fn codes(err: &AdminError) -> Vec<String> {
    match err {
        AdminError::UserErrors(errors) => errors.iter().filter_map(|e| e.code.clone()).collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn concurrency_limits_depend_on_the_version() {
    let (fake, shop) = fake().await;
    shop.set_bulk_timing(u32::MAX, None);
    let old = client_on(&fake, "2025-10");
    old.run_bulk_query(&customers_bulk_query(None))
        .await
        .unwrap();
    let err = old
        .run_bulk_query(&customers_bulk_query(None))
        .await
        .unwrap_err();
    assert_eq!(codes(&err), ["OPERATION_IN_PROGRESS"]);

    let new = client_on(&fake, "2026-07");
    for _ in 0..4 {
        new.run_bulk_query(&customers_bulk_query(None))
            .await
            .unwrap();
    }
    let err = new
        .run_bulk_query(&customers_bulk_query(None))
        .await
        .unwrap_err();
    assert_eq!(codes(&err), ["LIMIT_REACHED"]);
}

#[tokio::test]
async fn invalid_bulk_queries_are_user_errors() {
    let (fake, _shop) = fake().await;
    let client = client(&fake);
    let err = client
        .run_bulk_query("{ shop { name } }")
        .await
        .unwrap_err();
    assert_eq!(codes(&err), ["INVALID"]);
    let AdminError::UserErrors(errors) = &err else {
        unreachable!()
    };
    assert_eq!(errors[0].field.as_deref(), Some(&["query".to_owned()][..]));
}
