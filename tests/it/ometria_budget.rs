//! Spending Ometria's request budget well, end to end (real broker, fake
//! Ometria): behavioural attributes ride in the contact record a batch
//! sends anyway (on both store backends and under either `properties`
//! semantics), requests leave full, and at low load a lone event is not
//! held for company. Counted from what the fake received, never from the
//! worker.

use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, PropertiesMerge, RateLimit};
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

/// Under the budget, a request leaves part-filled only when no more
/// records of its type are ready: with a burst of orders taken in one
/// batch, every request but the last of each type carries 100 records
/// (counted from the requests the fake received), the types interleaved.
/// Guest orders, so each event also has a contact record (its guest
/// listing, with the attributes riding in it). One partition and a wide
/// window, so the whole burst is one batch whatever the machine's load.
#[tokio::test]
async fn every_request_but_the_last_of_each_type_is_full() {
    let defaults = TestAppOptions::default();
    let mut app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 1,
        env: vec![("SO_WORKER__BATCH_WINDOW_MS".to_owned(), "3000".to_owned())],
        fake: FakeConfig {
            rate_limit: RateLimit::PerSecond {
                rate: 4.0,
                burst: 4,
            },
            ..defaults.fake.clone()
        },
        ..defaults
    })
    .await;
    let at = "2026-11-20T11:00:00+00:00";
    let guest =
        |i: u64| payloads::order(ORDER_ID + i, None, &format!("g{i}@example.com"), at, "paid");
    // The orders' products reach Ometria first, so the burst has none.
    send(&app, "orders/create", &guest(0)).await;
    app.wait_settled(1).await;
    let before = app.ometria().requests().len();
    app.stop_worker().await;
    const BURST: u64 = 250;
    for i in 1..=BURST {
        send(&app, "orders/create", &guest(i)).await;
    }
    app.start_worker().await;
    app.wait_settled(1 + BURST as usize).await;

    let fake = app.ometria();
    let pushes: Vec<_> = fake.requests()[before..]
        .iter()
        .filter(|r| r.path == "/v2/push" && r.status == 200)
        .map(|r| (r.record_type, r.records))
        .collect();
    for t in [RecordType::Order, RecordType::Contact] {
        let sizes: Vec<usize> = pushes
            .iter()
            .filter(|(rt, _)| *rt == Some(t))
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(
            sizes.iter().sum::<usize>(),
            BURST as usize,
            "{t:?}: every record once: {pushes:?}"
        );
        let (_last, full) = sizes.split_last().expect("some requests");
        assert!(
            full.iter().all(|&n| n == 100),
            "{t:?}: requests {sizes:?} (all: {pushes:?})"
        );
    }
    assert!(
        pushes.iter().all(|(t, _)| *t != Some(RecordType::Product)),
        "{pushes:?}"
    );
    assert_eq!(fake.rate_limited_responses(), 0);
    app.teardown().await;
}

/// How long the test below waits for a lone event to reach Ometria before
/// it sends the next one anyway. Not a latency bound the worker must meet
/// (at low load an event leaves after the batch window, 250 ms, and one
/// request): it only has to stay below the longest a batch may gather
/// under the budget (20 s), so that a hold of that kind would still be
/// waiting when the next event comes and take it along.
const LONE_WAIT: Duration = Duration::from_secs(10);

/// At low load (no backlog, the budget not the limit) nothing holds a lone
/// record for company: each of three customer updates, sent one at a time,
/// goes out in a request of its own, received before the next update is
/// even published. Told from the fake's request log and records, taken
/// just before each next send; no timing is asserted.
#[tokio::test]
async fn a_lone_event_at_low_load_leaves_before_the_next_is_sent() {
    let defaults = TestAppOptions::default();
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 1,
        // The shipped window, not the tests' shorter one.
        env: vec![("SO_WORKER__BATCH_WINDOW_MS".to_owned(), "250".to_owned())],
        ..defaults
    })
    .await;
    let fake = app.ometria();
    let pushes = || -> Vec<usize> {
        fake.requests()
            .iter()
            .filter(|r| r.path == "/v2/push")
            .map(|r| r.records)
            .collect()
    };
    let at = "2026-11-20T11:00:00+00:00";
    let ids: Vec<u64> = (1..=3).map(|i| CUSTOMER_ID + i).collect();
    for (n, id) in ids.iter().enumerate() {
        let email = format!("lone{n}@example.com");
        send(
            &app,
            "customers/update",
            &payloads::customer(*id, &email, at),
        )
        .await;
        let arrived = tokio::time::Instant::now() + LONE_WAIT;
        while fake.record(RecordType::Contact, &id.to_string()).is_none()
            && tokio::time::Instant::now() < arrived
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // What Ometria had before the next update is published.
        assert!(
            fake.record(RecordType::Contact, &id.to_string()).is_some(),
            "update {n} was still held when the next one was due to be sent"
        );
        assert_eq!(
            pushes(),
            vec![1; n + 1],
            "update {n} went out in a request of its own"
        );
    }
    app.wait_settled(ids.len()).await;
    assert_eq!(pushes(), vec![1; ids.len()], "one request per update");
    assert_eq!(fake.rate_limited_responses(), 0);
    app.teardown().await;
}
