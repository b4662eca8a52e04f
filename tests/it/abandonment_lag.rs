//! An abandonment check that comes back while the order completing its
//! checkout is still unprocessed (the worker lags: Ometria holds its
//! answers) waits for it: the customer who bought gets no abandonment
//! event, while a truly abandoned checkout of the same run gets its own.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_domain::routing::{EntityKey, partition_for};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

const SHOP: &str = "test-shop.myshopify.com";
/// One processor per partition (the default concurrency is 4), so the
/// order's partition can lag while the checkouts' partitions go on.
const PARTITIONS: u16 = 4;

fn checkout(token: &str, customer: u64, email: &str) -> Value {
    json!({
        "token": token,
        "cart_token": format!("cart-{token}"),
        "email": email,
        "created_at": "2026-11-20T10:00:00+00:00",
        "updated_at": "2026-11-20T10:00:00+00:00",
        "completed_at": null,
        "abandoned_checkout_url": format!("https://{SHOP}/1/checkouts/ac/{token}/recover?key=k"),
        "currency": "GBP",
        "total_price": "60.00",
        "customer": {"id": customer, "email": email, "first_name": "Jon"},
        "line_items": [{"product_id": 632_910_392, "variant_id": 808_950_810, "sku": "IPOD-1", "quantity": 2, "price": "30.00"}]
    })
}

fn partition(key: &EntityKey) -> u16 {
    partition_for(&ShopDomain::parse(SHOP).unwrap(), key, PARTITIONS)
}

/// A checkout token whose partition is not the order's.
fn token_away_from_the_order(stem: &str) -> String {
    let order = partition(&EntityKey::parse(&format!("order:{ORDER_ID}")).unwrap());
    (0..)
        .map(|i| format!("{stem}-{i}"))
        .find(|t| partition(&EntityKey::Checkout(t.clone())) != order)
        .unwrap()
}

async fn send(app: &TestApp, topic: &str, body: &Value) {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap()).shop(SHOP);
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

async fn a_bought_cart_gets_no_abandonment_event_however_late_its_order_is_processed(
    backend: Backend,
) {
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: PARTITIONS,
        config_toml: Some(format!(
            "[shops.\"{SHOP}\"]\nnamespace = \"uk:\"\nabandoned_checkouts = {{ enabled = true, delay_secs = 1, event_type = \"checkout_left\" }}\n"
        )),
        ..TestAppOptions::default()
    })
    .await;
    let fake = app.ometria();
    let (bought, left) = (
        token_away_from_the_order("tok-bought"),
        token_away_from_the_order("tok-left"),
    );
    let (c, d) = (CUSTOMER_ID, CUSTOMER_ID + 1);
    // The order's partition lags: its push waits for an answer.
    fake.hold_responses(true);
    send(
        &app,
        "checkouts/create",
        &checkout(&bought, c, "c@example.com"),
    )
    .await;
    send(
        &app,
        "checkouts/create",
        &checkout(&left, d, "d@example.com"),
    )
    .await;
    let mut order = payloads::order(
        ORDER_ID,
        Some((c, "c@example.com")),
        "c@example.com",
        "2026-11-20T10:02:00+00:00",
        "paid",
    );
    order["checkout_token"] = json!(bought);
    send(&app, "orders/create", &order).await;
    let bought_event = format!("uk:checkout_{bought}");
    // Both checks come back while the order is held: each is deferred,
    // or (were the rule broken) the bought cart's event reaches the fake.
    eventually(Duration::from_secs(60), || async {
        let deferred = app
            .counter("so_events_processed_total", &[("outcome", "deferred")])
            .await;
        let sent = fake.write_count(RecordType::CustomEvent, &bought_event);
        if deferred >= 2.0 || sent > 0 {
            Ok(())
        } else {
            Err(format!(
                "{deferred} checks deferred, {sent} events for the bought cart; in flight: {:?}",
                fake.pushes_in_flight()
            ))
        }
    })
    .await;
    assert!(
        fake.pushes_in_flight().pushes > 0,
        "the order's push is still held"
    );
    fake.hold_responses(false);
    // The abandoned cart's check is decided (so checks are not simply
    // never decided), and so is the bought one's.
    eventually(Duration::from_secs(60), || async {
        match fake.record(RecordType::CustomEvent, &format!("uk:checkout_{left}")) {
            Some(_) => Ok(()),
            None => Err(format!("no event for {left}")),
        }
    })
    .await;
    eventually(Duration::from_secs(60), || async {
        let decided = app
            .counter(
                "so_events_processed_total",
                &[("outcome", "checkout_completed")],
            )
            .await;
        let ordered = app
            .counter(
                "so_events_processed_total",
                &[("outcome", "checkout_ordered_since")],
            )
            .await;
        let sent = fake.write_count(RecordType::CustomEvent, &bought_event);
        if decided + ordered >= 1.0 || sent > 0 {
            Ok(())
        } else {
            Err("the bought cart's check is not decided yet".to_owned())
        }
    })
    .await;
    eventually(Duration::from_secs(60), || async {
        match fake.count(RecordType::Order) {
            0 => Err("the order has not reached Ometria".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    assert_eq!(
        fake.write_count(RecordType::CustomEvent, &bought_event),
        0,
        "no abandonment event for a cart that was bought"
    );
    assert_eq!(
        fake.count(RecordType::CustomEvent),
        1,
        "only the abandoned cart's event"
    );
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn a_bought_cart_gets_no_abandonment_event_while_its_order_lags_sqlite() {
    a_bought_cart_gets_no_abandonment_event_however_late_its_order_is_processed(Backend::Sqlite)
        .await;
}

#[tokio::test]
async fn a_bought_cart_gets_no_abandonment_event_while_its_order_lags_postgres() {
    a_bought_cart_gets_no_abandonment_event_however_late_its_order_is_processed(Backend::Postgres)
        .await;
}
