//! The store's PostgreSQL server crashed and restarted under load, on a
//! server of the test's own (`PrivatePostgres`): the machine's shared
//! server is never restarted. The worker is the real binary, so its
//! readiness (which checks the store) can be watched through the outage.

use std::time::{Duration, Instant};

use so_testkit::{Backend, PrivatePostgres, ServiceProcess, StopMode, TestAppOptions};

use super::harness::{Fault, app_with, load_with_fault, measure};
use super::services::{child, kill};

/// How long the server stays down at most, waiting for the worker's
/// readiness to show it (its store ping every 2 s waits out the pool's
/// connection attempt first: about 11 s here).
const DB_OUTAGE: Duration = Duration::from_secs(30);

/// Polls `/readyz` until it answers `ready` or `within` passes; how long
/// that took, if it did.
async fn readiness_becomes(
    worker: &ServiceProcess,
    ready: bool,
    within: Duration,
) -> Option<Duration> {
    let client = reqwest::Client::new();
    let url = format!("{}/readyz", worker.ops_url);
    let started = Instant::now();
    while started.elapsed() < within {
        let answer = client
            .get(&url)
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        let is_ready = matches!(answer, Ok(ref r) if r.status() == 200);
        if is_ready == ready {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn fault_postgres_crashed_and_restarted() {
    let pg = PrivatePostgres::start().await.expect("private PostgreSQL");
    let mut app = app_with(TestAppOptions {
        backend: Backend::Postgres,
        postgres_admin_url: Some(pg.admin_url()),
        ..TestAppOptions::default()
    })
    .await;
    app.stop_worker().await;
    let worker = child(&app, "worker", &[]).await;
    let readiness = std::sync::Mutex::new((None, None));
    let url = app.webhook_url();
    let sent = load_with_fault(&app, &url, 90_000, || async {
        // Like a crash: no clean shutdown, recovery replays the WAL.
        pg.stop_server(StopMode::Immediate)
            .await
            .expect("stop PostgreSQL");
        let dropped = readiness_becomes(&worker, false, DB_OUTAGE).await;
        pg.start_server().await.expect("start PostgreSQL again");
        let back = readiness_becomes(&worker, true, Duration::from_secs(30)).await;
        *readiness.lock().unwrap() = (dropped, back);
    })
    .await;
    let report = measure(
        &app,
        "PostgreSQL crash",
        Backend::Postgres,
        Fault::Database,
        &sent,
    )
    .await;
    report.print();
    let (dropped, back) = *readiness.lock().unwrap();
    println!(
        "PostgreSQL crash: worker not ready {dropped:?} after the crash, ready again {back:?} after the restart"
    );
    kill(worker).await;
    app.teardown().await;
    report.assert_sound();
    assert!(
        dropped.is_some(),
        "the worker's readiness did not show the store away"
    );
    assert!(back.is_some(), "the worker's readiness did not come back");
}
