//! Several broker addresses (`amqp.urls`): the supervised connection tries
//! them in turn, against the machine's broker (isolated by a unique prefix).

use std::net::SocketAddr;
use std::time::Duration;

use so_queue::{AmqpSettings, Broker};
use so_testkit::broker::{BrokerProbe, amqp_url, unique_prefix};
use so_testkit::proxy::TcpProxy;
use tokio_util::sync::CancellationToken;

fn settings(urls: Vec<String>) -> AmqpSettings {
    AmqpSettings {
        urls: urls.into_iter().map(Into::into).collect(),
        prefix: unique_prefix(),
        partitions: 1,
        reconnect_max_ms: 500,
        ..AmqpSettings::default()
    }
}

fn broker_addr(url: &str) -> SocketAddr {
    let host = url.split('@').nth(1).and_then(|r| r.split('/').next());
    host.and_then(|h| h.parse().ok())
        .expect("the test broker URL names 127.0.0.1:<port>")
}

/// A URL to the same broker through `addr` instead.
fn via(url: &str, addr: SocketAddr) -> String {
    url.replacen(&broker_addr(url).to_string(), &addr.to_string(), 1)
}

async fn cleanup(broker: &Broker) {
    let probe = BrokerProbe::connect().await.expect("probe connects");
    probe
        .delete_topology(broker.names())
        .await
        .expect("topology deleted");
    probe.close().await;
}

#[tokio::test]
async fn a_refused_first_address_fails_over_to_the_second() {
    let url = amqp_url();
    let closed = SocketAddr::from(([127, 0, 0, 1], so_testkit::free_port()));
    let stop = CancellationToken::new();
    let broker = Broker::start(settings(vec![via(&url, closed), url.clone()]), stop.clone());

    let link = broker
        .wait_connected(Duration::from_secs(10))
        .await
        .expect("connects through the second address");

    assert_eq!(link.address(), broker_addr(&url).to_string());
    cleanup(&broker).await;
    stop.cancel();
}

#[tokio::test]
async fn a_lost_link_reconnects_to_the_next_address_first() {
    let url = amqp_url();
    let proxy = TcpProxy::start(broker_addr(&url)).await.expect("proxy");
    let stop = CancellationToken::new();
    let broker = Broker::start(
        settings(vec![via(&url, proxy.addr()), url.clone()]),
        stop.clone(),
    );
    let first = broker
        .wait_connected(Duration::from_secs(10))
        .await
        .expect("connects through the first address");
    assert_eq!(first.address(), proxy.addr().to_string());

    // The first "node" goes away and stays away.
    proxy.refuse(true);
    proxy.cut_all();
    let mut state = broker.subscribe();
    let moved = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(link) = broker.link()
                && link.address() != proxy.addr().to_string()
            {
                return link;
            }
            state.changed().await.expect("the supervisor runs");
        }
    })
    .await
    .expect("reconnects within 10 s");

    assert_eq!(moved.address(), broker_addr(&url).to_string());
    cleanup(&broker).await;
    stop.cancel();
}
