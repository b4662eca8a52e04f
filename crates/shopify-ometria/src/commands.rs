//! Subcommand implementations (wiring only).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use so_queue::{Broker, Publisher, stats};
use so_runtime::config::masked_view;
use so_runtime::ops::{self, OpsServer};
use so_runtime::{Config, ConfigError, telemetry};
use tokio_util::sync::CancellationToken;

/// Which services `serve` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Services {
    Ingress,
    /// Ingress plus every worker that exists (none yet besides ingress).
    All,
}

fn load(path: Option<&Path>) -> Result<Config> {
    Config::load(path, std::env::vars()).context("loading the configuration")
}

pub(crate) async fn serve(path: Option<&Path>, services: Services) -> Result<ExitCode> {
    let config = Arc::new(load(path)?);
    telemetry::init(&config.log);
    for warning in config.warnings() {
        tracing::warn!(%warning, "Configuration warning.");
    }
    tracing::info!(?services, prefix = %config.amqp.prefix, "Starting shopify-ometria.");

    let signal = so_runtime::shutdown_on_signal();
    // The broker outlives the HTTP servers so in-flight confirms can finish.
    let broker_stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
    let publisher = Publisher::new(broker.clone());

    let ops = OpsServer::bind(
        config.ops.listen,
        vec![ops::broker_check(broker.clone())],
        axum::Router::new(),
    )
    .await
    .with_context(|| format!("binding ops.listen {}", config.ops.listen))?;
    tracing::info!(addr = ?ops.local_addr().ok(), "Ops listener ready.");
    let poll = tokio::spawn(ops::poll_queue_metrics(
        broker.clone(),
        Duration::from_secs(config.ops.queue_poll_secs),
        signal.clone(),
    ));
    let ops_task = tokio::spawn(ops.run_until_stopped(signal.clone()));

    let ingress = so_ingress::Application::build(config.clone(), publisher)
        .await
        .with_context(|| format!("binding ingress.listen {}", config.ingress.listen))?;
    ingress
        .run_until_stopped(signal.clone())
        .await
        .context("serving webhooks")?;

    let _ops_result = ops_task.await;
    let _poll_result = poll.await;
    broker_stop.cancel();
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check_config(path: Option<&Path>) -> Result<ExitCode> {
    match Config::load(path, std::env::vars()) {
        Ok(config) => {
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&masked_view(&config))?
            ))?;
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
        anyhow::bail!("cannot reach RabbitMQ at amqp.url within 10 s");
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
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
