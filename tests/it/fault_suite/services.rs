//! Faults of the service itself and of Ometria: the ingress killed and
//! restarted on its address, the worker killed while a push is between
//! Ometria and the ack, and Ometria down then rate limiting.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use so_queue::{Broker, Publisher};
use so_testkit::{Backend, OwnRuntime, eventually};
use tokio_util::sync::CancellationToken;

use super::OUTAGE;
use super::harness::{Fault, app_on, backends, load_with_fault, measure};

/// An ingress on a runtime of its own (killed like a process), on `addr`.
async fn ingress_process(config: Arc<so_platform::Config>, addr: SocketAddr) -> OwnRuntime {
    OwnRuntime::spawn(move |ready, stop| async move {
        let broker = Broker::start(config.amqp.clone(), CancellationToken::new());
        broker
            .wait_connected(Duration::from_secs(20))
            .await
            .expect("ingress connects");
        // The killed predecessor's port frees up at once (SO_REUSEADDR).
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("ingress binds");
        let app = so_ingress::Application::with_listener(config, Publisher::new(broker), listener);
        ready.ready();
        let _served = app.run_until_stopped(stop).await;
    })
    .await
}

#[tokio::test]
async fn fault_ingress_killed_and_restarted() {
    for backend in backends(Backend::Postgres) {
        let app = app_on(backend, None, false).await;
        let addr: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let url = format!("http://{addr}/webhooks/shopify");
        let first = ingress_process(app.config.clone(), addr).await;
        let config = app.config.clone();
        let second = tokio::sync::Mutex::new(None);
        let sent = load_with_fault(&app, &url, 60_000, || async {
            first.kill().await;
            // Down for a moment, then a new process on the same address.
            tokio::time::sleep(OUTAGE).await;
            *second.lock().await = Some(ingress_process(config, addr).await);
        })
        .await;
        let report = measure(&app, "ingress killed", backend, Fault::Ingress, &sent).await;
        report.print();
        if let Some(ingress) = second.lock().await.take() {
            ingress.kill().await;
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

/// A worker on a runtime of its own (killed like a process: no drain, no acks).
async fn worker_process(config: Arc<so_platform::Config>, db_url: String) -> OwnRuntime {
    OwnRuntime::spawn(move |ready, stop| async move {
        let store = so_store::Store::connect(&db_url, 4).await.expect("store");
        let broker = Broker::start(config.amqp.clone(), CancellationToken::new());
        broker
            .wait_connected(Duration::from_secs(20))
            .await
            .expect("worker connects");
        let worker = so_worker::Worker::build(config, broker, store).expect("worker builds");
        ready.ready();
        worker.run_until_stopped(stop).await;
    })
    .await
}

#[tokio::test]
async fn fault_worker_killed_between_push_and_ack() {
    for backend in backends(Backend::Postgres) {
        let mut app = app_on(backend, None, false).await;
        // This case's worker runs where the test can kill it while the load runs.
        app.stop_worker().await;
        let db_url = app.database.as_ref().expect("database").url.clone();
        let first = worker_process(app.config.clone(), db_url.clone()).await;
        let config = app.config.clone();
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
            first.kill().await;
            *at_kill.lock().unwrap() = Some(held);
            fake.hold_responses(false);
            *second.lock().await = Some(worker_process(config, db_url).await);
        })
        .await;
        let mut report = measure(&app, "worker killed", backend, Fault::Worker, &sent).await;
        report.in_flight_at_kill = *at_kill.lock().unwrap();
        report.print();
        if let Some(w) = second.lock().await.take() {
            w.kill().await;
        }
        app.teardown().await;
        report.assert_sound();
    }
}
