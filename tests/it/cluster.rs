//! A three-node RabbitMQ cluster loses, under load, the node that leads the
//! work queues (docs/scaling.md, "RabbitMQ: a three-node cluster").
//!
//! One ingress and two workers (each on a runtime of its own, with its own
//! connection) are configured with the three nodes' addresses in
//! `amqp.urls`; a fake Ometria receives the records. Senders behave like
//! Shopify: each webhook (a customer of its own) is sent until it gets a
//! 200. The node leading the work queues is killed with SIGKILL; the
//! figures come from the sender's set of acknowledged webhooks against what
//! the fake received, never from the service's own report. Then the node is
//! started again and must rejoin.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use so_domain::ometria::RecordType;
use so_platform::Config;
use so_queue::{Broker, Publisher};
use so_testkit::broker::unique_prefix;
use so_testkit::cluster::Cluster;
use so_testkit::database::TestDatabase;
use so_testkit::{Backend, FakeConfig, FakeOmetria, OwnRuntime, Webhook};
use tokio_util::sync::CancellationToken;

use crate::payloads;

const SECRET: &str = "test-secret";
/// Concurrent senders, each pausing between webhooks: about 100 webhooks/s.
const SENDERS: usize = 3;
const PAUSE: Duration = Duration::from_millis(30);
const FIRST_ID: u64 = 900_000;
/// How long the load goes on after the kill.
const AFTER_KILL: Duration = Duration::from_secs(15);
/// "At most briefly": the longest the ingress may refuse after the kill.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// What the senders saw.
#[derive(Default)]
struct Sent {
    /// (when the answer came, status; 0 = no answer).
    answers: Vec<(Instant, u16)>,
    /// Customer ids whose webhook got a 200.
    acknowledged: BTreeSet<u64>,
}

struct Load {
    next_id: AtomicU64,
    stop: AtomicBool,
    sent: Mutex<Sent>,
    client: reqwest::Client,
    url: String,
}

fn webhook(id: u64) -> Webhook {
    let body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    Webhook::new("customers/create", serde_json::to_vec(&body).unwrap())
}

async fn send(load: &Load, hook: &Webhook) -> u16 {
    let mut req = load.client.post(&load.url).body(hook.body.clone());
    for (k, v) in hook.headers(SECRET) {
        req = req.header(k, v);
    }
    match tokio::time::timeout(Duration::from_secs(10), req.send()).await {
        Ok(Ok(res)) => res.status().as_u16(),
        _ => 0,
    }
}

/// Sends new webhooks until the load stops, each again (same webhook id)
/// until it gets a 200, as Shopify does (compressed).
async fn sender(load: Arc<Load>) {
    while !load.stop.load(Ordering::Relaxed) {
        let id = load.next_id.fetch_add(1, Ordering::Relaxed);
        let hook = webhook(id);
        loop {
            let status = send(&load, &hook).await;
            {
                let mut sent = load.sent.lock().unwrap();
                sent.answers.push((Instant::now(), status));
                if status == 200 {
                    sent.acknowledged.insert(id);
                }
            }
            if status == 200 || load.stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// The first time a contact sent at or after `mark` reached the fake,
/// polled until `stop`.
async fn first_delivery_from(
    fake: &FakeOmetria,
    load: &Load,
    mark: u64,
    stop: &AtomicBool,
) -> Option<Instant> {
    while !stop.load(Ordering::Relaxed) {
        let next = load.next_id.load(Ordering::Relaxed);
        if (mark..next).any(|id| fake.record(RecordType::Contact, &id.to_string()).is_some()) {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn config(cluster: &Cluster, fake: &FakeOmetria, db: &TestDatabase) -> Arc<Config> {
    let env = [
        ("SO_AMQP__URLS", cluster.amqp_urls().join(",")),
        ("SO_AMQP__PREFIX", unique_prefix()),
        ("SO_AMQP__PARTITIONS", "4".into()),
        ("SO_AMQP__RETRY_TIERS_SECS", "[1, 5]".into()),
        ("SO_AMQP__RECONNECT_MAX_MS", "500".into()),
        ("SO_AMQP__HEARTBEAT_SECS", "2".into()),
        ("SO_AMQP__CONFIRM_TIMEOUT_MS", "1000".into()),
        ("SO_AMQP__CONNECT_TIMEOUT_MS", "2000".into()),
        ("SO_SHOPIFY__WEBHOOK_SECRETS", SECRET.into()),
        ("SO_OMETRIA__API_URL", fake.url()),
        ("SO_OMETRIA__API_KEY", fake.api_key().to_owned()),
        ("SO_OMETRIA__RETRY__INITIAL_INTERVAL_MS", "20".into()),
        ("SO_OMETRIA__RETRY__MAX_INTERVAL_MS", "200".into()),
        ("SO_OMETRIA__RETRY__MAX_ELAPSED_MS", "1000".into()),
        ("SO_DATABASE__URL", db.url.clone()),
        ("SO_DATABASE__EMAIL_KEY", so_testkit::TEST_EMAIL_KEY.into()),
        ("SO_WORKER__BATCH_WINDOW_MS", "30".into()),
        ("SO_WORKER__LEASE_SECS", "3".into()),
    ];
    Arc::new(Config::load(None, env).expect("the cluster configuration is valid"))
}

/// An ingress on a runtime of its own, listening on `listener`.
async fn ingress(config: Arc<Config>, listener: std::net::TcpListener) -> OwnRuntime {
    OwnRuntime::spawn(move |ready, stop| async move {
        let broker = Broker::start(config.amqp.clone(), CancellationToken::new());
        broker
            .wait_connected(Duration::from_secs(30))
            .await
            .expect("the ingress connects");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let app = so_ingress::Application::with_listener(config, Publisher::new(broker), listener);
        ready.ready();
        let _served = app.run_until_stopped(stop).await;
    })
    .await
}

/// A worker on a runtime of its own, with its own connection.
async fn worker(config: Arc<Config>, db_url: String) -> OwnRuntime {
    OwnRuntime::spawn(move |ready, stop| async move {
        let store = so_store::Store::connect(&db_url, 4).await.expect("store");
        let broker = Broker::start(config.amqp.clone(), CancellationToken::new());
        broker
            .wait_connected(Duration::from_secs(30))
            .await
            .expect("the worker connects");
        let worker = so_worker::Worker::build(config, broker, store).expect("worker builds");
        ready.ready();
        worker.run_until_stopped(stop).await;
    })
    .await
}

/// The node leading most work queues of `prefix`, as node `via` reports it.
async fn work_leader(
    cluster: &Cluster,
    via: usize,
    prefix: &str,
) -> (usize, BTreeMap<String, String>) {
    let leaders = cluster
        .queue_leaders(via, &format!("{prefix}.work."))
        .await
        .expect("list_queues name leader");
    let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
    for node in leaders.values() {
        if let Some(i) = cluster.index_of(node) {
            *votes.entry(i).or_default() += 1;
        }
    }
    let leader = votes.iter().max_by_key(|(_, n)| **n).map(|(i, _)| *i);
    (leader.expect("the work queues have leaders"), leaders)
}

/// Polls `probe` until it returns `Some` or `within` passes; never fails.
async fn poll<T, F, Fut>(within: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The ingress's answers after the kill, relative to it.
#[derive(Debug)]
struct Answers {
    refused: usize,
    accepted: usize,
    /// The first 200.
    first_ok: Option<Duration>,
    /// The last refusal (zero without one).
    last_refusal: Duration,
    /// Refusals per (second after the kill, status).
    refusals: BTreeMap<(u64, u16), usize>,
}

impl Answers {
    fn after(sent: &Sent, killed_at: Instant) -> Answers {
        let after: Vec<(Duration, u16)> = sent
            .answers
            .iter()
            .filter(|(t, _)| *t >= killed_at)
            .map(|(t, s)| (*t - killed_at, *s))
            .collect();
        let mut refusals = BTreeMap::new();
        for (t, s) in after.iter().filter(|(_, s)| *s != 200) {
            *refusals.entry((t.as_secs(), *s)).or_default() += 1;
        }
        Answers {
            refused: after.iter().filter(|(_, s)| *s != 200).count(),
            accepted: after.iter().filter(|(_, s)| *s == 200).count(),
            first_ok: after.iter().find(|(_, s)| *s == 200).map(|(t, _)| *t),
            last_refusal: after
                .iter()
                .rev()
                .find(|(_, s)| *s != 200)
                .map_or(Duration::ZERO, |(t, _)| *t),
            refusals,
        }
    }
}

/// The acknowledged webhooks against what the fake received.
#[derive(Debug)]
struct Accounting {
    acknowledged: usize,
    delivered: usize,
    doubles_written: usize,
    lost: usize,
}

impl Accounting {
    /// Counted after a bounded wait that does not itself require success.
    async fn of(fake: &FakeOmetria, acknowledged: &BTreeSet<u64>) -> Accounting {
        let delivered = || {
            acknowledged
                .iter()
                .filter(|id| fake.record(RecordType::Contact, &id.to_string()).is_some())
                .count()
        };
        let _settled = poll(Duration::from_secs(60), || async {
            (delivered() == acknowledged.len()).then_some(())
        })
        .await;
        let arrived = delivered();
        Accounting {
            acknowledged: acknowledged.len(),
            delivered: arrived,
            doubles_written: acknowledged
                .iter()
                .filter(|id| fake.write_count(RecordType::Contact, &id.to_string()) > 1)
                .count(),
            lost: acknowledged.len() - arrived,
        }
    }
}

/// Starts the killed node again; how long until `survivor` sees it running.
async fn rejoin(cluster: &Cluster, node: usize, survivor: usize) -> Option<Duration> {
    let restarted_at = Instant::now();
    cluster
        .node(node)
        .restart()
        .await
        .expect("the node starts again");
    let name = cluster.node(node).node().to_owned();
    poll(Duration::from_secs(60), || async {
        let running = cluster.running_nodes(survivor).await.ok()?;
        running
            .contains(&name)
            .then_some(Instant::now() - restarted_at)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_loses_the_node_leading_the_work_queues_under_load() {
    let started = Instant::now();
    let cluster = Cluster::start(3).await.expect("a three-node cluster");
    let fake = FakeOmetria::start(FakeConfig::unlimited()).await;
    let db = TestDatabase::create(Backend::Postgres).await;
    let config = config(&cluster, &fake, &db);
    let prefix = config.amqp.prefix.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/webhooks/shopify", listener.local_addr().unwrap());
    let ingress = ingress(config.clone(), listener).await;
    let workers = [
        worker(config.clone(), db.url.clone()).await,
        worker(config.clone(), db.url.clone()).await,
    ];
    let load = Arc::new(Load {
        next_id: AtomicU64::new(FIRST_ID),
        stop: AtomicBool::new(false),
        sent: Mutex::new(Sent::default()),
        client: reqwest::Client::new(),
        url,
    });
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| tokio::spawn(sender(load.clone())))
        .collect();

    // Deliveries flow before the fault.
    let flowing = poll(Duration::from_secs(60), || async {
        (fake.count(RecordType::Contact) >= 100).then_some(())
    })
    .await;
    assert!(flowing.is_some(), "deliveries flow through the cluster");
    let (leader, leaders) = work_leader(&cluster, 0, &prefix).await;
    let before = cluster
        .connections_per_node(0)
        .await
        .expect("list_connections");
    let survivor = (leader + 1) % 3;

    let killed_at = Instant::now();
    let mark = load.next_id.load(Ordering::Relaxed);
    cluster
        .node(leader)
        .kill()
        .await
        .expect("SIGKILL the leader");
    let monitor_stop = AtomicBool::new(false);
    let (resumed_at, ()) = tokio::join!(
        first_delivery_from(&fake, &load, mark, &monitor_stop),
        async {
            tokio::time::sleep(AFTER_KILL).await;
            monitor_stop.store(true, Ordering::Relaxed);
        }
    );
    load.stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.await.expect("sender");
    }

    let sent = std::mem::take(&mut *load.sent.lock().unwrap());
    let answers = Answers::after(&sent, killed_at);
    let resumed = resumed_at.map(|t| t - killed_at);

    // The work queues have new leaders; the services are connected to the
    // surviving nodes.
    let moved = poll(Duration::from_secs(30), || async {
        let (now, _) = work_leader(&cluster, survivor, &prefix).await;
        (now != leader).then_some(now)
    })
    .await;
    let after_conns = cluster
        .connections_per_node(survivor)
        .await
        .expect("list_connections");

    let count = Accounting::of(&fake, &sent.acknowledged).await;

    let rejoined = rejoin(&cluster, leader, survivor).await;

    let led = leaders
        .values()
        .filter(|n| cluster.index_of(n) == Some(leader))
        .count();
    println!(
        "cluster case: killed node {leader} (led {led} of {} work queues: {leaders:?}); \
         connections per node before {before:?}, after {after_conns:?}; {} answers; \
         after the kill: refused {}, accepted {}, first 200 {:?}, last refusal {:?}, \
         refusals per (second, status) {:?}; deliveries resumed {resumed:?} after the kill; \
         new leader {moved:?}; acknowledged {}, delivered {}, doubles written {}, lost {}; \
         rejoined {rejoined:?} after the restart; whole case {:?}",
        leaders.len(),
        sent.answers.len(),
        answers.refused,
        answers.accepted,
        answers.first_ok,
        answers.last_refusal,
        answers.refusals,
        count.acknowledged,
        count.delivered,
        count.doubles_written,
        count.lost,
        started.elapsed(),
    );

    for w in workers {
        w.stop().await;
    }
    ingress.stop().await;
    drop(cluster);
    db.cleanup().await;

    assert_eq!(count.lost, 0, "every acknowledged webhook reached Ometria");
    let pause = answers
        .first_ok
        .expect("the ingress answered 200 again after the kill");
    assert!(pause <= MAX_PAUSE, "the ingress refused for {pause:?}");
    assert!(
        answers.last_refusal <= MAX_PAUSE,
        "the ingress still refused {:?} after the kill",
        answers.last_refusal
    );
    assert!(
        answers.accepted >= 100,
        "only {} webhooks accepted after the kill",
        answers.accepted
    );
    let resumed = resumed.expect("deliveries resumed after the kill");
    assert!(
        resumed <= 2 * MAX_PAUSE,
        "deliveries resumed after {resumed:?}"
    );
    assert!(
        moved.is_some(),
        "the work queues elected leaders on the survivors"
    );
    assert!(
        !after_conns.contains_key(&leader) && after_conns.values().sum::<usize>() >= 3,
        "the ingress and both workers are connected to surviving nodes: {after_conns:?}"
    );
    assert!(rejoined.is_some(), "the killed node rejoined the cluster");
}
