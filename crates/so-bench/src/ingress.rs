//! `ingress`: signed realistic webhooks through the real ingress process.
//!
//! Phases: (1) baseline, raw confirmed publishes; (2) saturation, N
//! keep-alive connections sending as fast as the ingress answers; (3) fixed
//! rate, an open-loop schedule (latency measured from the scheduled send
//! time, so a stall is not hidden by the load generator waiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::payloads::{self, Prepared};
use crate::stats::{Latencies, round2};
use crate::{baseline, process};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seconds of the saturation phase.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections (and baseline publishes in flight).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Webhooks per second of the fixed-rate latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of the fixed-rate phase.
    #[arg(long, default_value_t = 10)]
    rate_duration: u64,
    /// Seconds of the baseline phase.
    #[arg(long, default_value_t = 5)]
    baseline_duration: u64,
    /// Broker to use (the same for baseline and ingress).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// The `shopify-ometria` binary (default: next to this one).
    #[arg(long)]
    bin: Option<std::path::PathBuf>,
    /// Shopify sample payloads (default: shared/fixtures/shopify).
    #[arg(long)]
    fixtures: Option<std::path::PathBuf>,
}

const SECRET: &str = "bench-secret";

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let fixtures = args.fixtures.clone().unwrap_or_else(payloads::default_dir);
    let prepared = Arc::new(payloads::prepare(&fixtures, SECRET, 2_000)?);
    let mean_body = payloads::mean_size(&prepared);
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    eprintln!(
        "payloads: {} distinct signed bodies, mean {mean_body} bytes",
        prepared.len()
    );

    eprintln!(
        "phase 1/3: baseline (raw confirmed publishes) for {} s ...",
        args.baseline_duration
    );
    let baseline_body = vec![b'x'; mean_body];
    let baseline_rate = baseline::confirmed_publish_rate(
        &args.amqp_url,
        &format!("{prefix}.baseline"),
        &baseline_body,
        args.concurrency,
        4,
        Duration::from_secs(args.baseline_duration),
    )
    .await?;

    let port = process::free_port()?;
    let ops_port = process::free_port()?;
    let env = vec![
        ("SO_AMQP__URL".to_owned(), args.amqp_url.clone()),
        ("SO_AMQP__PREFIX".to_owned(), prefix.clone()),
        ("SO_INGRESS__LISTEN".to_owned(), format!("127.0.0.1:{port}")),
        ("SO_OPS__LISTEN".to_owned(), format!("127.0.0.1:{ops_port}")),
        ("SO_SHOPIFY__WEBHOOK_SECRETS".to_owned(), SECRET.to_owned()),
    ];
    let bin = args.bin.clone().unwrap_or_else(process::sibling_binary);
    let child = process::spawn_service(
        &bin,
        "ingress",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;
    let pid = child.id().unwrap_or(0);
    let target = format!("127.0.0.1:{port}");

    eprintln!(
        "phase 2/3: saturation, {} connections for {} s ...",
        args.concurrency, args.duration
    );
    let cpu_start = process::cpu_ms(pid);
    let sat = saturate(
        &target,
        prepared.clone(),
        args.concurrency,
        Duration::from_secs(args.duration),
    )
    .await;
    let cpu_sat = process::cpu_ms(pid);
    eprintln!(
        "phase 3/3: fixed rate {}/s for {} s ...",
        args.rate, args.rate_duration
    );
    let fixed = fixed_rate(
        &target,
        prepared.clone(),
        args.rate,
        Duration::from_secs(args.rate_duration),
        args.concurrency,
    )
    .await;
    let cpu_fixed = process::cpu_ms(pid);
    let rss = process::peak_rss_mib(pid).unwrap_or(f64::NAN);
    // CPU per webhook is steadier on a shared machine than webhooks/s.
    let per_1000 = |from: Option<f64>, to: Option<f64>, ok: u64| match (from, to) {
        (Some(a), Some(b)) if ok > 0 => (b - a) / ok as f64 * 1000.0,
        _ => f64::NAN,
    };
    let cpu_per_1000 = per_1000(cpu_start, cpu_sat, sat.ok);
    let cpu_per_1000_fixed = per_1000(cpu_sat, cpu_fixed, fixed.ok);
    process::stop(child).await;
    cleanup(&args.amqp_url, &prefix).await;

    let webhooks_per_s = sat.ok as f64 / sat.elapsed;
    let ratio = webhooks_per_s / baseline_rate;
    let errors = sat.errors + fixed.errors;
    println!(
        "ingress benchmark (mean body {mean_body} B, {} connections)",
        args.concurrency
    );
    println!("{:<44} {:>14}", "figure", "value");
    println!(
        "{:<44} {:>14.0}",
        "baseline: raw confirmed publishes/s", baseline_rate
    );
    println!(
        "{:<44} {:>14.0}",
        "saturation: webhooks/s (200 OK)", webhooks_per_s
    );
    println!("{:<44} {:>14.2}", "ratio to baseline", ratio);
    println!(
        "{:<44} {:>14.2}",
        "saturation p50 / p99 ms",
        sat.lat.ms(0.5)
    );
    println!("{:<44} {:>14.2}", "", sat.lat.ms(0.99));
    println!(
        "{:<44} {:>14}",
        format!("fixed {}/s: sent", args.rate),
        fixed.lat.len()
    );
    println!("{:<44} {:>14.2}", "fixed-rate p50 ms", fixed.lat.ms(0.5));
    println!("{:<44} {:>14.2}", "fixed-rate p99 ms", fixed.lat.ms(0.99));
    println!(
        "{:<44} {:>14.2}",
        "fixed-rate p99.9 ms",
        fixed.lat.ms(0.999)
    );
    println!("{:<44} {:>14.1}", "ingress peak RSS MiB", rss);
    println!(
        "{:<44} {:>14.1}",
        "ingress CPU ms per 1 000 webhooks (saturation)", cpu_per_1000
    );
    println!(
        "{:<44} {:>14.1}",
        "ingress CPU ms per 1 000 webhooks (fixed rate)", cpu_per_1000_fixed
    );
    println!("{:<44} {:>14}", "errors (non-200 or transport)", errors);
    let json = serde_json::json!({
        "bench": "ingress",
        "webhooks_per_s": round2(webhooks_per_s),
        "baseline_publish_per_s": round2(baseline_rate),
        "ratio": round2(ratio),
        "p50_ms": round2(fixed.lat.ms(0.5)),
        "p99_ms": round2(fixed.lat.ms(0.99)),
        "p999_ms": round2(fixed.lat.ms(0.999)),
        "fixed_rate_per_s": args.rate,
        "fixed_rate_achieved_per_s": round2(fixed.ok as f64 / fixed.elapsed),
        "saturation_p50_ms": round2(sat.lat.ms(0.5)),
        "saturation_p99_ms": round2(sat.lat.ms(0.99)),
        "ingress_peak_rss_mib": round2(rss),
        "ingress_cpu_ms_per_1000": round2(cpu_per_1000),
        "ingress_cpu_ms_per_1000_fixed": round2(cpu_per_1000_fixed),
        "errors": errors,
        "concurrency": args.concurrency,
        "mean_body_bytes": mean_body,
    });
    println!("{json}");
    Ok(())
}

struct PhaseResult {
    ok: u64,
    errors: u64,
    elapsed: f64,
    lat: Latencies,
}

/// One keep-alive HTTP/1.1 connection.
pub(crate) struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Conn {
    pub(crate) async fn open(target: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(target).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Conn { sender })
    }

    /// Sends one webhook; true on 200.
    pub(crate) async fn send(&mut self, p: &Prepared, webhook_id: u64) -> bool {
        let req = Request::post("/webhooks/shopify")
            .header("host", "bench")
            .header("content-type", "application/json")
            .header("x-shopify-hmac-sha256", &p.signature)
            .header("x-shopify-topic", &p.topic)
            .header("x-shopify-shop-domain", "bench-shop.myshopify.com")
            .header("x-shopify-api-version", "2026-07")
            .header("x-shopify-webhook-id", format!("bench-{webhook_id}"))
            .header("x-shopify-triggered-at", "2026-11-22T10:00:00Z")
            .body(Full::new(p.body.clone()));
        let Ok(req) = req else { return false };
        if self.sender.ready().await.is_err() {
            return false;
        }
        match self.sender.send_request(req).await {
            Ok(res) => {
                let ok = res.status() == 200;
                let _body = res.into_body().collect().await;
                ok
            }
            Err(_) => false,
        }
    }
}

async fn saturate(
    target: &str,
    prepared: Arc<Vec<Prepared>>,
    connections: usize,
    duration: Duration,
) -> PhaseResult {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (target, prepared, counter) = (target.to_owned(), prepared.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut errors) = (0u64, 0u64);
            let Ok(mut conn) = Conn::open(&target).await else {
                return (lat, ok, 1);
            };
            while started.elapsed() < duration {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let p = &prepared[n as usize % prepared.len()];
                let t = Instant::now();
                if conn.send(p, n).await {
                    ok += 1;
                    lat.push(t.elapsed().as_micros() as u32);
                } else {
                    errors += 1;
                    match Conn::open(&target).await {
                        Ok(c) => conn = c,
                        Err(_) => break,
                    }
                }
            }
            (lat, ok, errors)
        }));
    }
    collect(tasks, started).await
}

async fn fixed_rate(
    target: &str,
    prepared: Arc<Vec<Prepared>>,
    rate: u64,
    duration: Duration,
    connections: usize,
) -> PhaseResult {
    let total = rate * duration.as_secs();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (target, prepared, next) = (target.to_owned(), prepared.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut errors) = (0u64, 0u64);
            let Ok(mut conn) = Conn::open(&target).await else {
                return (lat, ok, 1);
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i as u64 >= total {
                    break;
                }
                let due = started + interval * i as u32;
                tokio::time::sleep_until(due.into()).await;
                let p = &prepared[i % prepared.len()];
                if conn.send(p, 10_000_000 + i as u64).await {
                    ok += 1;
                    lat.push(due.elapsed().as_micros() as u32);
                } else {
                    errors += 1;
                    match Conn::open(&target).await {
                        Ok(c) => conn = c,
                        Err(_) => break,
                    }
                }
            }
            (lat, ok, errors)
        }));
    }
    collect(tasks, started).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Vec<u32>, u64, u64)>>,
    started: Instant,
) -> PhaseResult {
    let mut all = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        if let Ok((lat, o, e)) = t.await {
            all.extend(lat);
            ok += o;
            errors += e;
        }
    }
    PhaseResult {
        ok,
        errors,
        elapsed: started.elapsed().as_secs_f64(),
        lat: Latencies::from_unsorted(all),
    }
}

/// Deletes the benchmark's queues and exchanges (they hold many messages).
pub(crate) async fn cleanup(url: &str, prefix: &str) {
    let names = so_queue::Names::new(prefix, 8, &[5, 30, 120, 600, 3600]);
    let Ok(probe) = so_queue::probe::Probe::connect(url).await else {
        return;
    };
    let _deleted = probe.delete_topology(&names).await;
    probe.close().await;
}
