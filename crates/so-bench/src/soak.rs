//! `soak`: a sustained mixed load (order lifecycles: create, paid, updated,
//! fulfilled) through the real `shopify-ometria run` into a fake Ometria at
//! its documented 4 requests/s, for a configurable time. Every sample
//! records the service's memory, open file descriptors, the depth of the
//! work and retry queues, events settled and the webhook ack latency. The
//! first third is warm-up; the last third is compared with the middle one,
//! and the run fails (exit 2, after the JSON line) if any of them keeps
//! growing, if any webhook went unacknowledged, or if a figure of the
//! compared thirds could not be read (see [`soak_verdict`]). Every event is
//! new (see [`crate::soak_load`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::SecretString;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};
use so_queue::{AmqpSettings, Broker, stats};
use tokio_util::sync::CancellationToken;

use crate::soak_load::Load;
use crate::soak_verdict::{self, Outcomes, Sample, Verdict};
use crate::stats::{Latencies, round2};
use crate::{ingress, process};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seconds of sustained load.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Webhooks per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 5)]
    sample_every: u64,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// The `shopify-ometria` binary (default: next to this one).
    #[arg(long)]
    bin: Option<std::path::PathBuf>,
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let bin = args.bin.clone().unwrap_or_else(process::sibling_binary);
    anyhow::ensure!(
        args.sample_every > 0 && args.duration >= 3 * args.sample_every,
        "--duration must cover at least three samples"
    );
    let prefix = format!("soak-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let fake = FakeOmetria::start(FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 4.0,
            burst: 4,
        },
        drain: Drain::Immediate,
        ..FakeConfig::unlimited()
    })
    .await;
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir)?;
    let (ops_port, port) = (process::free_port()?, process::free_port()?);
    let env: Vec<(String, String)> = vec![
        ("SO_AMQP__URL".into(), args.amqp_url.clone()),
        ("SO_AMQP__PREFIX".into(), prefix.clone()),
        (
            "SO_DATABASE__URL".into(),
            format!("sqlite://{}/store.db?mode=rwc", dir.display()),
        ),
        (
            "SO_DATABASE__EMAIL_KEY".into(),
            "bench-email-key-0123".into(),
        ),
        ("SO_OMETRIA__API_URL".into(), fake.url()),
        ("SO_OMETRIA__API_KEY".into(), fake.api_key().into()),
        ("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "4".into()),
        ("SO_OPS__LISTEN".into(), format!("127.0.0.1:{ops_port}")),
        ("SO_INGRESS__LISTEN".into(), format!("127.0.0.1:{port}")),
        ("SO_SHOPIFY__WEBHOOK_SECRETS".into(), "bench-secret".into()),
    ];
    let child = process::spawn_service(
        &bin,
        "run",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;
    let pid = child.id().context("service pid")?;
    let stop = CancellationToken::new();
    let broker = Broker::start(
        AmqpSettings {
            url: SecretString::from(args.amqp_url.clone()),
            prefix: prefix.clone(),
            ..AmqpSettings::default()
        },
        stop.clone(),
    );
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .context("connecting to RabbitMQ")?;

    let load = Load::start(&format!("127.0.0.1:{port}"), args.rate, 4);
    let counters = load.counters.clone();

    eprintln!(
        "soak: {} webhooks/s for {} s, a sample every {} s ...",
        args.rate, args.duration, args.sample_every
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut last_page = String::new();
    let mut tick = tokio::time::interval(Duration::from_secs(args.sample_every));
    tick.tick().await;
    while started.elapsed() < Duration::from_secs(args.duration) {
        tick.tick().await;
        let page = process::http_get(&format!("http://127.0.0.1:{ops_port}/metrics"))
            .await
            .unwrap_or_default();
        let queued = queued(&broker).await;
        let acks = counters
            .window
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let acks = Latencies::from_unsorted(acks);
        let s = Sample {
            at_s: started.elapsed().as_secs(),
            rss_mib: round2(rss_mib(pid)),
            fds: fds(pid),
            queued,
            settled: process::counter(&page, "so_events_processed_total"),
            acks: acks.len(),
            ack_p99_ms: (acks.len() > 0).then(|| round2(acks.ms(0.99))),
        };
        eprintln!(
            "  {:>5} s  rss {:>7.1} MiB  fds {:>4}  queued {:>6}  settled {:>9}  acks {:>6}  ack p99 {:>7} ms",
            s.at_s,
            s.rss_mib,
            s.fds,
            s.queued.map_or("failed".to_owned(), |q| q.to_string()),
            s.settled,
            s.acks,
            s.ack_p99_ms
                .map_or("none".to_owned(), |p| format!("{p:.2}"))
        );
        samples.push(s);
        last_page = page;
    }
    load.stop().await;
    process::stop(child).await;
    stop.cancel();
    ingress::cleanup(&args.amqp_url, &prefix).await;
    let _removed = std::fs::remove_dir_all(&dir);

    let sent = counters.sent.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    let orders = counters.orders.load(Ordering::Relaxed);
    let outcomes = Outcomes::read(&last_page);
    let verdict = soak_verdict::judge(&samples, sent, errors, outcomes);
    print_table(&args, &verdict, sent, errors, orders);
    println!(
        "events dropped as stale {}, dead-lettered {}, parked {}",
        outcomes.stale, outcomes.dead_lettered, outcomes.parked
    );
    let json = serde_json::json!({
        "bench": "soak",
        "duration_s": args.duration,
        "rate_per_s": args.rate,
        "sent": sent,
        "errors": errors,
        "orders": orders,
        "stale_drops": outcomes.stale,
        "dead_lettered": outcomes.dead_lettered,
        "parked": outcomes.parked,
        "rss_mid_mib": round2(verdict.mid.rss_mib),
        "rss_last_mib": round2(verdict.last.rss_mib),
        "rss_ratio_last_to_mid": round2(verdict.last.rss_mib / verdict.mid.rss_mib),
        "fds_mid": verdict.mid.fds,
        "fds_last": verdict.last.fds,
        "queued_mid": verdict.mid.queued.map(round2),
        "queued_last": verdict.last.queued.map(round2),
        "ack_p99_mid_ms": verdict.mid.ack_p99_ms.map(round2),
        "ack_p99_last_ms": verdict.last.ack_p99_ms.map(round2),
        "settled_per_s_mid": round2(verdict.mid.settled_per_s),
        "settled_per_s_last": round2(verdict.last.settled_per_s),
        "empty_windows": verdict.empty_windows,
        "stats_failures": verdict.stats_failures,
        "growing": verdict.growing,
        "failures": verdict.failures,
        "verdict": if verdict.passed() { "flat" } else { "failed" },
        "samples": samples.len(),
    });
    println!("{json}");
    if !verdict.passed() {
        std::process::exit(2);
    }
    Ok(())
}

/// Work + retry depth, or `None` if the call or any of those queues failed.
async fn queued(broker: &Broker) -> Option<u64> {
    let all = stats::queue_stats(broker).await.ok()?;
    let mut total = 0;
    for q in all.iter().filter(|q| q.role == "work" || q.role == "retry") {
        if q.error.is_some() {
            return None;
        }
        total += u64::from(q.messages);
    }
    Some(total)
}

fn opt(x: Option<f64>, decimals: usize) -> String {
    x.map_or("none".to_owned(), |v| format!("{v:.decimals$}"))
}

fn print_table(args: &Args, v: &Verdict, sent: u64, errors: u64, orders: u64) {
    println!(
        "soak benchmark ({} webhooks/s for {} s, Ometria at 4 requests/s)",
        args.rate, args.duration
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "figure", "middle third", "last third"
    );
    let row = |name: &str, mid: String, last: String| println!("{name:<44} {mid:>14} {last:>14}");
    row(
        "service RSS MiB (mean)",
        format!("{:.1}", v.mid.rss_mib),
        format!("{:.1}", v.last.rss_mib),
    );
    row(
        "open file descriptors (max)",
        v.mid.fds.to_string(),
        v.last.fds.to_string(),
    );
    row(
        "work + retry queue depth (mean)",
        opt(v.mid.queued, 0),
        opt(v.last.queued, 0),
    );
    row(
        "webhook ack p99 ms (mean of samples)",
        opt(v.mid.ack_p99_ms, 2),
        opt(v.last.ack_p99_ms, 2),
    );
    row(
        "events settled per s",
        format!("{:.0}", v.mid.settled_per_s),
        format!("{:.0}", v.last.settled_per_s),
    );
    row(
        "latency windows without an ack",
        v.mid.empty_windows.to_string(),
        v.last.empty_windows.to_string(),
    );
    row(
        "broker-stats calls failed",
        v.mid.stats_failures.to_string(),
        v.last.stats_failures.to_string(),
    );
    println!(
        "webhooks sent {sent} ({orders} distinct orders), not acknowledged {errors}; \
         broker-stats failures {} in the whole run; verdict: {}",
        v.stats_failures,
        v.summary()
    );
}
