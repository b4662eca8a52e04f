//! The fault suite (short variant): a steady signed webhook load through
//! the real ingress and worker into the fake Ometria while the broker is
//! restarted, killed, has its connections closed, raises a disk alarm, or
//! is blackholed. Senders behave like Shopify: anything but a 200 is sent
//! again (same webhook id) until it is acknowledged. Afterwards every
//! acknowledged webhook's customer is in Ometria once, in its latest state,
//! nothing is left in the work or retry queues and nothing was
//! dead-lettered. Each case prints its figures.
//!
//! Cases that stop, kill or alarm a broker run their own private RabbitMQ
//! node (`PrivateBroker`); the blackhole case goes through the in-test TCP
//! proxy in front of the shared broker.

use std::time::Duration;

use so_domain::ometria::RecordType;
use std::sync::Arc;

use so_queue::{Broker, Publisher};
use so_testkit::{OwnRuntime, PrivateBroker, TestApp, TestAppOptions, Webhook, eventually};
use tokio_util::sync::CancellationToken;

use crate::payloads;

/// Customers per case; each gets a create and a later update. The long
/// variant: `SO_FAULT_CUSTOMERS=2000 cargo nextest run -p so-e2e fault_suite`.
fn customers() -> u64 {
    std::env::var("SO_FAULT_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

#[derive(Debug, Default)]
struct Figures {
    sent: u64,
    acknowledged: u64,
    refused_then_resent: u64,
}

fn hooks(base: u64, i: u64) -> [Webhook; 2] {
    let id = base + i;
    let create = payloads::customer(
        id,
        &format!("v1-{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    let update = payloads::customer(
        id,
        &format!("v2-{id}@example.com"),
        "2026-11-20T11:00:00+00:00",
    );
    [
        Webhook::new("customers/create", serde_json::to_vec(&create).unwrap()),
        Webhook::new("customers/update", serde_json::to_vec(&update).unwrap()),
    ]
}

/// Sends every webhook until it gets a 200, like Shopify's retries
/// (compressed: Shopify waits longer between attempts).
async fn drive_to(app: &TestApp, url: &str, base: u64) -> Figures {
    let mut f = Figures::default();
    for i in 0..customers() {
        for hook in hooks(base, i) {
            loop {
                f.sent += 1;
                let mut req = app.client.post(url).body(hook.body.clone());
                for (k, v) in hook.headers("test-secret") {
                    req = req.header(k, v);
                }
                let ok = matches!(
                    tokio::time::timeout(Duration::from_secs(10), req.send()).await,
                    Ok(Ok(res)) if res.status() == 200
                );
                if ok {
                    f.acknowledged += 1;
                    break;
                }
                f.refused_then_resent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        // About 100 webhooks per second.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f
}

async fn check(app: &TestApp, case: &str, base: u64, f: &Figures) {
    let fake = app.ometria();
    let latest = |id: u64| {
        fake.record(RecordType::Contact, &id.to_string())
            .and_then(|c| c["email"].as_str().map(str::to_owned))
    };
    eventually(Duration::from_secs(120), || async {
        let done = (0..customers())
            .filter(|i| {
                latest(base + i).as_deref() == Some(&format!("v2-{}@example.com", base + i))
            })
            .count();
        if done as u64 == customers() {
            Ok(())
        } else {
            Err(format!(
                "{done} of {} customers in their latest state",
                customers()
            ))
        }
    })
    .await;
    let delivered = (0..customers())
        .filter(|i| {
            fake.record(RecordType::Contact, &(base + i).to_string())
                .is_some()
        })
        .count() as u64;
    let contacts = fake.count(RecordType::Contact) as u64;
    let duplicates = app
        .counter("so_events_processed_total", &[("outcome", "duplicate")])
        .await as u64;
    let stale = app
        .counter("so_events_processed_total", &[("outcome", "stale")])
        .await as u64;
    let retried = app.counter("so_events_retried_total", &[]).await as u64;
    let acks_lost = app.counter("so_acks_lost_total", &[]).await as u64;
    let lost = customers() - delivered;
    println!(
        "fault case {case:<22} sent {:>4}  acknowledged {:>4}  resent after refusal {:>3}  \
         delivered {delivered:>4}  duplicates suppressed {duplicates:>3}  stale dropped {stale:>3}  retried {retried:>3}  acks lost {acks_lost:>3}  lost {lost}",
        f.sent, f.acknowledged, f.refused_then_resent
    );
    assert_eq!(lost, 0, "{case}: every acknowledged webhook arrives");
    assert_eq!(
        contacts,
        customers(),
        "{case}: one contact per customer, none doubled"
    );
    assert_eq!(f.acknowledged, 2 * customers());
    // Nothing stuck, nothing dead.
    eventually(Duration::from_secs(60), || async {
        let stats = so_queue::stats::queue_stats(&app.broker)
            .await
            .map_err(|e| e.to_string())?;
        let stuck: Vec<_> = stats
            .iter()
            .filter(|q| q.role != "parked" && q.messages > 0)
            .map(|q| format!("{}={}", q.queue, q.messages))
            .collect();
        if stuck.is_empty() {
            Ok(())
        } else {
            Err(format!("still queued: {stuck:?}"))
        }
    })
    .await;
    assert!(
        app.take_dead_letters().await.is_empty(),
        "{case}: no dead letters"
    );
}

async fn app_on(url: Option<String>, through_proxy: bool) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 4,
        amqp_url: url,
        through_proxy,
        env: vec![("SO_AMQP__CONFIRM_TIMEOUT_MS".into(), "1000".into())],
        ..TestAppOptions::default()
    })
    .await
}

/// Runs the load and, once a third of it is acknowledged, the fault.
async fn with_fault<F, Fut>(app: &TestApp, base: u64, fault: F) -> Figures
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    with_fault_to(app, &app.webhook_url(), base, fault).await
}

async fn with_fault_to<F, Fut>(app: &TestApp, url: &str, base: u64, fault: F) -> Figures
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let load = drive_to(app, url, base);
    let inject = async {
        let fake = app.ometria();
        eventually(Duration::from_secs(60), || async {
            let n = fake.count(RecordType::Contact) as u64;
            if n >= customers() / 3 {
                Ok(())
            } else {
                Err(format!("{n} contacts so far"))
            }
        })
        .await;
        fault().await;
    };
    let (figures, ()) = tokio::join!(load, inject);
    figures
}

/// How long each outage lasts (the fault itself, not a synchronisation).
const OUTAGE: Duration = Duration::from_secs(3);

#[tokio::test]
async fn fault_broker_restarted_with_stop_app_and_start_app() {
    let broker = PrivateBroker::start().await.expect("private broker");
    let app = app_on(Some(broker.amqp_url()), false).await;
    let f = with_fault(&app, 10_000, || async {
        broker.stop_app().await.expect("stop_app");
        tokio::time::sleep(OUTAGE).await;
        broker.start_app().await.expect("start_app");
    })
    .await;
    check(&app, "stop_app/start_app", 10_000, &f).await;
    app.teardown().await;
}

#[tokio::test]
async fn fault_broker_process_killed_and_restarted() {
    let broker = PrivateBroker::start().await.expect("private broker");
    let app = app_on(Some(broker.amqp_url()), false).await;
    let f = with_fault(&app, 20_000, || async {
        broker
            .kill_and_restart()
            .await
            .expect("kill -9 and restart");
    })
    .await;
    check(&app, "kill -9 beam.smp", 20_000, &f).await;
    app.teardown().await;
}

#[tokio::test]
async fn fault_all_broker_connections_closed() {
    let broker = PrivateBroker::start().await.expect("private broker");
    let app = app_on(Some(broker.amqp_url()), false).await;
    let f = with_fault(&app, 30_000, || async {
        broker
            .close_all_connections()
            .await
            .expect("close_all_connections");
    })
    .await;
    check(&app, "close_all_connections", 30_000, &f).await;
    app.teardown().await;
}

#[tokio::test]
async fn fault_broker_disk_alarm() {
    let broker = PrivateBroker::start().await.expect("private broker");
    let app = app_on(Some(broker.amqp_url()), false).await;
    let f = with_fault(&app, 40_000, || async {
        broker
            .set_disk_alarm(true)
            .await
            .expect("raise the disk alarm");
        tokio::time::sleep(OUTAGE).await;
        broker
            .set_disk_alarm(false)
            .await
            .expect("clear the disk alarm");
    })
    .await;
    check(&app, "disk alarm", 40_000, &f).await;
    app.teardown().await;
}

#[tokio::test]
async fn fault_broker_link_blackholed() {
    let app = app_on(None, true).await;
    let proxy = app.proxy.as_ref().expect("proxy");
    let f = with_fault(&app, 50_000, || async {
        // Longer than two heartbeats (2 s in tests): the peers give the
        // link up and reconnect.
        proxy.blackhole(true);
        tokio::time::sleep(2 * OUTAGE).await;
        proxy.blackhole(false);
    })
    .await;
    check(&app, "blackhole", 50_000, &f).await;
    app.teardown().await;
}

/// An ingress on a runtime of its own (killed like a process), on `addr`.
async fn ingress_process(
    config: Arc<so_platform::Config>,
    addr: std::net::SocketAddr,
) -> OwnRuntime {
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
    let app = app_on(None, false).await;
    let addr: std::net::SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{addr}/webhooks/shopify");
    let first = ingress_process(app.config.clone(), addr).await;
    let config = app.config.clone();
    let second = tokio::sync::Mutex::new(None);
    let f = with_fault_to(&app, &url, 60_000, || async {
        first.kill().await;
        // Down for a moment, then a new process on the same address.
        tokio::time::sleep(OUTAGE).await;
        *second.lock().await = Some(ingress_process(config, addr).await);
    })
    .await;
    check(&app, "ingress killed", 60_000, &f).await;
    if let Some(ingress) = second.lock().await.take() {
        ingress.kill().await;
    }
    app.teardown().await;
}

#[tokio::test]
async fn fault_ometria_down_then_a_429_storm() {
    let app = app_on(None, false).await;
    let fake = app.ometria();
    let f = with_fault(&app, 70_000, || async {
        fake.set_down(true);
        tokio::time::sleep(OUTAGE).await;
        fake.set_down(false);
        fake.rate_limit_next(40);
    })
    .await;
    check(&app, "Ometria down, 429s", 70_000, &f).await;
    app.teardown().await;
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
async fn fault_worker_killed_mid_batch() {
    let mut app = app_on(None, false).await;
    // This case's worker runs where the test can kill it while the load runs.
    app.stop_worker().await;
    let db_url = app.database.as_ref().expect("database").url.clone();
    let first = worker_process(app.config.clone(), db_url.clone()).await;
    let config = app.config.clone();
    let second = tokio::sync::Mutex::new(None);
    let f = with_fault(&app, 80_000, || async {
        // Slow pushes keep batches in flight, so the kill lands mid-batch.
        app.ometria()
            .delay_responses(Some(Duration::from_millis(300)));
        tokio::time::sleep(Duration::from_millis(400)).await;
        first.kill().await;
        app.ometria().delay_responses(None);
        *second.lock().await = Some(worker_process(config, db_url).await);
    })
    .await;
    check(&app, "worker killed", 80_000, &f).await;
    if let Some(w) = second.lock().await.take() {
        w.kill().await;
    }
    app.teardown().await;
}
