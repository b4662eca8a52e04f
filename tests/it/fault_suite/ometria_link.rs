//! Ometria faults at the socket level, through a TCP proxy in front of the
//! fake: connections closed as soon as they are accepted, then a link that
//! accepts and never answers (bytes held both ways), so the client's
//! request timeout fires. The events retry through the tiers and arrive.

use so_testkit::{Backend, TestAppOptions};

use super::OUTAGE;
use super::harness::{Fault, app_with, backends, load_with_fault, measure};

#[tokio::test]
async fn fault_ometria_link_closed_then_unanswered() {
    for backend in backends(Backend::Sqlite) {
        let app = app_with(TestAppOptions {
            backend,
            ometria_through_proxy: true,
            env: vec![("SO_OMETRIA__REQUEST_TIMEOUT_MS".into(), "1000".into())],
            ..TestAppOptions::default()
        })
        .await;
        let proxy = app.ometria_proxy.as_ref().expect("Ometria proxy");
        let url = app.webhook_url();
        let sent = load_with_fault(&app, &url, 100_000, || async {
            proxy.refuse(true);
            proxy.cut_all();
            tokio::time::sleep(OUTAGE).await;
            proxy.refuse(false);
            // Accepted, never answered: longer than the request timeout.
            proxy.blackhole(true);
            tokio::time::sleep(OUTAGE).await;
            proxy.blackhole(false);
            proxy.cut_all();
        })
        .await;
        let report = measure(&app, "Ometria link", backend, Fault::OmetriaLink, &sent).await;
        report.print();
        app.teardown().await;
        report.assert_sound();
    }
}
