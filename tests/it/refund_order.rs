//! A refund and its order under Ometria's budget (issue 15): a refund whose
//! order this worker is still pushing, or which overtook its order in the
//! queue but meets it in the same batch, reaches Ometria applied to that
//! order without a trip through a broker retry tier; a refund whose order
//! is unknown still waits in one. Counted at the broker (a queue of the
//! test's own bound to the retry exchange receives a copy of every retry)
//! and from what the fake Ometria holds, never from the worker's report;
//! on both store backends.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_testkit::broker::BrokerProbe;
use so_testkit::{Backend, TestApp, TestAppOptions, eventually};

use crate::identity::send;
use crate::payloads::{self, ORDER_ID};

const EMAIL: &str = "refunded@example.com";

/// One partition and one processor, so every event below is handled in
/// queue order by the same processor; the worker's limiter allows
/// `per_second` requests a second, so an order's records wait for a slot.
async fn app(backend: Backend, window_ms: u64, per_second: f64) -> TestApp {
    let defaults = TestAppOptions::default();
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 1,
        env: vec![
            ("SO_WORKER__CONCURRENCY".to_owned(), "1".to_owned()),
            (
                "SO_WORKER__BATCH_WINDOW_MS".to_owned(),
                window_ms.to_string(),
            ),
            (
                "SO_OMETRIA__REQUESTS_PER_SECOND".to_owned(),
                per_second.to_string(),
            ),
        ],
        ..defaults
    })
    .await
}

/// A probe with a queue that receives a copy of every message published to
/// the app's retry exchange from now on.
async fn tap_retries(app: &TestApp) -> (BrokerProbe, String) {
    let probe = BrokerProbe::connect().await.expect("probe");
    let tap = format!("{}.test-tap", app.names().retry_exchange());
    probe
        .tap(&app.names().retry_exchange(), &tap)
        .await
        .expect("tap on the retry exchange");
    (probe, tap)
}

fn order(id: u64, at: &str, financial: &str) -> Value {
    payloads::order(id, None, EMAIL, at, financial)
}

/// One unit of line 1001 (two were bought) refunded.
fn refund_of(order_id: u64) -> Value {
    payloads::refund(order_id + 50, order_id, 1001, 1, "30.00")
}

/// The order the fake Ometria holds, once it shows a refund.
async fn refunded_order(app: &TestApp, id: u64) -> serde_json::Map<String, Value> {
    let fake = app.ometria();
    eventually(Duration::from_secs(30), || async {
        match fake.record(RecordType::Order, &id.to_string()) {
            Some(o) if o["status"] == json!("partial_refund") => Ok(o),
            other => Err(format!("order {id}: {other:?}")),
        }
    })
    .await
}

/// The entities of the messages the tap received.
async fn retried(probe: &BrokerProbe, tap: &str) -> Vec<String> {
    probe
        .drain(tap)
        .await
        .expect("the tap's messages")
        .iter()
        .map(|m| m.header("x-entity").unwrap_or("?").to_owned())
        .collect()
}

#[tokio::test]
async fn a_refund_whose_order_waits_for_a_slot_does_not_bounce_sqlite() {
    refund_behind_a_waiting_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_refund_whose_order_waits_for_a_slot_does_not_bounce_postgres() {
    refund_behind_a_waiting_order(Backend::Postgres).await;
}

/// The budget is spent (an order just went out), so the next order's
/// records wait up to 4 s for a slot; its refund is sent meanwhile.
async fn refund_behind_a_waiting_order(backend: Backend) {
    let app = app(backend, 30, 0.25).await;
    let (probe, tap) = tap_retries(&app).await;
    let at = "2026-11-20T11:00:00+00:00";
    send(&app, "orders/create", &order(ORDER_ID + 1, at, "paid")).await;
    app.wait_settled(1).await;
    let id = ORDER_ID;
    send(&app, "orders/create", &order(id, at, "pending")).await;
    send(
        &app,
        "orders/paid",
        &order(id, "2026-11-20T11:01:00+00:00", "paid"),
    )
    .await;
    // Past the batch window: the refund comes in a later batch than its
    // order, whose records are still waiting for the slot.
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(&app, "refunds/create", &refund_of(id)).await;
    assert!(
        app.ometria()
            .record(RecordType::Order, &id.to_string())
            .is_none(),
        "the order was still waiting for a slot when its refund was published"
    );
    app.wait_settled(4).await;

    let o = refunded_order(&app, id).await;
    assert_eq!(o["lineitems"][0]["quantity_refunded"], json!(1), "{o:?}");
    assert_eq!(
        o["properties"]["shopify_financial_status"],
        json!("paid"),
        "the refund applied to the order's latest version: {o:?}"
    );
    assert_eq!(
        retried(&probe, &tap).await,
        Vec::<String>::new(),
        "{backend:?}: nothing went through a retry tier"
    );
    probe.close().await;
    app.teardown().await;
}

#[tokio::test]
async fn a_refund_that_overtook_its_order_within_a_batch_does_not_bounce_sqlite() {
    refund_ahead_of_its_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_refund_that_overtook_its_order_within_a_batch_does_not_bounce_postgres() {
    refund_ahead_of_its_order(Backend::Postgres).await;
}

/// A refund queued before its order (the webhooks of one order can arrive
/// out of order) is applied once the batch has its order: after it, so the
/// order Ometria ends with shows both the later version and the refund. A
/// refund of an order that is nowhere still goes to a retry tier.
async fn refund_ahead_of_its_order(backend: Backend) {
    let mut app = app(backend, 1_000, 1.0).await;
    let (probe, tap) = tap_retries(&app).await;
    app.stop_worker().await;
    let id = ORDER_ID;
    let unknown = ORDER_ID + 7;
    send(&app, "refunds/create", &refund_of(id)).await;
    send(&app, "refunds/create", &refund_of(unknown)).await;
    send(
        &app,
        "orders/create",
        &order(id, "2026-11-20T11:00:00+00:00", "pending"),
    )
    .await;
    send(
        &app,
        "orders/paid",
        &order(id, "2026-11-20T11:01:00+00:00", "paid"),
    )
    .await;
    app.start_worker().await;
    app.wait_settled(4).await;

    eventually(Duration::from_secs(30), || async {
        match probe.depth(&tap).await {
            Ok(n) if n > 0 => Ok(()),
            other => Err(format!("tap: {other:?}")),
        }
    })
    .await;
    let entities = retried(&probe, &tap).await;
    assert!(
        !entities.is_empty() && entities.iter().all(|e| *e == format!("order:{unknown}")),
        "{backend:?}: only the refund of the unknown order was retried: {entities:?}"
    );
    let o = refunded_order(&app, id).await;
    assert_eq!(o["lineitems"][0]["quantity_refunded"], json!(1), "{o:?}");
    assert_eq!(
        o["properties"]["shopify_financial_status"],
        json!("paid"),
        "the refund applied to the order's latest version: {o:?}"
    );
    let fake = app.ometria();
    let writes: u32 = fake
        .write_counts()
        .into_iter()
        .filter(|(k, _)| k.record_type == RecordType::Order && k.id == id.to_string())
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 1, "{backend:?}: one write of the order, refunded");
    assert!(
        fake.record(RecordType::Order, &unknown.to_string())
            .is_none(),
        "nothing is sent for an order never seen"
    );
    probe.close().await;
    app.teardown().await;
}
