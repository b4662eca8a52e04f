//! `soak`: a sustained mixed load (order lifecycles: create, paid, updated,
//! fulfilled) through the real `shopify-ometria run` into a fake Ometria at
//! its documented 4 requests/s, for a configurable time. Every sample
//! records the service's memory, open file descriptors, the depth of the
//! work and retry queues, events settled and the webhook ack latency. The
//! first third is warm-up; the last third is compared with the middle one,
//! and the run fails (exit 2, after the JSON line) if any of them keeps
//! growing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::SecretString;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};
use so_queue::{AmqpSettings, Broker, stats};
use tokio_util::sync::CancellationToken;

use crate::stats::{Latencies, round2};
use crate::{events, ingress, process};

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

#[derive(Debug, Clone, serde::Serialize)]
struct Sample {
    at_s: u64,
    rss_mib: f64,
    fds: usize,
    queued: u64,
    settled: f64,
    ack_p99_ms: f64,
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

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
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

    // A pool of realistic lifecycles, re-sent with fresh webhook ids.
    let pool: Arc<Vec<crate::payloads::Prepared>> = Arc::new(
        events::lifecycle(4_000, 7)
            .into_iter()
            .map(|e| crate::payloads::Prepared {
                topic: e.topic.to_owned(),
                signature: so_shopify::sign("bench-secret", &e.body),
                body: bytes::Bytes::from(e.body),
            })
            .collect(),
    );
    let window: Arc<Mutex<Vec<u32>>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let load_stop = CancellationToken::new();
    let connections = 4u64;
    let mut senders = Vec::new();
    for c in 0..connections {
        let (pool, window, errors, sent, load_stop) = (
            pool.clone(),
            window.clone(),
            errors.clone(),
            sent.clone(),
            load_stop.clone(),
        );
        let target = format!("127.0.0.1:{port}");
        let interval = Duration::from_secs_f64(connections as f64 / args.rate as f64);
        senders.push(tokio::spawn(async move {
            let Ok(mut conn) = ingress::Conn::open(&target).await else {
                return;
            };
            let start = Instant::now();
            let mut i = 0u64;
            while !load_stop.is_cancelled() {
                // Open loop: latency from the scheduled time.
                let due = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
                tokio::time::sleep_until(due.into()).await;
                let p =
                    &pool[usize::try_from((i * connections + c) % pool.len() as u64).unwrap_or(0)];
                let ok = conn.send(p, 10_000_000_000 + c * 1_000_000_000 + i).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if ok {
                    if let Ok(mut w) = window.lock() {
                        w.push(due.elapsed().as_micros() as u32);
                    }
                } else {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if let Ok(c) = ingress::Conn::open(&target).await {
                        conn = c;
                    }
                }
                i += 1;
            }
        }));
    }

    eprintln!(
        "soak: {} webhooks/s for {} s, a sample every {} s ...",
        args.rate, args.duration, args.sample_every
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(args.sample_every));
    tick.tick().await;
    while started.elapsed() < Duration::from_secs(args.duration) {
        tick.tick().await;
        let page = process::http_get(&format!("http://127.0.0.1:{ops_port}/metrics"))
            .await
            .unwrap_or_default();
        let queued = stats::queue_stats(&broker)
            .await
            .map(|all| {
                all.iter()
                    .filter(|q| q.role == "work" || q.role == "retry")
                    .map(|q| u64::from(q.messages))
                    .sum()
            })
            .unwrap_or(0);
        let acks = window
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let s = Sample {
            at_s: started.elapsed().as_secs(),
            rss_mib: round2(rss_mib(pid)),
            fds: fds(pid),
            queued,
            settled: process::counter(&page, "so_events_processed_total"),
            ack_p99_ms: round2(Latencies::from_unsorted(acks).ms(0.99)),
        };
        eprintln!(
            "  {:>5} s  rss {:>7.1} MiB  fds {:>4}  queued {:>6}  settled {:>9}  ack p99 {:>7.2} ms",
            s.at_s, s.rss_mib, s.fds, s.queued, s.settled, s.ack_p99_ms
        );
        samples.push(s);
    }
    load_stop.cancel();
    for s in senders {
        let _done = s.await;
    }
    process::stop(child).await;
    stop.cancel();
    ingress::cleanup(&args.amqp_url, &prefix).await;
    let _removed = std::fs::remove_dir_all(&dir);

    let third = samples.len() / 3;
    let (mid, last) = (&samples[third..2 * third], &samples[2 * third..]);
    let rss_mid = mean(mid.iter().map(|s| s.rss_mib));
    let rss_last = mean(last.iter().map(|s| s.rss_mib));
    let fds_mid = mid.iter().map(|s| s.fds).max().unwrap_or(0);
    let fds_last = last.iter().map(|s| s.fds).max().unwrap_or(0);
    let q_mid = mean(mid.iter().map(|s| s.queued as f64));
    let q_last = mean(last.iter().map(|s| s.queued as f64));
    let p99_mid = mean(mid.iter().map(|s| s.ack_p99_ms));
    let p99_last = mean(last.iter().map(|s| s.ack_p99_ms));
    let settled_rate = |w: &[Sample]| match (w.first(), w.last()) {
        (Some(a), Some(b)) if b.at_s > a.at_s => (b.settled - a.settled) / (b.at_s - a.at_s) as f64,
        _ => 0.0,
    };
    let mut growing = Vec::new();
    if rss_last - rss_mid > (rss_mid * 0.15).max(16.0) {
        growing.push("memory");
    }
    if fds_last > fds_mid + 16 {
        growing.push("file descriptors");
    }
    if q_last > (2.0 * q_mid).max(2_000.0) {
        growing.push("queue depth");
    }
    if p99_last > (3.0 * p99_mid).max(100.0) {
        growing.push("ack latency");
    }
    let total_sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    let total_errors = errors.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "soak benchmark ({} webhooks/s for {} s, Ometria at 4 requests/s)",
        args.rate, args.duration
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "figure", "middle third", "last third"
    );
    println!(
        "{:<44} {:>14.1} {:>14.1}",
        "service RSS MiB (mean)", rss_mid, rss_last
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "open file descriptors (max)", fds_mid, fds_last
    );
    println!(
        "{:<44} {:>14.0} {:>14.0}",
        "work + retry queue depth (mean)", q_mid, q_last
    );
    println!(
        "{:<44} {:>14.2} {:>14.2}",
        "webhook ack p99 ms (mean of samples)", p99_mid, p99_last
    );
    println!(
        "{:<44} {:>14.0} {:>14.0}",
        "events settled per s",
        settled_rate(mid),
        settled_rate(last)
    );
    println!(
        "webhooks sent {total_sent}, not acknowledged {total_errors}; verdict: {}",
        if growing.is_empty() {
            "flat".to_owned()
        } else {
            format!("growing: {}", growing.join(", "))
        }
    );
    let json = serde_json::json!({
        "bench": "soak",
        "duration_s": args.duration,
        "rate_per_s": args.rate,
        "sent": total_sent,
        "errors": total_errors,
        "rss_mid_mib": round2(rss_mid),
        "rss_last_mib": round2(rss_last),
        "rss_ratio_last_to_mid": round2(rss_last / rss_mid),
        "fds_mid": fds_mid,
        "fds_last": fds_last,
        "queued_mid": round2(q_mid),
        "queued_last": round2(q_last),
        "ack_p99_mid_ms": round2(p99_mid),
        "ack_p99_last_ms": round2(p99_last),
        "settled_per_s_last": round2(settled_rate(last)),
        "growing": growing,
        "samples": samples.len(),
    });
    println!("{json}");
    if !growing.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
