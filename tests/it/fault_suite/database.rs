//! The store's PostgreSQL server crashed and restarted under load, on a
//! server of the test's own (`PrivatePostgres`): the machine's shared
//! server is never restarted.

use so_testkit::{Backend, PrivatePostgres, StopMode, TestAppOptions};

use super::OUTAGE;
use super::harness::{Fault, app_with, load_with_fault, measure};

#[tokio::test]
async fn fault_postgres_crashed_and_restarted() {
    let pg = PrivatePostgres::start().await.expect("private PostgreSQL");
    let app = app_with(TestAppOptions {
        backend: Backend::Postgres,
        postgres_admin_url: Some(pg.admin_url()),
        ..TestAppOptions::default()
    })
    .await;
    let url = app.webhook_url();
    let sent = load_with_fault(&app, &url, 90_000, || async {
        // Like a crash: no clean shutdown, recovery replays the WAL.
        pg.stop_server(StopMode::Immediate)
            .await
            .expect("stop PostgreSQL");
        tokio::time::sleep(OUTAGE).await;
        pg.start_server().await.expect("start PostgreSQL again");
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
    app.teardown().await;
    report.assert_sound();
}
