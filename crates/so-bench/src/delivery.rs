//! `delivery`: preloaded order lifecycles drained by the real worker
//! process into a fake Ometria that runs inside this benchmark.
//!
//! Phases: (1) baseline, raw consume-and-ack rate of the broker; (2) events/s
//! with Ometria unlimited, SQLite then PostgreSQL; (3) Ometria limited to
//! 4 requests/s: budget use, records per request, 429s, coalescing gain,
//! bytes per record (overall and per type) and per request;
//! (4) latency from the ingress's 200 to Ometria's acceptance at a steady
//! rate; (5) worker peak RSS with a large backlog in the broker.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{FuturesUnordered, StreamExt};
use secrecy::SecretString;
use so_domain::ometria::RecordType;
use so_domain::{ApiVersion, EventMeta, ShopDomain, TopicName, WebhookId, route_payload};
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};
use so_queue::{AmqpSettings, Broker, Publisher, Route};
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use crate::events::{self, LifecycleEvent};
use crate::sizes::Sizes;
use crate::stats::{Latencies, round2};
use crate::{baseline, ingress, process};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Events drained with Ometria unlimited (per backend).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Events drained with Ometria limited to 4 requests/s.
    #[arg(long, default_value_t = 8_000)]
    limited_events: usize,
    /// Webhooks per second of the latency phase.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds of the latency phase.
    #[arg(long, default_value_t = 20)]
    rate_duration: u64,
    /// Messages preloaded for the memory phase (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    backlog: usize,
    /// Seconds the worker runs against the backlog.
    #[arg(long, default_value_t = 20)]
    backlog_seconds: u64,
    /// Skip the PostgreSQL run.
    #[arg(long)]
    no_postgres: bool,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// The `shopify-ometria` binary (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Leave `database.email_key` unset, for a binary from before it
    /// existed (which refuses unknown settings), to compare side by side.
    #[arg(long)]
    no_email_key: bool,
}

const SHOP: &str = "bench-shop.myshopify.com";

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let bin = args.bin.clone().unwrap_or_else(process::sibling_binary);
    let sample = events::lifecycle(1, 0).remove(0).body;

    eprintln!(
        "phase 1/5: baseline consume-and-ack of {} messages ...",
        args.events
    );
    let prefix = fresh_prefix();
    let baseline = baseline::consume_rate(
        &args.amqp_url,
        &format!("{prefix}.baseline"),
        &sample,
        args.events,
    )
    .await?;

    eprintln!(
        "phase 2/5: {} events, Ometria unlimited, SQLite ...",
        args.events
    );
    // Unlimited means the account budget is not the limit: the client's own
    // limiter is opened up as well.
    let open = [("SO_OMETRIA__REQUESTS_PER_SECOND", "10000")];
    let sqlite = drain_run(
        &args,
        &bin,
        Db::Sqlite,
        args.events,
        FakeConfig::unlimited(),
        &open,
    )
    .await?;
    let postgres = if args.no_postgres {
        None
    } else {
        eprintln!(
            "phase 2/5: {} events, Ometria unlimited, PostgreSQL ...",
            args.events
        );
        Some(
            drain_run(
                &args,
                &bin,
                Db::Postgres,
                args.events,
                FakeConfig::unlimited(),
                &open,
            )
            .await?,
        )
    };

    eprintln!(
        "phase 3/5: {} events, Ometria limited to 4 requests/s ...",
        args.limited_events
    );
    let limited_fake = FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 4.0,
            burst: 4,
        },
        ..FakeConfig::unlimited()
    };
    let limited = drain_run(
        &args,
        &bin,
        Db::Sqlite,
        args.limited_events,
        limited_fake,
        &[("SO_OMETRIA__REQUESTS_PER_SECOND", "4")],
    )
    .await?;

    eprintln!(
        "phase 4/5: {} webhooks/s for {} s through ingress and worker ...",
        args.rate, args.rate_duration
    );
    let latency = latency_run(&args, &bin).await?;

    let rss = if args.backlog > 0 {
        eprintln!(
            "phase 5/5: worker against a backlog of {} messages ...",
            args.backlog
        );
        Some(backlog_run(&args, &bin).await?)
    } else {
        None
    };

    let budget_used = limited.requests_per_s / 4.0;
    let records_per_request = limited.records as f64 / limited.requests.max(1) as f64;
    let events_per_record = args.limited_events as f64 / limited.records.max(1) as f64;
    let lost = sqlite.lost + postgres.as_ref().map_or(0, |p| p.lost) + limited.lost;
    println!("delivery benchmark");
    println!("{:<52} {:>12}", "figure", "value");
    println!(
        "{:<52} {:>12.0}",
        "baseline: raw consume+ack msgs/s", baseline
    );
    println!(
        "{:<52} {:>12.0}",
        "events/s, Ometria unlimited, SQLite", sqlite.events_per_s
    );
    if let Some(p) = &postgres {
        println!(
            "{:<52} {:>12.0}",
            "events/s, Ometria unlimited, PostgreSQL", p.events_per_s
        );
    }
    println!(
        "{:<52} {:>12.2}",
        "ratio to baseline (SQLite)",
        sqlite.events_per_s / baseline
    );
    println!(
        "{:<52} {:>12.2}",
        "limited: requests/s (budget 4)", limited.requests_per_s
    );
    println!("{:<52} {:>12.2}", "limited: budget used", budget_used);
    println!(
        "{:<52} {:>12.1}",
        "limited: records per request", records_per_request
    );
    println!("{:<52} {:>12}", "limited: 429s received", limited.http_429);
    println!(
        "{:<52} {:>12.2}",
        "limited: events per Ometria record", events_per_record
    );
    limited.sizes.print("limited");
    println!(
        "{:<52} {:>5} of {}",
        "limited: customers whose final attributes arrived",
        limited.customers_final,
        limited.customers
    );
    println!(
        "{:<52} {:>5} of {}",
        "limited: contacts written more than once", limited.contacts_rewritten, limited.contacts
    );
    println!(
        "{:<52} {:>12.0}",
        format!("latency at {}/s: p50 ms", args.rate),
        latency.ms(0.5)
    );
    println!(
        "{:<52} {:>12.0}",
        format!("latency at {}/s: p99 ms", args.rate),
        latency.ms(0.99)
    );
    if let Some(r) = rss {
        println!(
            "{:<52} {:>12.1}",
            format!("worker peak RSS MiB, {} backlog", args.backlog),
            r
        );
    }
    println!("{:<52} {:>12}", "lost", lost);
    let mut json = serde_json::json!({
        "bench": "delivery",
        "baseline_consume_per_s": round2(baseline),
        "events_per_s_unlimited": round2(sqlite.events_per_s),
        "events_per_s_unlimited_postgres": postgres.as_ref().map(|p| round2(p.events_per_s)),
        "ratio_unlimited": round2(sqlite.events_per_s / baseline),
        "requests_per_s_limited": round2(limited.requests_per_s),
        "budget_used_ratio": round2(budget_used),
        "records_per_request": round2(records_per_request),
        "http_429": limited.http_429,
        "events_per_record": round2(events_per_record),
        "e2e_p50_ms": round2(latency.ms(0.5)),
        "e2e_p99_ms": round2(latency.ms(0.99)),
        "e2e_samples": latency.len(),
        "worker_peak_rss_mib": rss.map(round2),
        "backlog": args.backlog,
        "lost": lost,
        "contacts_written": limited.contacts,
        "contacts_rewritten": limited.contacts_rewritten,
        "customers_final": limited.customers_final,
        "customers": limited.customers,
    });
    if let Some(map) = json.as_object_mut() {
        limited.sizes.extend(map);
    }
    println!("{json}");
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

struct Drained {
    events_per_s: f64,
    requests: usize,
    requests_per_s: f64,
    records: usize,
    http_429: u64,
    lost: usize,
    /// Bytes of the accepted push requests.
    sizes: Sizes,
    /// Distinct contacts written, and of those how many more than once:
    /// the fake's own write counts, so a re-send shows whatever its cause.
    contacts: usize,
    contacts_rewritten: usize,
    /// Customers whose final attributes reached the fake, and how many
    /// customers there are.
    customers_final: usize,
    customers: usize,
}

/// A scratch database; removed by `drop_db`.
async fn create_db(args: &Args, db: Db, prefix: &str) -> anyhow::Result<String> {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(prefix);
            std::fs::create_dir_all(&dir)?;
            Ok(format!("sqlite://{}/store.db?mode=rwc", dir.display()))
        }
        Db::Postgres => {
            let name = prefix.replace('-', "_");
            let mut conn = sqlx::PgConnection::connect(&args.postgres_url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            let base = args
                .postgres_url
                .rsplit_once('/')
                .map_or(args.postgres_url.as_str(), |(b, _)| b);
            Ok(format!("{base}/{name}"))
        }
    }
}

async fn drop_db(args: &Args, db: Db, prefix: &str) {
    match db {
        Db::Sqlite => {
            let _removed = std::fs::remove_dir_all(std::env::temp_dir().join(prefix));
        }
        Db::Postgres => {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&args.postgres_url).await {
                let q = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    prefix.replace('-', "_")
                );
                let _dropped = sqlx::query(&q).execute(&mut conn).await;
            }
        }
    }
}

fn fresh_prefix() -> String {
    format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn service_env(
    prefix: &str,
    db_url: &str,
    fake: &FakeOmetria,
    ops_port: u16,
) -> Vec<(String, String)> {
    vec![
        ("SO_AMQP__URL".into(), String::new()),
        ("SO_AMQP__PREFIX".into(), prefix.into()),
        ("SO_DATABASE__URL".into(), db_url.into()),
        (
            "SO_DATABASE__EMAIL_KEY".into(),
            "bench-email-key-0123".into(),
        ),
        ("SO_OMETRIA__API_URL".into(), fake.url()),
        ("SO_OMETRIA__API_KEY".into(), fake.api_key().into()),
        ("SO_OPS__LISTEN".into(), format!("127.0.0.1:{ops_port}")),
        ("SO_SHOPIFY__WEBHOOK_SECRETS".into(), "bench-secret".into()),
    ]
}

/// [`service_env`], without the email key if `args` says so.
fn env_for(
    args: &Args,
    prefix: &str,
    db_url: &str,
    fake: &FakeOmetria,
    ops_port: u16,
) -> Vec<(String, String)> {
    let mut env = service_env(prefix, db_url, fake, ops_port);
    if args.no_email_key {
        env.retain(|(k, _)| k != "SO_DATABASE__EMAIL_KEY");
    }
    env
}

/// Publishes `events` to the work partitions as the ingress would.
async fn preload(url: &str, prefix: &str, events: &[LifecycleEvent]) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let settings = AmqpSettings {
        url: SecretString::from(url.to_owned()),
        prefix: prefix.to_owned(),
        ..AmqpSettings::default()
    };
    let broker = Broker::start(settings, stop.clone());
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .context("broker for preloading")?;
    let publisher = Publisher::new(broker);
    let shop = ShopDomain::parse(SHOP)?;
    let mut pending = FuturesUnordered::new();
    for (i, e) in events.iter().enumerate() {
        let topic = TopicName::parse(e.topic)?;
        let entity = route_payload(&topic, &e.body)?;
        let meta = EventMeta {
            webhook_id: WebhookId::parse(&format!("{prefix}-{i}"))?,
            topic,
            shop: shop.clone(),
            api_version: ApiVersion::parse("2026-07")?,
            event_id: None,
            triggered_at: Some(chrono::Utc::now()),
            received_at: chrono::Utc::now(),
            entity,
        };
        let publisher = publisher.clone();
        pending.push(async move { publisher.publish_event(&meta, &e.body, Route::Work).await });
        if pending.len() >= 256
            && let Some(r) = pending.next().await
        {
            r?;
        }
    }
    while let Some(r) = pending.next().await {
        r?;
    }
    stop.cancel();
    Ok(())
}

async fn settled(ops_port: u16) -> f64 {
    let page = process::http_get(&format!("http://127.0.0.1:{ops_port}/metrics"))
        .await
        .unwrap_or_default();
    process::counter(&page, "so_events_processed_total")
}

/// Preloads `n` events, starts the worker, waits until all are settled.
async fn drain_run(
    args: &Args,
    bin: &std::path::Path,
    db: Db,
    n: usize,
    fake: FakeConfig,
    extra: &[(&str, &str)],
) -> anyhow::Result<Drained> {
    let prefix = fresh_prefix();
    let fake = FakeOmetria::start(FakeConfig {
        drain: Drain::Immediate,
        ..fake
    })
    .await;
    let db_url = create_db(args, db, &prefix).await?;
    let evs = events::lifecycle(n, 1);
    preload(&args.amqp_url, &prefix, &evs).await?;
    let ops_port = process::free_port()?;
    let mut env = env_for(args, &prefix, &db_url, &fake, ops_port);
    env[0].1 = args.amqp_url.clone();
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let child = process::spawn_service(
        bin,
        "worker",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;
    let started = Instant::now();
    loop {
        let done = settled(ops_port).await as usize;
        if done >= n {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "only {done} of {n} events settled in 30 min"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Every event settled, but attribute updates may still wait in the
    // outbox (under the budget they settle for a few seconds): the records
    // a contact needs count only once the fake holds its final state.
    let customers_final = wait_for_final_contacts(&fake, &evs).await;
    process::stop(child).await;

    let pushes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/push")
        .collect();
    let ok: Vec<_> = pushes.iter().filter(|r| r.status == 200).collect();
    if std::env::var_os("BENCH_TIMELINE").is_some()
        && let Some(first) = ok.first()
    {
        for r in &ok {
            eprintln!(
                "TL {:8.3} {:?} {}",
                (r.at - first.at).as_secs_f64(),
                r.record_type,
                r.records
            );
        }
    }
    let records = ok.iter().map(|r| r.records).sum();
    let requests_per_s = match (ok.first(), ok.last()) {
        (Some(a), Some(b)) if ok.len() > 1 => (ok.len() - 1) as f64 / (b.at - a.at).as_secs_f64(),
        _ => 0.0,
    };
    let refused = fake.push_errors();
    if let Some(first) = refused.first() {
        eprintln!(
            "  the fake Ometria refused {} records (up to 100 kept), first: {first}",
            refused.len()
        );
    }
    let orders: std::collections::HashSet<u64> = evs.iter().map(|e| e.order_id).collect();
    let lost = orders
        .iter()
        .filter(|id| fake.record(RecordType::Order, &id.to_string()).is_none())
        .count();
    let contact_writes: Vec<u32> = fake
        .write_counts()
        .into_iter()
        .filter(|(k, _)| k.record_type == RecordType::Contact)
        .map(|(_, n)| n)
        .collect();
    ingress::cleanup(&args.amqp_url, &prefix).await;
    drop_db(args, db, &prefix).await;
    Ok(Drained {
        customers_final,
        customers: evs
            .iter()
            .map(|e| e.customer)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        contacts: contact_writes.len(),
        contacts_rewritten: contact_writes.iter().filter(|&&n| n > 1).count(),
        events_per_s: n as f64 / elapsed,
        requests: ok.len(),
        requests_per_s,
        records,
        http_429: fake.rate_limited_responses(),
        lost,
        sizes: Sizes::of(&ok),
    })
}

/// Waits (60 s at most, not requiring success) until the fake holds, for
/// every customer of `evs`, a contact whose orders count is that customer's
/// number of orders; returns how many do.
async fn wait_for_final_contacts(fake: &FakeOmetria, evs: &[LifecycleEvent]) -> usize {
    let mut orders: HashMap<u64, std::collections::HashSet<u64>> = HashMap::new();
    for e in evs {
        orders.entry(e.customer).or_default().insert(e.order_id);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = final_contacts(fake, &orders);
        if done == orders.len() || Instant::now() >= deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn final_contacts(
    fake: &FakeOmetria,
    orders: &HashMap<u64, std::collections::HashSet<u64>>,
) -> usize {
    fake.records(RecordType::Contact)
        .iter()
        .filter(|c| {
            let customer = c
                .get("customer_id")
                .and_then(serde_json::Value::as_str)
                .and_then(|id| id.rsplit(|ch: char| !ch.is_ascii_digit()).next())
                .and_then(|digits| digits.parse::<u64>().ok());
            let count = c
                .get("properties")
                .and_then(|p| p.get(so_domain::behaviour::ORDERS_COUNT))
                .and_then(serde_json::Value::as_u64);
            matches!((customer, count), (Some(id), Some(n))
                if orders.get(&id).is_some_and(|o| o.len() as u64 == n))
        })
        .count()
}

/// Steady webhooks through `run` (ingress + worker); latency from each 200
/// to the moment its order is visible in the fake Ometria.
async fn latency_run(args: &Args, bin: &std::path::Path) -> anyhow::Result<Latencies> {
    let prefix = fresh_prefix();
    let limited = FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 4.0,
            burst: 4,
        },
        drain: Drain::Immediate,
        ..FakeConfig::unlimited()
    };
    let fake = Arc::new(FakeOmetria::start(limited).await);
    let db_url = create_db(args, Db::Sqlite, &prefix).await?;
    let (ops_port, port) = (process::free_port()?, process::free_port()?);
    let mut env = env_for(args, &prefix, &db_url, &fake, ops_port);
    env[0].1 = args.amqp_url.clone();
    env.push(("SO_INGRESS__LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "4".into()));
    let child = process::spawn_service(
        bin,
        "run",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;

    let acked: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let accepted: Arc<std::sync::Mutex<Vec<u32>>> = Arc::default();
    let stop = CancellationToken::new();
    let poller = {
        let (fake, acked, accepted, stop) =
            (fake.clone(), acked.clone(), accepted.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let waiting: Vec<(String, Instant)> = acked
                    .lock()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default();
                for (id, at) in waiting {
                    if fake.record(RecordType::Order, &id).is_some()
                        && let (Ok(mut m), Ok(mut out)) = (acked.lock(), accepted.lock())
                    {
                        m.remove(&id);
                        out.push(at.elapsed().as_micros() as u32);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let total = args.rate * args.rate_duration;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let target = format!("127.0.0.1:{port}");
    let mut conn = ingress::Conn::open(&target).await?;
    let started = Instant::now();
    let evs = events::lifecycle(total as usize * 5, 2);
    let creates: Vec<_> = evs
        .iter()
        .filter(|e| e.topic == "orders/create")
        .take(total as usize)
        .collect();
    for (i, e) in creates.iter().enumerate() {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let p = crate::payloads::Prepared {
            topic: e.topic.to_owned(),
            body: bytes::Bytes::from(e.body.clone()),
            signature: so_shopify::sign("bench-secret", &e.body),
        };
        if conn.send(&p, 50_000_000 + i as u64).await
            && let Ok(mut m) = acked.lock()
        {
            m.insert(e.order_id.to_string(), Instant::now());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().map(|m| !m.is_empty()).unwrap_or(false) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let _polled = poller.await;
    process::stop(child).await;
    ingress::cleanup(&args.amqp_url, &prefix).await;
    drop_db(args, Db::Sqlite, &prefix).await;
    let samples = accepted.lock().map(|v| v.clone()).unwrap_or_default();
    Ok(Latencies::from_unsorted(samples))
}

/// Peak RSS of a worker draining a large preloaded backlog.
async fn backlog_run(args: &Args, bin: &std::path::Path) -> anyhow::Result<f64> {
    let prefix = fresh_prefix();
    let fake = FakeOmetria::start(FakeConfig {
        drain: Drain::Immediate,
        ..FakeConfig::unlimited()
    })
    .await;
    let db_url = create_db(args, Db::Sqlite, &prefix).await?;
    let evs = events::lifecycle(args.backlog, 3);
    preload(&args.amqp_url, &prefix, &evs).await?;
    drop(evs);
    let ops_port = process::free_port()?;
    let mut env = env_for(args, &prefix, &db_url, &fake, ops_port);
    env[0].1 = args.amqp_url.clone();
    let child = process::spawn_service(
        bin,
        "worker",
        &env,
        &format!("http://127.0.0.1:{ops_port}/readyz"),
    )
    .await?;
    let pid = child.id().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(args.backlog_seconds)).await;
    let rss = process::peak_rss_mib(pid).unwrap_or(f64::NAN);
    let done = settled(ops_port).await;
    eprintln!(
        "  worker settled {done} events in {} s with the backlog present",
        args.backlog_seconds
    );
    process::stop(child).await;
    ingress::cleanup(&args.amqp_url, &prefix).await;
    drop_db(args, Db::Sqlite, &prefix).await;
    Ok(rss)
}
