//! Consumption against the machine's broker (isolated by a unique prefix).

use std::collections::BTreeSet;
use std::time::Duration;

use so_queue::{AmqpSettings, Broker, consume_partitions};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// On shutdown the worker's membership loop leaves, dropping the assignment,
/// at the same moment the consumer is told to stop. The consumer once took
/// the closed assignment for news and waited forever, so the process never
/// exited after SIGTERM.
#[tokio::test]
async fn shutdown_ends_consumption_after_the_assignment_owner_left() {
    let settings = AmqpSettings {
        url: so_testkit::broker::amqp_url().into(),
        prefix: so_testkit::broker::unique_prefix(),
        partitions: 2,
        ..AmqpSettings::default()
    };
    let names = so_queue::Names::new(&settings.prefix, 2, &settings.retry_tiers_secs);
    let stop = CancellationToken::new();
    let broker = Broker::start(settings, stop.clone());
    assert!(
        broker
            .wait_connected(Duration::from_secs(30))
            .await
            .is_some(),
        "the broker is reachable"
    );
    let (out, _processor) = mpsc::channel(8);
    let (assign, assigned) = watch::channel(BTreeSet::from([0, 1]));
    let (consuming_tx, mut consuming) = watch::channel(BTreeSet::new());
    let shutdown = CancellationToken::new();
    let drained = CancellationToken::new();
    let task = tokio::spawn(consume_partitions(
        broker,
        4,
        vec![out],
        assigned,
        consuming_tx,
        shutdown.clone(),
        drained.clone(),
    ));
    consuming
        .wait_for(|p| p.len() == 2)
        .await
        .expect("subscribes to both partitions");

    drop(assign);
    // Let the consumer see the closed assignment before the shutdown.
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    drained.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("consumption ends after shutdown")
        .expect("no panic");

    stop.cancel();
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }
}
