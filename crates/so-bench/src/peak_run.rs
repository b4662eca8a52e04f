//! One run of the `peak` burst: a fake Ometria at 4 requests/s, the real
//! `shopify-ometria ingress` and `worker` as processes of their own (a
//! fresh queue prefix and SQLite store, the client's budget at 4/s), the
//! burst sent through the ingress, then a bounded wait until the fake
//! holds the final state, and the run's figures read from the fake, the
//! write log and the worker's `/proc` entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};

use crate::delivery_env::{fresh_prefix, service_env};
use crate::peak_accounting::{self as accounting, Accounts};
use crate::peak_final::{self, Check};
use crate::peak_payloads::Templates;
use crate::peak_plan::Plan;
use crate::{peak_send, process};

pub(crate) const SECRET: &str = "bench-secret";
const SHOP: &str = "bench-shop.myshopify.com";
/// Ometria's documented budget: requests per second, records per request.
pub(crate) const REQUESTS_PER_S: f64 = 4.0;
pub(crate) const RECORDS_PER_REQUEST: f64 = 100.0;

/// What one run needs besides the burst.
pub(crate) struct Setup<'a> {
    pub(crate) bin: &'a Path,
    pub(crate) amqp_url: &'a str,
    pub(crate) rate: u64,
    pub(crate) connections: usize,
    /// A worker setting (`KEY=value`) of this run only.
    pub(crate) setting: Option<(String, String)>,
    /// How long after the send the final state may take.
    pub(crate) drain_wait: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Run {
    /// Per event of the plan: did the ingress answer 200?
    pub(crate) acked: Vec<bool>,
    pub(crate) acknowledged: usize,
    pub(crate) unacknowledged: usize,
    pub(crate) resends: u64,
    pub(crate) send_s: f64,
    pub(crate) send_max_lag_s: f64,
    /// Records the final state needs.
    pub(crate) records_needed: usize,
    /// The same, per kind of check.
    pub(crate) needed_by_kind: BTreeMap<&'static str, usize>,
    pub(crate) requests: usize,
    pub(crate) records: usize,
    /// Per record type: distinct records the fake holds, the writes it
    /// applied to them (so where the pushes above the needed go), and how
    /// many of those carried no version (for contacts: updates of the
    /// behavioural attributes alone, which carry no last name).
    pub(crate) by_type: BTreeMap<&'static str, TypeWrites>,
    pub(crate) http_429: u64,
    pub(crate) worker_peak_rss_mib: f64,
    /// From the first send until the fake held the final state.
    pub(crate) drain_s: Option<f64>,
    /// Checks still failing when the wait ended, per kind.
    pub(crate) not_final: BTreeMap<&'static str, usize>,
    pub(crate) accounts: Accounts,
}

/// The configuration file: abandoned checkouts on for the bench's shop.
fn write_config(dir: &Path, plan: &Plan) -> anyhow::Result<PathBuf> {
    let path = dir.join("peak.toml");
    let checkouts = if plan.checkout_delay_secs > 0 {
        format!(
            "abandoned_checkouts = {{ enabled = true, delay_secs = {}, event_type = \"abandoned_checkout\" }}\n",
            plan.checkout_delay_secs
        )
    } else {
        String::new()
    };
    std::fs::write(&path, format!("[shops.\"{SHOP}\"]\n{checkouts}"))?;
    Ok(path)
}

fn limited_fake() -> FakeConfig {
    FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: REQUESTS_PER_S,
            burst: REQUESTS_PER_S as u32,
        },
        drain: Drain::Immediate,
        ..FakeConfig::unlimited()
    }
}

struct Services {
    worker: tokio::process::Child,
    ingress: tokio::process::Child,
    target: String,
}

async fn start(
    setup: &Setup<'_>,
    config: &Path,
    prefix: &str,
    db_url: &str,
    fake: &FakeOmetria,
) -> anyhow::Result<Services> {
    let (worker_ops, ingress_ops, port) = (
        process::free_port()?,
        process::free_port()?,
        process::free_port()?,
    );
    let mut env = service_env(prefix, db_url, fake, worker_ops);
    env[0].1 = setup.amqp_url.to_owned();
    env.push(("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "4".into()));
    let config = config.to_str().context("configuration path")?;
    // The run's own setting (the naive baseline's) is the worker's only.
    let mut worker_env = env.clone();
    worker_env.extend(setup.setting.clone());
    let worker = process::spawn_service_with(
        setup.bin,
        &["--config", config, "worker"],
        &worker_env,
        &format!("http://127.0.0.1:{worker_ops}/readyz"),
    )
    .await?;
    env.retain(|(k, _)| k != "SO_OPS__LISTEN");
    env.push(("SO_OPS__LISTEN".into(), format!("127.0.0.1:{ingress_ops}")));
    env.push(("SO_INGRESS__LISTEN".into(), format!("127.0.0.1:{port}")));
    let ingress = process::spawn_service_with(
        setup.bin,
        &["--config", config, "ingress"],
        &env,
        &format!("http://127.0.0.1:{ingress_ops}/readyz"),
    )
    .await?;
    Ok(Services {
        worker,
        ingress,
        target: format!("127.0.0.1:{port}"),
    })
}

/// Sends `plan` through a fresh ingress and worker and measures the run.
pub(crate) async fn run(
    setup: &Setup<'_>,
    plan: &Arc<Plan>,
    templates: &Arc<Templates>,
) -> anyhow::Result<Run> {
    let prefix = fresh_prefix();
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir)?;
    let result = measured(setup, plan, templates, &prefix, &dir).await;
    cleanup(setup.amqp_url, &prefix, plan.checkout_delay_secs).await;
    let _removed = std::fs::remove_dir_all(&dir);
    result
}

async fn measured(
    setup: &Setup<'_>,
    plan: &Arc<Plan>,
    templates: &Arc<Templates>,
    prefix: &str,
    dir: &Path,
) -> anyhow::Result<Run> {
    let config = write_config(dir, plan)?;
    let db_url = format!("sqlite://{}/store.db?mode=rwc", dir.display());
    let fake = FakeOmetria::start(limited_fake()).await;
    accounting::watch(&fake);
    let services = start(setup, &config, prefix, &db_url, &fake).await?;
    let worker_pid = services.worker.id().unwrap_or(0);

    let sent = peak_send::send(
        &services.target,
        plan.clone(),
        templates.clone(),
        SECRET,
        setup.rate,
        setup.connections,
    )
    .await;
    let checks: Vec<Check> = peak_final::expected(plan, &sent.acked);
    eprintln!(
        "  sent {} webhooks in {:.1} s ({} not acknowledged); waiting for {} records ...",
        sent.acked.len(),
        sent.duration_s,
        sent.acked.iter().filter(|a| !**a).count(),
        checks.len()
    );
    let deadline = Instant::now() + setup.drain_wait;
    let reached = peak_final::wait(&fake, &checks, deadline).await;
    eprintln!(
        "  final state {}; {} passes over the checks, the longest {} ms",
        if reached.at.is_some() {
            "reached"
        } else {
            "not reached"
        },
        reached.passes,
        reached.longest_pass.as_millis()
    );
    let rss = process::peak_rss_mib(worker_pid).unwrap_or(f64::NAN);
    process::stop(services.ingress).await;
    process::stop(services.worker).await;

    let ok: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/push" && r.status == 200)
        .collect();
    let refused = fake.push_errors();
    if let Some(first) = refused.first() {
        eprintln!(
            "  the fake Ometria refused {} records (up to 100 kept), first: {first}",
            refused.len()
        );
    }
    let acknowledged = sent.acked.iter().filter(|a| **a).count();
    Ok(Run {
        acknowledged,
        unacknowledged: sent.acked.len() - acknowledged,
        resends: sent.resends,
        send_s: sent.duration_s,
        send_max_lag_s: sent.max_lag_s,
        records_needed: checks.len(),
        needed_by_kind: peak_final::by_kind(&checks),
        requests: ok.len(),
        records: ok.iter().map(|r| r.records).sum(),
        by_type: by_type(&fake),
        http_429: fake.rate_limited_responses(),
        worker_peak_rss_mib: rss,
        drain_s: reached
            .at
            .map(|at| at.duration_since(sent.started).as_secs_f64()),
        not_final: reached.missing,
        accounts: accounting::account_fake(plan, &sent.acked, &fake),
        acked: sent.acked,
    })
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub(crate) struct TypeWrites {
    pub(crate) records: usize,
    pub(crate) writes: u64,
    pub(crate) unversioned: u64,
}

fn by_type(fake: &FakeOmetria) -> BTreeMap<&'static str, TypeWrites> {
    let mut out: BTreeMap<&'static str, TypeWrites> = BTreeMap::new();
    for (key, writes) in fake.write_counts() {
        let entry = out.entry(key.record_type.as_str()).or_default();
        entry.records += 1;
        entry.writes += u64::from(writes);
    }
    for write in fake.write_log().iter().filter(|w| w.version.is_none()) {
        out.entry(write.key.record_type.as_str())
            .or_default()
            .unversioned += 1;
    }
    out
}

impl Run {
    /// Distinct records the fake holds at the end.
    pub(crate) fn distinct_records(&self) -> usize {
        self.by_type.values().map(|t| t.records).sum()
    }
}

/// Deletes the run's queues and exchanges, the checkouts' delay queue too.
async fn cleanup(url: &str, prefix: &str, delay_secs: u64) {
    let names = so_queue::Names::new(prefix, 8, &[5, 30, 120, 600, 3600])
        .with_scheduled_delays(&[delay_secs].map(|d| d.max(1)));
    let Ok(probe) = so_queue::probe::Probe::connect(url).await else {
        return;
    };
    let _deleted = probe.delete_topology(&names).await;
    probe.close().await;
}
