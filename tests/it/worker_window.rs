//! The in-flight window (issue 15), end to end against the real broker and
//! the fake Ometria, counted from what the broker holds and what the fake
//! received, never from the worker: under the budget a batch takes every
//! delivery its processor holds, so two versions of an order further apart
//! than a batch leave as one record carrying the newer one; and the window
//! never holds more than its memory bound, nothing of it acked while
//! Ometria has not answered.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_testkit::{Backend, TestApp, TestAppOptions, eventually};

use crate::identity::send;
use crate::payloads::{self, ORDER_ID};

/// `worker.window_max_bytes` of 1 MiB over one partition: 1 MiB / 16 KiB.
const WINDOW_DELIVERIES: u32 = 64;

async fn app(backend: Backend, env: &[(&str, &str)]) -> TestApp {
    let mut all = vec![
        ("SO_WORKER__CONCURRENCY", "1"),
        ("SO_WORKER__PREFETCH", "10"),
        ("SO_WORKER__WINDOW_MAX_BYTES", "1048576"),
        // A held answer is waited for, never timed out into a retry tier.
        ("SO_OMETRIA__REQUEST_TIMEOUT_MS", "300000"),
    ];
    all.extend_from_slice(env);
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 1,
        env: all
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ..TestAppOptions::default()
    })
    .await
}

/// Ready (not delivered) messages of the only work partition.
async fn ready(app: &TestApp) -> u32 {
    let queue = app.names().work_queue(0);
    so_queue::stats::queue_stats(&app.broker)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.queue == queue)
        .map_or(0, |s| s.messages)
}

async fn ready_reaches(app: &TestApp, n: u32) {
    eventually(Duration::from_secs(30), || async {
        match ready(app).await {
            r if r == n => Ok(()),
            r => Err(format!("{r} ready, waiting for {n}")),
        }
    })
    .await;
}

fn guest(i: u64, name: &str, at: &str, financial: &str) -> serde_json::Value {
    let mut o = payloads::order(
        ORDER_ID + i,
        None,
        &format!("g{i}@example.com"),
        at,
        financial,
    );
    o["name"] = name.into();
    o
}

#[tokio::test]
async fn the_window_holds_no_more_than_its_memory_bound() {
    let mut app = app(Backend::Sqlite, &[]).await;
    app.stop_worker().await;
    // Ometria takes the first request and never answers: nothing is acked.
    app.ometria().hold_responses(true);
    const SENT: u32 = 150;
    let at = "2026-11-20T11:00:00+00:00";
    for i in 0..u64::from(SENT) {
        send(&app, "orders/create", &guest(i, "No1", at, "paid")).await;
    }
    ready_reaches(&app, SENT).await;
    app.start_worker().await;
    // More than `prefetch` (10), as many as the window's bound, no more.
    ready_reaches(&app, SENT - WINDOW_DELIVERIES).await;
    eventually(Duration::from_secs(30), || async {
        match app.ometria().pushes_in_flight().pushes {
            0 => Err("no push held yet".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    assert_eq!(
        ready(&app).await,
        SENT - WINDOW_DELIVERIES,
        "nothing taken beyond the window while its first push waits"
    );
    app.ometria().hold_responses(false);
    ready_reaches(&app, 0).await;
    app.wait_settled(SENT as usize).await;
    app.teardown().await;
}

#[tokio::test]
async fn versions_further_apart_than_a_batch_leave_as_one_record_sqlite() {
    versions_fold(Backend::Sqlite).await;
}

#[tokio::test]
async fn versions_further_apart_than_a_batch_leave_as_one_record_postgres() {
    versions_fold(Backend::Postgres).await;
}

/// A first batch of 20 orders fills ten-record requests, so the budget is
/// the limit when the next batch starts: it takes the window's 64
/// deliveries, more than twice `batch_max_events` (20; the most a batch
/// took under the budget before the window), and the order whose two
/// versions are 58 deliveries apart reaches the fake only as its newer
/// version.
async fn versions_fold(backend: Backend) {
    let mut app = app(
        backend,
        &[
            ("SO_WORKER__BATCH_MAX_EVENTS", "20"),
            ("SO_WORKER__BATCH_WINDOW_MS", "1000"),
            ("SO_OMETRIA__BATCH_MAX_RECORDS", "10"),
        ],
    )
    .await;
    app.stop_worker().await;
    app.ometria().version_writes_of(RecordType::Order, "web_id");
    let at = |m: u32| format!("2026-11-20T11:{m:02}:00+00:00");
    // The orders' products reach Ometria with the first batch.
    for i in 0..20 {
        send(&app, "orders/create", &guest(i, "No1", &at(0), "paid")).await;
    }
    const TWICE: u64 = 1_000;
    for i in 20..84 {
        let body = match i {
            25 => guest(TWICE, "v1", &at(1), "pending"),
            83 => guest(TWICE, "v2", &at(2), "paid"),
            _ => guest(i, "No1", &at(0), "paid"),
        };
        send(&app, "orders/updated", &body).await;
    }
    ready_reaches(&app, 84).await;
    app.start_worker().await;
    let id = (ORDER_ID + TWICE).to_string();
    let written = |app: &TestApp| -> Vec<Option<String>> {
        app.ometria()
            .write_log()
            .into_iter()
            .filter(|w| w.key.record_type == RecordType::Order && w.key.id == id)
            .map(|w| w.version)
            .collect()
    };
    ready_reaches(&app, 0).await;
    app.wait_settled(84).await;
    let writes = written(&app);
    assert!(!writes.is_empty());
    assert!(
        writes.iter().all(|v| v.as_deref() == Some("v2")),
        "{backend:?}: only the newer version is pushed: {writes:?}"
    );
    app.teardown().await;
}
