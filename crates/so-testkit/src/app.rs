//! `TestApp`: the real ingress and ops listener on random ports, isolated on
//! the shared broker by a unique prefix.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use so_queue::{Broker, Names, Publisher};
use so_runtime::Config;
use so_runtime::ops::{self, OpsServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::broker::{self, BrokerProbe, Message};
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
    /// Extra `SO_*` variables.
    pub env: Vec<(String, String)>,
    /// Contents of a TOML configuration file, if any.
    pub config_toml: Option<String>,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        TestAppOptions {
            secrets: vec!["test-secret".to_owned()],
            partitions: 2,
            through_proxy: false,
            env: Vec::new(),
            config_toml: None,
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
    pub client: reqwest::Client,
    secret: String,
    shutdown: CancellationToken,
    broker_stop: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(opts: TestAppOptions) -> TestApp {
        let mut url = broker::amqp_url();
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
        env.extend(opts.env.iter().cloned());
        let file = opts.config_toml.as_ref().map(|text| {
            let path = std::env::temp_dir().join(format!("so-test-{}.toml", uuid::Uuid::new_v4()));
            std::fs::write(&path, text).expect("writing test config");
            path
        });
        let config =
            Arc::new(Config::load(file.as_deref(), env).expect("test configuration is valid"));
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

        let ops = OpsServer::bind(
            config.ops.listen,
            vec![ops::broker_check(broker.clone())],
            axum::Router::new(),
        )
        .await
        .expect("ops listener binds");
        let ops_address = format!("http://{}", ops.local_addr().expect("ops address"));
        tokio::spawn(ops.run_until_stopped(shutdown.clone()));

        let listener = TcpListener::bind(config.ingress.listen)
            .await
            .expect("ingress binds");
        let app = so_ingress::Application::with_listener(
            config.clone(),
            Publisher::new(broker.clone()),
            listener,
        );
        let address = format!("http://{}", app.local_addr().expect("ingress address"));
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));

        TestApp {
            address,
            ops_address,
            config,
            broker,
            proxy,
            client: reqwest::Client::new(),
            secret: opts.secrets.first().cloned().unwrap_or_default(),
            shutdown,
            broker_stop,
            server,
        }
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
        let probe = BrokerProbe::connect().await.expect("probe connects");
        let all = probe
            .drain_all(self.names())
            .await
            .expect("draining queues");
        probe.close().await;
        all
    }

    /// Stops the services and deletes this test's queues and exchanges.
    pub async fn teardown(self) {
        self.shutdown.cancel();
        let _served = self.server.await;
        self.broker_stop.cancel();
        if let Ok(probe) = BrokerProbe::connect().await {
            let _deleted = probe.delete_topology(self.broker.names()).await;
            probe.close().await;
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
