//! `TestApp`: the real ingress and ops listener on random ports, isolated on
//! the shared broker by a unique prefix.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use so_platform::Config;
use so_platform::ops::{self, OpsServer};
use so_queue::{Broker, Names, Publisher};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::broker::{self, BrokerProbe, Message};
use crate::database::{Backend, TestDatabase};
use crate::topology_guard::TopologyGuard;
use so_fake_ometria::{FakeConfig, FakeOmetria};

use crate::own_runtime::OwnRuntime;
use crate::proxy::TcpProxy;
use crate::webhook::Webhook;

/// How to start a test app.
#[derive(Debug, Clone)]
pub struct TestAppOptions {
    /// `shopify.webhook_secrets`; the first one signs [`TestApp::send`].
    pub secrets: Vec<String>,
    pub partitions: u16,
    /// Connect to the broker through a [`TcpProxy`] the test controls.
    pub through_proxy: bool,
    /// Reach the fake Ometria through a [`TcpProxy`] the test controls
    /// (worker apps): connections closed on accept, or held unanswered.
    pub ometria_through_proxy: bool,
    /// Extra `SO_*` variables.
    pub env: Vec<(String, String)>,
    /// Contents of a TOML configuration file, if any.
    pub config_toml: Option<String>,
    /// Start a worker with a fake Ometria and a fresh store.
    pub worker: bool,
    pub backend: Backend,
    pub fake: FakeConfig,
    /// `ops.admin_token`: mounts the admin API on the ops listener (worker apps).
    pub admin_token: Option<String>,
    /// Another broker than the shared one (a [`crate::PrivateBroker`]).
    pub amqp_url: Option<String>,
    /// Another PostgreSQL server than the shared one (a
    /// [`crate::PrivatePostgres`]'s admin URL), for [`Backend::Postgres`].
    pub postgres_admin_url: Option<String>,
    /// Keep the letter index as the binary does (worker apps; on unless a
    /// test wants to see what happens without it).
    pub indexer: bool,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        TestAppOptions {
            secrets: vec!["test-secret".to_owned()],
            partitions: 2,
            through_proxy: false,
            ometria_through_proxy: false,
            env: Vec::new(),
            config_toml: None,
            worker: false,
            backend: Backend::Sqlite,
            fake: FakeConfig {
                drain: so_fake_ometria::Drain::Immediate,
                ..FakeConfig::unlimited()
            },
            admin_token: None,
            amqp_url: None,
            postgres_admin_url: None,
            indexer: true,
        }
    }
}

/// A running ingress for one test.
pub struct TestApp {
    pub address: String,
    pub ops_address: String,
    pub config: Arc<Config>,
    pub broker: Broker,
    pub proxy: Option<TcpProxy>,
    /// The proxy in front of the fake Ometria, if asked for.
    pub ometria_proxy: Option<TcpProxy>,
    pub client: reqwest::Client,
    pub ometria: Option<FakeOmetria>,
    pub database: Option<TestDatabase>,
    /// The `SO_*` variables the configuration was built from (no file),
    /// to start the real binary with the same configuration.
    pub env: Vec<(String, String)>,
    worker: Option<OwnRuntime>,
    extra_workers: Vec<OwnRuntime>,
    /// The broker's own URL (not through the proxy), for probes.
    direct_url: String,
    /// Deletes the test's queues if the test ends without `teardown`
    /// (a failed assertion), so they do not weigh on later runs.
    guard: TopologyGuard,
    secret: String,
    /// The console, when the admin API is on: its sends stop with [`TestApp::stop_console`].
    console: Option<so_console::Console>,
    shutdown: CancellationToken,
    broker_stop: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(opts: TestAppOptions) -> TestApp {
        let mut url = opts.amqp_url.clone().unwrap_or_else(broker::amqp_url);
        let direct_url = url.clone();
        let proxy = if opts.through_proxy {
            let upstream = broker_socket(&url);
            let proxy = TcpProxy::start(upstream).await.expect("proxy starts");
            url = url.replacen(&upstream.to_string(), &proxy.addr().to_string(), 1);
            Some(proxy)
        } else {
            None
        };
        let mut env: Vec<(String, String)> = vec![
            ("SO_AMQP__URL".into(), url),
            ("SO_AMQP__PREFIX".into(), broker::unique_prefix()),
            ("SO_AMQP__PARTITIONS".into(), opts.partitions.to_string()),
            ("SO_AMQP__RETRY_TIERS_SECS".into(), "[1, 5]".into()),
            ("SO_AMQP__RECONNECT_MAX_MS".into(), "500".into()),
            ("SO_AMQP__HEARTBEAT_SECS".into(), "2".into()),
            ("SO_INGRESS__LISTEN".into(), "127.0.0.1:0".into()),
            ("SO_OPS__LISTEN".into(), "127.0.0.1:0".into()),
            ("SO_SHOPIFY__WEBHOOK_SECRETS".into(), opts.secrets.join(",")),
        ];
        let ometria = if opts.worker {
            Some(FakeOmetria::start(opts.fake.clone()).await)
        } else {
            None
        };
        let database = if opts.worker {
            let admin = opts
                .postgres_admin_url
                .clone()
                .unwrap_or_else(crate::database::postgres_admin_url);
            Some(TestDatabase::create_on(opts.backend, &admin).await)
        } else {
            None
        };
        let ometria_proxy = match (&ometria, opts.ometria_through_proxy) {
            (Some(fake), true) => Some(
                TcpProxy::start(fake.addr())
                    .await
                    .expect("Ometria proxy starts"),
            ),
            _ => None,
        };
        if let (Some(fake), Some(db)) = (&ometria, &database) {
            let api_url = ometria_proxy
                .as_ref()
                .map_or_else(|| fake.url(), |p| format!("http://{}", p.addr()));
            env.extend([
                ("SO_OMETRIA__API_URL".to_owned(), api_url),
                ("SO_OMETRIA__API_KEY".to_owned(), fake.api_key().to_owned()),
                ("SO_DATABASE__URL".to_owned(), db.url.clone()),
                (
                    "SO_DATABASE__EMAIL_KEY".to_owned(),
                    crate::TEST_EMAIL_KEY.to_owned(),
                ),
                ("SO_WORKER__BATCH_WINDOW_MS".to_owned(), "30".to_owned()),
                (
                    "SO_OMETRIA__RETRY__INITIAL_INTERVAL_MS".to_owned(),
                    "20".to_owned(),
                ),
                (
                    "SO_OMETRIA__RETRY__MAX_INTERVAL_MS".to_owned(),
                    "200".to_owned(),
                ),
                (
                    "SO_OMETRIA__RETRY__MAX_ELAPSED_MS".to_owned(),
                    "1000".to_owned(),
                ),
                (
                    "SO_OMETRIA__RATE_LIMIT_PAUSE_MS".to_owned(),
                    "100".to_owned(),
                ),
            ]);
        }
        if let Some(token) = &opts.admin_token {
            env.push(("SO_OPS__ADMIN_TOKEN".to_owned(), token.clone()));
        }
        env.extend(opts.env.iter().cloned());
        let file = opts.config_toml.as_ref().map(|text| {
            let path = std::env::temp_dir().join(format!("so-test-{}.toml", uuid::Uuid::new_v4()));
            std::fs::write(&path, text).expect("writing test config");
            path
        });
        let config = Arc::new(
            Config::load(file.as_deref(), env.clone()).expect("test configuration is valid"),
        );
        if let Some(path) = file {
            let _removed = std::fs::remove_file(path);
        }

        let shutdown = CancellationToken::new();
        let broker_stop = CancellationToken::new();
        let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
        broker
            .wait_connected(Duration::from_secs(20))
            .await
            .expect("the test broker is reachable");

        // As the binary does: the admin API when a token is set.
        let mut console_handle = None;
        let admin = match (&config.ops.admin_token, &database) {
            (Some(token), Some(db)) => {
                let store = so_store::Store::connect(&db.url, 2)
                    .await
                    .expect("the admin API's store opens");
                let queue_ops = so_ops::QueueOps::new(broker.clone(), store);
                let shops = so_ops::ShopOps::new(queue_ops.clone(), config.clone());
                let console = so_console::Console::new(
                    queue_ops.clone(),
                    shops.clone(),
                    &config,
                    token.clone(),
                )
                .stopping_with(shutdown.clone());
                console_handle = Some(console.clone());
                so_ops::http_api::router(queue_ops, shops, token.clone())
                    .merge(so_console::router(console))
            }
            _ => axum::Router::new(),
        };
        // As the binary does: every process with a store keeps the index.
        if let (true, Some(db)) = (opts.indexer, &database) {
            let store = so_store::Store::connect(&db.url, 2)
                .await
                .expect("the indexer's store opens");
            let indexer = so_ops::index::Indexer::new(broker.clone(), store);
            tokio::spawn(indexer.run(shutdown.clone()));
        }
        let ops = OpsServer::bind(
            config.ops.listen,
            vec![ops::broker_check(broker.clone())],
            admin,
        )
        .await
        .expect("ops listener binds");
        tokio::spawn(ops::poll_queue_metrics(
            broker.clone(),
            Duration::from_millis(500),
            shutdown.clone(),
        ));
        let ops_address = format!("http://{}", ops.local_addr().expect("ops address"));
        tokio::spawn(ops.run_until_stopped(shutdown.clone()));

        let listener = TcpListener::bind(config.ingress.listen)
            .await
            .expect("ingress binds");
        // As the binary does: with a store, the served shops follow it live.
        let shops = match &database {
            Some(db) => {
                let store = so_store::Store::connect(&db.url, 2)
                    .await
                    .expect("the ingress's store opens");
                let shops = so_platform::shops_live::ShopsLive::new(config.clone(), Some(store));
                tokio::spawn(shops.clone().run(shutdown.clone()));
                shops
            }
            None => so_platform::shops_live::ShopsLive::new(config.clone(), None),
        };
        let app = so_ingress::Application::with_listener_and_shops(
            config.clone(),
            Publisher::new(broker.clone()),
            listener,
            shops,
        );
        let address = format!("http://{}", app.local_addr().expect("ingress address"));
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));

        let guard = TopologyGuard {
            url: direct_url.clone(),
            names: broker.names().clone(),
            armed: true,
        };
        let mut app = TestApp {
            address,
            ops_address,
            config,
            broker,
            proxy,
            ometria_proxy,
            ometria,
            database,
            env,
            worker: None,
            extra_workers: Vec::new(),
            guard,
            direct_url,
            client: reqwest::Client::new(),
            secret: opts.secrets.first().cloned().unwrap_or_default(),
            console: console_handle,
            shutdown,
            broker_stop,
            server,
        };
        if opts.worker {
            app.start_worker().await;
        }
        app
    }

    /// The fake Ometria (worker apps only).
    pub fn ometria(&self) -> &FakeOmetria {
        self.ometria
            .as_ref()
            .expect("this TestApp has a worker and a fake Ometria")
    }

    /// Starts a worker on its own broker connection, in its own runtime on
    /// its own thread, so that [`TestApp::kill_worker`] can end it the way
    /// SIGKILL ends a process: every task at once, nothing drained or acked.
    pub async fn start_worker(&mut self) {
        let w = self.spawn_worker().await;
        self.worker = Some(w);
    }

    /// Starts another worker process (its own connection and runtime) on the
    /// same store and broker, as a second replica would; returns its index.
    pub async fn start_extra_worker(&mut self) -> usize {
        let w = self.spawn_worker().await;
        self.extra_workers.push(w);
        self.extra_workers.len() - 1
    }

    /// Kills extra worker `i` like SIGKILL (see [`TestApp::kill_worker`]).
    pub async fn kill_extra_worker(&mut self, i: usize) {
        if i < self.extra_workers.len() {
            let w = self.extra_workers.remove(i);
            w.kill().await;
        }
    }

    /// Stops extra worker `i` gracefully.
    pub async fn stop_extra_worker(&mut self, i: usize) {
        if i < self.extra_workers.len() {
            let w = self.extra_workers.remove(i);
            w.stop().await;
        }
    }

    async fn spawn_worker(&self) -> OwnRuntime {
        let db_url = self
            .database
            .as_ref()
            .expect("worker apps have a database")
            .url
            .clone();
        let config = self.config.clone();
        OwnRuntime::spawn(move |ready, stop| async move {
            let store = so_store::Store::connect(&db_url, 4)
                .await
                .expect("test store opens");
            let broker_stop = CancellationToken::new();
            let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
            broker
                .wait_connected(Duration::from_secs(20))
                .await
                .expect("worker connects");
            let worker = so_worker::Worker::build(config, broker, store).expect("worker builds");
            ready.ready();
            worker.run_until_stopped(stop).await;
            broker_stop.cancel();
        })
        .await
    }

    /// Kills the worker like SIGKILL: no drain, no acks; its connection
    /// drops and the broker redelivers what it held.
    pub async fn kill_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            w.kill().await;
        }
    }

    /// Stops the worker gracefully (drains the batch in hand).
    pub async fn stop_worker(&mut self) {
        if let Some(w) = self.worker.take() {
            w.stop().await;
        }
    }

    /// Waits until the worker settled `n` events (any outcome).
    pub async fn wait_settled(&self, n: usize) {
        let deadline = Duration::from_secs(30);
        crate::eventually(deadline, || async {
            let page = self.metrics().await;
            let done = crate::metrics::value(&page, "so_events_processed_total", &[]) as usize;
            if done >= n {
                Ok(())
            } else {
                Err(format!("{done} of {n} events settled"))
            }
        })
        .await;
    }

    /// Counter value from `/metrics`.
    pub async fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        crate::metrics::value(&self.metrics().await, name, labels)
    }

    /// Takes every dead-lettered message.
    /// Waits (up to 60 s) until the fake Ometria holds a contact for each of
    /// these customer ids (the default namespace).
    pub async fn contacts_arrive(&self, ids: impl IntoIterator<Item = u64> + Clone) {
        let want = ids.clone().into_iter().count();
        crate::eventually(Duration::from_secs(60), || async {
            let fake = self.ometria();
            let have = ids
                .clone()
                .into_iter()
                .filter(|id| {
                    fake.record(so_domain::ometria::RecordType::Contact, &id.to_string())
                        .is_some()
                })
                .count();
            if have == want {
                Ok(())
            } else {
                Err(format!("{have} of {want} contacts in Ometria"))
            }
        })
        .await;
    }

    /// Operator actions on this app's queues and store (worker apps).
    pub async fn queue_ops(&self) -> so_ops::QueueOps {
        so_ops::QueueOps::new(self.broker.clone(), self.store().await)
    }

    /// A connection to the worker's store (worker apps).
    pub async fn store(&self) -> so_store::Store {
        let db = self
            .database
            .as_ref()
            .expect("the store belongs to a worker app");
        so_store::Store::connect(&db.url, 2)
            .await
            .expect("the store opens")
            .with_email_key(
                so_store::EmailKey::new(crate::TEST_EMAIL_KEY.as_bytes()).expect("a long key"),
            )
    }

    /// Waits (up to 30 s) until at least `n` events were processed with
    /// this outcome (`so_events_processed_total{outcome}`).
    pub async fn wait_outcome(&self, outcome: &str, n: f64) {
        crate::eventually(Duration::from_secs(30), || async {
            let have = self
                .counter("so_events_processed_total", &[("outcome", outcome)])
                .await;
            if have >= n {
                Ok(())
            } else {
                Err(format!("{have} events with outcome {outcome}"))
            }
        })
        .await;
    }

    pub async fn take_dead_letters(&self) -> Vec<Message> {
        let probe = BrokerProbe::connect_to(&self.direct_url)
            .await
            .expect("probe connects");
        let all = probe
            .drain(&self.names().dead_letter_queue())
            .await
            .expect("draining the DLQ");
        probe.close().await;
        all
    }

    pub fn names(&self) -> &Names {
        self.broker.names()
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/shopify", self.address)
    }

    /// Sends `webhook` signed with the first configured secret.
    pub async fn send(&self, webhook: &Webhook) -> reqwest::Response {
        self.send_signed_with(webhook, &self.secret.clone()).await
    }

    pub async fn send_signed_with(&self, webhook: &Webhook, secret: &str) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.webhook_url())
            .body(webhook.body.clone());
        for (k, v) in webhook.headers(secret) {
            req = req.header(k, v);
        }
        req.send().await.expect("ingress answers")
    }

    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.ops_address);
        self.client
            .get(url)
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    pub async fn readyz(&self) -> reqwest::StatusCode {
        let url = format!("{}/readyz", self.ops_address);
        self.client
            .get(url)
            .send()
            .await
            .expect("readyz answers")
            .status()
    }

    /// Every message currently queued in this app's topology (taken).
    pub async fn take_queued(&self) -> Vec<Message> {
        let probe = BrokerProbe::connect_to(&self.direct_url)
            .await
            .expect("probe connects");
        let all = probe
            .drain_all(self.names())
            .await
            .expect("draining queues");
        probe.close().await;
        all
    }

    /// Stops the services and deletes this test's queues and exchanges.
    /// Stops the service's front (ingress, ops listener, console) as a shutdown does, and
    /// waits (bounded by `ops.shutdown_grace_secs`) for the console's sends to save their
    /// checkpoints; the worker keeps running. Returns whether they stopped within the grace.
    pub async fn stop_console(&mut self) -> bool {
        self.shutdown.cancel();
        let Some(console) = &self.console else {
            return true;
        };
        tokio::time::timeout(self.config.ops.shutdown_grace, console.sends_stopped())
            .await
            .is_ok()
    }

    pub async fn teardown(mut self) {
        self.stop_worker().await;
        for w in std::mem::take(&mut self.extra_workers) {
            w.stop().await;
        }
        self.shutdown.cancel();
        let _served = self.server.await;
        self.broker_stop.cancel();
        self.guard.armed = false;
        if let Ok(probe) = BrokerProbe::connect_to(&self.direct_url).await {
            let _deleted = probe.delete_topology(self.broker.names()).await;
            probe.close().await;
        }
        if let Some(db) = self.database.take() {
            db.cleanup().await;
        }
    }
}

/// The `host:port` of an AMQP URL, resolved.
fn broker_socket(url: &str) -> SocketAddr {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or(after_scheme);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port)
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve broker address {host_port}"))
}
