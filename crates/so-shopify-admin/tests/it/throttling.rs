//! Cost-based throttling: the client's bucket model, THROTTLED answers with
//! 200 and 429, and the deadline.

use std::time::Duration;

use serde_json::{Value, json};
use so_fake_shopify::Customer;
use so_shopify_admin::{AdminError, AdminSettings};
use tokio::time::Instant;

use crate::support::{at, client, client_with, fake, settings};

fn seed_customers(shop: &so_fake_shopify::FakeShop, n: u64) {
    shop.seed_customers((1..=n).map(|i| {
        Customer::new(
            (1 << 60) + i,
            Some(&format!("c{i}@example.com")),
            at(2024, 1, 1),
        )
    }));
}

async fn scan_customers(client: &so_shopify_admin::AdminClient, first: u32) -> usize {
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let page = client
            .customers_page(after.as_deref(), None, first)
            .await
            .unwrap();
        seen += page.nodes.len();
        match page.next_cursor() {
            Some(c) => after = Some(c.to_owned()),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn the_model_keeps_concurrent_callers_within_the_budget() {
    let (fake, shop) = fake().await;
    // A page of 10 customers costs 42: three fit in the 150-point bucket at
    // once, and with 4 callers the rest wait for restored points.
    shop.set_bucket(150.0, 1000.0);
    // Answers leave the fake 30 ms after it charged the bucket, so calls
    // overlap and reports arrive while other calls are in flight.
    shop.delay_next(1000, Duration::from_millis(30));
    seed_customers(&shop, 100);
    let client = client(&fake);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { scan_customers(&c, 10).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 100);
    }
    let stats = shop.stats();
    assert_eq!(stats.throttled, 0, "{:?}", shop.requests());
    assert_eq!(stats.requests, 4 * 10);
    let budget = client.budget();
    assert_eq!(budget.throttled, 0);
    assert!(budget.points_waited_for > 0.0, "{budget:?}");
    assert!(budget.budget_wait > Duration::ZERO);
    assert_eq!(budget.points_used, stats.points_used);
    assert_eq!(budget.succeeded, 40);
}

#[tokio::test]
async fn unknown_documents_are_assumed_expensive_until_answered() {
    let (fake, shop) = fake().await;
    shop.set_bucket(100.0, 2000.0);
    seed_customers(&shop, 5);
    let client = client(&fake);
    let q = "query($first: Int!) { customers(first: $first) { nodes { id } } }";
    for _ in 0..20 {
        let r = client.query::<Value>(q, json!({"first": 5})).await.unwrap();
        assert_eq!(r.data["customers"]["nodes"].as_array().unwrap().len(), 5);
    }
    assert_eq!(shop.stats().throttled, 0);
}

async fn throttled_then_succeeds(with_429: bool) {
    let (fake, shop) = fake().await;
    shop.set_bucket(100.0, 200.0);
    shop.throttle_with_429(with_429);
    seed_customers(&shop, 10);
    let client = client(&fake);
    client.customers_page(None, None, 10).await.unwrap();
    // Another client of the same app and shop spends the bucket: the model
    // does not know, so the next call is THROTTLED, waits and succeeds.
    shop.set_available(0.0);
    let started = Instant::now();
    let page = client.customers_page(None, None, 10).await.unwrap();
    assert_eq!(page.nodes.len(), 10);
    // 42 points at 200/s.
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.budget().throttled, 1);
    assert_eq!(shop.stats().throttled, 1);
    let throttled: Vec<_> = shop
        .requests()
        .into_iter()
        .filter(|r| r.throttled)
        .collect();
    assert_eq!(throttled[0].status, if with_429 { 429 } else { 200 });
    assert_eq!(throttled[0].error_codes, ["THROTTLED"]);
}

#[tokio::test]
async fn throttled_with_200_waits_and_retries() {
    throttled_then_succeeds(false).await;
}

#[tokio::test]
async fn throttled_with_429_waits_and_retries() {
    throttled_then_succeeds(true).await;
}

#[tokio::test]
async fn gives_up_when_the_wait_would_pass_the_deadline() {
    let (fake, shop) = fake().await;
    shop.set_bucket(100.0, 1.0);
    seed_customers(&shop, 10);
    let client = client_with(
        &fake,
        &AdminSettings {
            deadline: Duration::from_millis(500),
            ..settings()
        },
    );
    client.customers_page(None, None, 10).await.unwrap();
    shop.set_available(0.0);
    let started = Instant::now();
    let err = client.customers_page(None, None, 10).await.unwrap_err();
    assert!(
        matches!(err, AdminError::ThrottledTooLong { throttled: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn min_available_is_left_for_other_callers() {
    let (fake, shop) = fake().await;
    shop.set_bucket(200.0, 1000.0);
    seed_customers(&shop, 10);
    let client = client_with(
        &fake,
        &AdminSettings {
            min_available: 100,
            ..settings()
        },
    );
    for _ in 0..10 {
        client.customers_page(None, None, 10).await.unwrap();
        // The page charged 42; the model waits until 142 are available, so
        // the bucket never drops below 100 - 42.
        assert!(
            shop.available() >= 100.0 - 42.0 - 1.0,
            "{}",
            shop.available()
        );
    }
}

#[tokio::test]
async fn queries_over_the_single_query_limit_are_graphql_errors() {
    let (fake, _shop) = fake().await;
    let client = client(&fake);
    let q = "{ products(first: 250) { nodes { id variants(first: 10) { nodes { id } } } } }";
    let err = client.query::<Value>(q, json!({})).await.unwrap_err();
    let AdminError::GraphQl(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors[0].code.as_deref(), Some("MAX_COST_EXCEEDED"));
    assert!(!err.is_retryable());
}
