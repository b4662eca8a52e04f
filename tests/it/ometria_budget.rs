//! Spending Ometria's request budget well, end to end (real broker, fake
//! Ometria): behavioural attributes ride in the contact record a batch
//! sends anyway, on both store backends and under either `properties`
//! semantics. Counted from what the fake received, never from the worker.

use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, PropertiesMerge};
use so_testkit::{Backend, TestApp, TestAppOptions, eventually};

use crate::identity::{customer_order, send};
use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

async fn app(backend: Backend, properties: PropertiesMerge) -> TestApp {
    let defaults = TestAppOptions::default();
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 4,
        // One processor holds every partition, and its window is wide
        // enough for both queued events to make one batch.
        env: vec![
            ("SO_WORKER__CONCURRENCY".to_owned(), "1".to_owned()),
            ("SO_WORKER__BATCH_WINDOW_MS".to_owned(), "500".to_owned()),
        ],
        fake: FakeConfig {
            properties,
            ..defaults.fake.clone()
        },
        ..defaults
    })
    .await
}

#[tokio::test]
async fn attributes_ride_in_the_batchs_contact_record_sqlite_replace() {
    attributes_ride(Backend::Sqlite, PropertiesMerge::Replace).await;
}

#[tokio::test]
async fn attributes_ride_in_the_batchs_contact_record_postgres_replace() {
    attributes_ride(Backend::Postgres, PropertiesMerge::Replace).await;
}

#[tokio::test]
async fn attributes_ride_in_the_batchs_contact_record_sqlite_merge() {
    attributes_ride(Backend::Sqlite, PropertiesMerge::KeyByKey).await;
}

#[tokio::test]
async fn attributes_ride_in_the_batchs_contact_record_postgres_merge() {
    attributes_ride(Backend::Postgres, PropertiesMerge::KeyByKey).await;
}

/// A batch with a customer's `customers/update` and that customer's order:
/// Ometria gets one contact record carrying both the customer's fields and
/// the attributes the order changed, and no attribute record of its own.
async fn attributes_ride(backend: Backend, mode: PropertiesMerge) {
    let mut app = app(backend, mode).await;
    let fake = app.ometria();
    fake.version_writes_by("properties.shopify_orders_count");
    // Both events wait in their queues, so the worker takes them together.
    app.stop_worker().await;
    let email = "jo@example.com";
    let at = "2026-11-20T11:00:00+00:00";
    send(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, email, at),
    )
    .await;
    send(
        &app,
        "orders/create",
        &customer_order(ORDER_ID, CUSTOMER_ID, email, at),
    )
    .await;
    app.start_worker().await;
    app.wait_settled(2).await;
    // Nothing is left for the outbox drain: a mark it were still to send,
    // or one it sent and has not cleared yet, would show here.
    let store = app.store().await;
    eventually(Duration::from_secs(30), || async {
        match store.dirty_contacts(10, &[]).await {
            Ok(d) if d.is_empty() => Ok(()),
            other => Err(format!("outbox: {other:?}")),
        }
    })
    .await;

    let fake = app.ometria();
    let id = CUSTOMER_ID.to_string();
    let writes: Vec<Option<String>> = fake
        .write_log()
        .into_iter()
        .filter(|w| w.key.record_type == RecordType::Contact && w.key.id == id)
        .map(|w| w.version)
        .collect();
    assert_eq!(
        writes,
        [Some("1".to_owned())],
        "{mode:?} {backend:?}: one contact write, carrying the attributes"
    );
    let contact = fake.record(RecordType::Contact, &id).expect("the contact");
    assert_eq!(contact["email"], json!(email), "{contact:?}");
    assert_eq!(contact["firstname"], json!("Jon"), "{contact:?}");
    let p = &contact["properties"];
    assert_eq!(p["shopify_orders_count"], json!(1), "{p}");
    assert_eq!(p["shopify_total_spent"], json!(100.0), "{p}");
    assert_eq!(p["shopify_state"], "enabled", "{p}");
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}
