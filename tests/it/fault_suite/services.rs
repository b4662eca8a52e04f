//! Faults of the service itself and of Ometria: the real `shopify-ometria`
//! ingress killed with SIGKILL and a new one started on its address, the
//! real worker killed with SIGKILL while a push is between Ometria and the
//! ack, and Ometria down then rate limiting.

use std::sync::Mutex;
use std::time::Duration;

use so_testkit::{Backend, ServiceProcess, TestApp, eventually, service_binary};

use super::OUTAGE;
use super::harness::{Fault, app_on, backends, load_with_fault, measure};

/// `shopify-ometria <subcommand>` as a child process with the test app's
/// configuration, its ops listener on a port of its own, and `extra`.
pub(super) async fn child(
    app: &TestApp,
    subcommand: &str,
    extra: &[(&str, String)],
) -> ServiceProcess {
    let mut env: Vec<(&str, String)> = app
        .env
        .iter()
        .filter(|(k, _)| k != "SO_INGRESS__LISTEN" && k != "SO_OPS__LISTEN")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    env.extend(extra.iter().cloned());
    let binary = service_binary();
    let process = ServiceProcess::spawn(&binary.display().to_string(), subcommand, &env);
    process.wait_ready(Duration::from_secs(60)).await;
    process
}

/// SIGKILL, and the exit reaped.
pub(super) async fn kill(mut process: ServiceProcess) {
    process.signal("KILL").await;
    let _exited = process.wait(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn fault_ingress_killed_and_restarted() {
    for backend in backends(Backend::Postgres) {
        let app = app_on(backend, None, false).await;
        let port = so_testkit::stable_port();
        let listen = [("SO_INGRESS__LISTEN", format!("127.0.0.1:{port}"))];
        let url = format!("http://127.0.0.1:{port}/webhooks/shopify");
        let first = Mutex::new(Some(child(&app, "ingress", &listen).await));
        let second = tokio::sync::Mutex::new(None);
        let sent = load_with_fault(&app, &url, 60_000, || async {
            let process = first.lock().unwrap().take().expect("the first ingress");
            kill(process).await;
            // Down for a moment, then a new process on the same address.
            tokio::time::sleep(OUTAGE).await;
            *second.lock().await = Some(child(&app, "ingress", &listen).await);
        })
        .await;
        let report = measure(&app, "ingress killed", backend, Fault::Ingress, &sent).await;
        report.print();
        let first = first.lock().unwrap().take();
        let second = second.lock().await.take();
        for process in [first, second].into_iter().flatten() {
            kill(process).await;
        }
        app.teardown().await;
        report.assert_sound();
    }
}

#[tokio::test]
async fn fault_ometria_down_then_a_429_storm() {
    for backend in backends(Backend::Sqlite) {
        let app = app_on(backend, None, false).await;
        let fake = app.ometria();
        let url = app.webhook_url();
        let sent = load_with_fault(&app, &url, 70_000, || async {
            fake.set_down(true);
            tokio::time::sleep(OUTAGE).await;
            fake.set_down(false);
            fake.rate_limit_next(40);
        })
        .await;
        let report = measure(&app, "Ometria down, 429s", backend, Fault::Ometria, &sent).await;
        report.print();
        app.teardown().await;
        report.assert_sound();
    }
}

#[tokio::test]
async fn fault_worker_killed_between_push_and_ack() {
    for backend in backends(Backend::Postgres) {
        let mut app = app_on(backend, None, false).await;
        // This case's workers are child processes the test can SIGKILL.
        app.stop_worker().await;
        let first = Mutex::new(Some(child(&app, "worker", &[]).await));
        let second = tokio::sync::Mutex::new(None);
        let at_kill = Mutex::new(None);
        let url = app.webhook_url();
        let sent = load_with_fault(&app, &url, 80_000, || async {
            // Answers are held once the pushes took effect, so the kill
            // lands between Ometria's write and the ack for certain.
            let fake = app.ometria();
            fake.hold_responses(true);
            let held = eventually(Duration::from_secs(30), || async {
                let now = fake.pushes_in_flight();
                if now.pushes > 0 {
                    Ok(now)
                } else {
                    Err("no push in flight".to_owned())
                }
            })
            .await;
            let process = first.lock().unwrap().take().expect("the first worker");
            kill(process).await;
            *at_kill.lock().unwrap() = Some(held);
            fake.hold_responses(false);
            *second.lock().await = Some(child(&app, "worker", &[]).await);
        })
        .await;
        let mut report = measure(&app, "worker killed", backend, Fault::Worker, &sent).await;
        report.in_flight_at_kill = *at_kill.lock().unwrap();
        report.print();
        if let Some(p) = second.lock().await.take() {
            kill(p).await;
        }
        app.teardown().await;
        report.assert_sound();
    }
}
