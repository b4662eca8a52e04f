//! Broker faults: stop_app/start_app, SIGKILL of the VM, every connection
//! closed, a disk alarm, a blackholed link.

use futures::future::BoxFuture;
use so_testkit::{Backend, PrivateBroker};

use super::OUTAGE;
use super::harness::{Fault, app_on, backends, load_with_fault, measure};

/// Runs `fault` against a private broker, on each backend of the case.
async fn private_broker_case<F>(case: &str, short: Backend, base: u64, fault: F)
where
    F: for<'a> Fn(&'a PrivateBroker) -> BoxFuture<'a, ()>,
{
    let broker = PrivateBroker::start().await.expect("private broker");
    for backend in backends(short) {
        let app = app_on(backend, Some(broker.amqp_url()), false).await;
        let url = app.webhook_url();
        let sent = load_with_fault(&app, &url, base, || fault(&broker)).await;
        let report = measure(&app, case, backend, Fault::Broker, &sent).await;
        report.print();
        app.teardown().await;
        report.assert_sound();
    }
}

#[tokio::test]
async fn fault_broker_restarted_with_stop_app_and_start_app() {
    private_broker_case("stop_app/start_app", Backend::Sqlite, 10_000, |broker| {
        Box::pin(async move {
            broker.stop_app().await.expect("stop_app");
            tokio::time::sleep(OUTAGE).await;
            broker.start_app().await.expect("start_app");
        })
    })
    .await;
}

#[tokio::test]
async fn fault_broker_process_killed_and_restarted() {
    private_broker_case("kill -9 beam.smp", Backend::Postgres, 20_000, |broker| {
        Box::pin(async move {
            broker
                .kill_and_restart()
                .await
                .expect("kill -9 and restart");
        })
    })
    .await;
}

#[tokio::test]
async fn fault_all_broker_connections_closed() {
    private_broker_case("close_all_connections", Backend::Sqlite, 30_000, |broker| {
        Box::pin(async move {
            broker
                .close_all_connections()
                .await
                .expect("close_all_connections");
        })
    })
    .await;
}

#[tokio::test]
async fn fault_broker_disk_alarm() {
    private_broker_case("disk alarm", Backend::Postgres, 40_000, |broker| {
        Box::pin(async move {
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
    })
    .await;
}

#[tokio::test]
async fn fault_broker_link_blackholed() {
    for backend in backends(Backend::Sqlite) {
        let app = app_on(backend, None, true).await;
        let proxy = app.proxy.as_ref().expect("proxy");
        let url = app.webhook_url();
        let sent = load_with_fault(&app, &url, 50_000, || async {
            // Longer than two heartbeats (2 s in tests): the peers give the
            // link up and reconnect.
            proxy.blackhole(true);
            tokio::time::sleep(2 * OUTAGE).await;
            proxy.blackhole(false);
        })
        .await;
        let report = measure(&app, "blackhole", backend, Fault::Broker, &sent).await;
        report.print();
        app.teardown().await;
        report.assert_sound();
    }
}
