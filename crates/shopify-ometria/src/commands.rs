//! Subcommand implementations (wiring only).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use secrecy::ExposeSecret;
use so_platform::config::mask_url_password;
use so_platform::ops::{self, OpsServer};
use so_platform::shops_live::{ShopsLive, ShopsSnapshot};
use so_platform::{Config, ConfigError, telemetry};
use so_queue::{Broker, Publisher, stats};
use tokio_util::sync::CancellationToken;

/// Which services `serve` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Services {
    Ingress,
    Worker,
    /// Ingress and worker in one process.
    All,
}

impl Services {
    fn ingress(self) -> bool {
        matches!(self, Services::Ingress | Services::All)
    }

    fn worker(self) -> bool {
        matches!(self, Services::Worker | Services::All)
    }
}

pub(crate) fn load(path: Option<&Path>) -> Result<Config> {
    Config::load(path, std::env::vars()).context("loading the configuration")
}

/// The configuration, with logging to stderr as `log` says: for commands that run for a while
/// and call code that reports through `tracing` (a token refresh, a retried page, a skipped
/// shop), which would otherwise be lost. Quick commands stay quiet.
pub(crate) fn load_logged(path: Option<&Path>) -> Result<Config> {
    let config = load(path)?;
    telemetry::init(&config.log);
    Ok(config)
}

pub(crate) async fn serve(path: Option<&Path>, services: Services) -> Result<ExitCode> {
    let config = Arc::new(load(path)?);
    telemetry::init(&config.log);
    for warning in config.warnings() {
        tracing::warn!(%warning, "Configuration warning.");
    }
    tracing::info!(?services, prefix = %config.amqp.prefix, "Starting shopify-ometria.");

    let signal = so_platform::shutdown_on_signal();
    // The broker outlives the HTTP servers so in-flight confirms can finish.
    let broker_stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
    let publisher = Publisher::new(broker.clone());

    let mut checks = vec![ops::broker_check(broker.clone())];
    // The worker needs the store; so does the admin API (its audit trail).
    let oauth = services.ingress() && config.shopify.app.is_configured();
    let store = if services.worker() || config.ops.admin_token.is_some() || oauth {
        let url = config.database.url.expose_secret();
        let store = so_store::Store::connect(url, config.worker.database_connections)
            .await
            .with_context(|| {
                format!(
                    "opening the store at database.url {}",
                    mask_url_password(url)
                )
            })?;
        checks.push(store_check(store.clone()));
        Some(store)
    } else {
        None
    };
    let queue_ops = store
        .clone()
        .map(|s| so_ops::QueueOps::new(broker.clone(), s));
    let worker = match (services.worker(), &store) {
        (true, Some(store)) => Some(
            so_worker::Worker::build(config.clone(), broker.clone(), store.clone())
                .context("starting the worker (is ometria.api_key set?)")?,
        ),
        _ => None,
    };
    // The web console under /console/, with the admin API's token (docs/console.md): on the
    // ops listener, or on `ops.console_listen` alone. Its profile sends stop with the service.
    let mut console = None;
    let mut console_server = None;
    let admin = match (&config.ops.admin_token, &queue_ops) {
        (Some(token), Some(q)) => {
            tracing::info!("Admin API enabled on the ops listener.");
            let shops = so_ops::ShopOps::new(q.clone(), config.clone());
            let c = so_console::Console::new(q.clone(), shops.clone(), &config, token.clone())
                .stopping_with(signal.clone());
            console = Some(c.clone());
            let api = so_ops::http_api::router(q.clone(), shops, token.clone());
            match config.ops.console_listen {
                Some(addr) => {
                    console_server = Some(serve_console(addr, c, signal.clone()).await?);
                    api
                }
                None => api.merge(so_console::router(c)),
            }
        }
        _ => {
            if config.ops.console_listen.is_some() {
                tracing::warn!(
                    "ops.console_listen is set but the console is off: it needs ops.admin_token and the store."
                );
            }
            axum::Router::new()
        }
    };
    if let (true, Some(q)) = (services.worker(), &queue_ops) {
        tokio::spawn(release_paused_shops(q.clone(), config.clone()));
    }
    // Every process with a store keeps the letter index (several indexers
    // write the same rows; the admin API and `dlq list` read it).
    let indexer = queue_ops.as_ref().map(|q| {
        let indexer = so_ops::index::Indexer::new(q.broker().clone(), q.store().clone());
        tokio::spawn(indexer.run(signal.clone()))
    });
    let ops = OpsServer::bind(config.ops.listen, checks, admin)
        .await
        .with_context(|| format!("binding ops.listen {}", config.ops.listen))?;
    tracing::info!(addr = ?ops.local_addr().ok(), "Ops listener ready.");
    let poll = tokio::spawn(ops::poll_queue_metrics(
        broker.clone(),
        config.ops.queue_poll,
        signal.clone(),
    ));
    let ops_task = tokio::spawn(ops.run_until_stopped(signal.clone()));
    let worker_task = worker.map(|w| tokio::spawn(w.run_until_stopped(signal.clone())));
    // Consent write-back and reconciliation run beside the worker.
    let scheduler_task = match (services.worker(), &store) {
        (true, Some(store)) => {
            // The scheduler lists the shops at every tick from its own view
            // of the registry.
            let shops = ShopsLive::new(config.clone(), Some(store.clone()));
            tokio::spawn(shops.clone().run(signal.clone()));
            Some(tokio::spawn(
                so_sync::scheduler::Scheduler::new(
                    config.clone(),
                    store.clone(),
                    publisher.clone(),
                    uuid::Uuid::new_v4().to_string(),
                    shops,
                )
                .run(signal.clone()),
            ))
        }
        _ => None,
    };

    let ingress_task = if services.ingress() {
        let shops = ShopsLive::new(config.clone(), store.clone());
        let url = config.database.url.expose_secret();
        if store.is_some() {
            tokio::spawn(shops.clone().run(signal.clone()));
        } else if url.starts_with("postgres") {
            // A separate ingress reads the shared PostgreSQL store; a SQLite
            // file serves one host, where `run` shares the worker's.
            tokio::spawn(
                shops
                    .clone()
                    .connect_and_run(url.to_owned(), signal.clone()),
            );
        }
        let mut ingress =
            so_ingress::Application::build_with_shops(config.clone(), publisher, shops)
                .await
                .with_context(|| format!("binding ingress.listen {}", config.ingress.listen))?;
        if let (true, Some(store)) = (oauth, &store) {
            ingress = ingress.with_install(install(&config, store.clone())?);
            tracing::info!("OAuth install routes enabled: /shopify/install, /shopify/callback.");
        }
        let stop = signal.clone();
        Some(tokio::spawn(async move {
            let served = ingress.run_until_stopped(stop.clone()).await;
            // An ingress that fails while serving stops the whole process,
            // drained like a SIGTERM.
            stop.cancel();
            served
        }))
    } else {
        None
    };
    signal.cancelled().await;
    let drain = async {
        let ingress = match ingress_task {
            Some(task) => Some(task.await),
            None => None,
        };
        if let Some(task) = worker_task {
            let _drained = task.await;
        }
        if let Some(task) = scheduler_task {
            let _stopped = task.await;
        }
        if let Some(task) = indexer {
            let _stopped = task.await;
        }
        if let Some(console) = &console {
            console.sends_stopped().await;
        }
        if let Some(task) = console_server {
            let _stopped = task.await;
        }
        let _ops_result = ops_task.await;
        let _poll_result = poll.await;
        ingress
    };
    let grace = config.ops.shutdown_grace;
    let ingress = match tokio::time::timeout(grace, drain).await {
        Ok(ingress) => ingress,
        Err(_) => {
            // Safe: every unacknowledged message returns to its queue when
            // the connection closes, and is deduplicated on redelivery.
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "In-flight work did not drain within ops.shutdown_grace_secs; exiting and leaving unacknowledged messages to the broker."
            );
            None
        }
    };
    broker_stop.cancel();
    if let Some(ended) = ingress {
        ended
            .context("the ingress task failed")?
            .context("serving webhooks")?;
    }
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// A shop that was paused and is enabled again gets its parked events back,
/// in the order they were parked, once the broker is reachable.
/// The web console on a listener of its own (`ops.console_listen`), until `stop`.
async fn serve_console(
    addr: std::net::SocketAddr,
    console: so_console::Console,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding ops.console_listen {addr}"))?;
    tracing::info!(addr = ?listener.local_addr().ok(), "Console listener ready.");
    let app = so_console::router(console);
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "The console listener failed.");
        }
    }))
}

async fn release_paused_shops(ops: so_ops::QueueOps, config: Arc<Config>) {
    if ops
        .broker()
        .wait_connected(Duration::from_secs(3600))
        .await
        .is_none()
    {
        return;
    }
    // Paused or resumed as the store holds it (after the configuration's
    // `enabled` is applied), not as the file says.
    let store = ops.store();
    let snapshot = async {
        so_platform::shops_live::seed(store, &config, chrono::Utc::now()).await?;
        let revision = store.shops_revision().await?;
        let rows = store.shops().await?;
        Ok::<_, so_store::Error>(ShopsSnapshot::merge(config.clone(), revision, &rows))
    }
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "Cannot read the shops from the store; releasing by the configuration.");
        ShopsSnapshot::from_config(config.clone())
    });
    let enabled = |shop: &str| snapshot.shops.get(shop).is_none_or(|s| s.settings.enabled);
    match ops.release_paused_shops(&enabled, "worker").await {
        Ok(r) if r.done > 0 => {
            tracing::info!(
                released = r.done,
                "Parked events of re-enabled shops released."
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "Cannot release parked events of re-enabled shops."),
    }
}

/// Readiness of the store: a cached result of the last background ping.
fn store_check(store: so_store::Store) -> (&'static str, ops::ReadinessCheck) {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = healthy.clone();
    tokio::spawn(async move {
        loop {
            let ok = store.ping().await.is_ok();
            flag.store(ok, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let check: ops::ReadinessCheck = Arc::new(move || {
        if healthy.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err("the store does not answer".to_owned())
        }
    });
    ("store", check)
}

pub(crate) async fn check_config(path: Option<&Path>, with_store: bool) -> Result<ExitCode> {
    match Config::load(path, std::env::vars()) {
        Ok(config) if with_store => {
            let config = Arc::new(config);
            let store = crate::sync_cmds::open_store(&config).await?;
            let revision = store.shops_revision().await?;
            let rows = store.shops().await?;
            store.close().await;
            let snap = ShopsSnapshot::merge(config.clone(), revision, &rows);
            let shops: serde_json::Map<String, serde_json::Value> = snap
                .shops
                .iter()
                .map(|(d, s)| {
                    let v = serde_json::json!({
                        "source": s.source.as_str(),
                        "version": s.version,
                        "paused": !s.settings.enabled,
                        "settings": s.settings,
                    });
                    (d.clone(), v)
                })
                .collect();
            let out = serde_json::json!({"config": &*config, "effective_shops": shops});
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
            eprintln!("configuration OK; {} shop(s) served", shops.len());
            Ok(ExitCode::SUCCESS)
        }
        Ok(config) => {
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&config)?))?;
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            eprintln!("configuration OK");
            Ok(ExitCode::SUCCESS)
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!("{} problem(s) found", problems.len());
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

pub(crate) async fn queues(path: Option<&Path>, json: bool) -> Result<ExitCode> {
    let config = load(path)?;
    let stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), stop.clone());
    let connected = broker.wait_connected(Duration::from_secs(10)).await;
    if connected.is_none() {
        stop.cancel();
        anyhow::bail!("cannot reach RabbitMQ at amqp.url(s) within 10 s");
    }
    let all = stats::queue_stats(&broker)
        .await
        .context("reading queue statistics")?;
    stop.cancel();
    let mut text = String::new();
    if json {
        text = serde_json::to_string_pretty(&all)?;
        text.push('\n');
    } else {
        use std::fmt::Write as _;
        writeln!(
            text,
            "{:<32} {:<12} {:>10} {:>10} {:>14}",
            "QUEUE", "ROLE", "MESSAGES", "CONSUMERS", "OLDEST AGE"
        )?;
        for q in &all {
            let age = q
                .oldest_message_age_secs
                .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}s"));
            match &q.error {
                None => writeln!(
                    text,
                    "{:<32} {:<12} {:>10} {:>10} {:>14}",
                    q.queue, q.role, q.messages, q.consumers, age
                )?,
                Some(e) => writeln!(text, "{:<32} {:<12} error: {e}", q.queue, q.role)?,
            }
        }
    }
    print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

/// The OAuth install routes' setup, from `[shopify.app]` (validated).
fn install(config: &Config, store: so_store::Store) -> Result<so_ingress::Install> {
    let app = &config.shopify.app;
    let (Some(client_id), Some(client_secret), Some(public_url)) = (
        &app.client_id,
        &app.client_secret,
        &config.shopify.public_url,
    ) else {
        anyhow::bail!("shopify.app.client_id, client_secret and shopify.public_url must be set");
    };
    let sealer = config
        .database
        .sealer()
        .map_err(anyhow::Error::msg)?
        .context("database.secrets_key must be set for OAuth installs")?;
    let on_connected = Some(after_install(config, store.clone()));
    Ok(so_ingress::Install {
        store,
        sealer,
        app: app.clone(),
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        redirect_uri: format!("{}/shopify/callback", public_url.trim_end_matches('/')),
        admin: config.shopify_admin.clone(),
        on_connected,
    })
}

/// After an install, the shop's webhook subscriptions are put in order at once (not at the
/// next daily run), in the background so the callback answers without waiting.
fn after_install(config: &Config, store: so_store::Store) -> so_ingress::Connected {
    let config = Arc::new(config.clone());
    so_ingress::Connected(Arc::new(move |shop: so_domain::ShopDomain| {
        let (config, store) = (config.clone(), store.clone());
        tokio::spawn(async move {
            let synced = match so_sync::clients::admin_client(&config, &store, &shop) {
                Ok(admin) => match so_sync::webhooks::after_connect(&config, &shop, &admin).await {
                    // Kept for the shop's status (`shops show`).
                    Ok(report) => {
                        so_sync::shop_status::save(&store, &report).await;
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = synced {
                tracing::warn!(shop = %shop, error = %so_domain::error_chain(&e), "Webhook subscriptions of the newly installed shop not synced; the daily run tries again.");
            }
        });
    }))
}
