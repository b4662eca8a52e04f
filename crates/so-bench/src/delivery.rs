//! `delivery`: preloaded order lifecycles drained by the real worker
//! process into a fake Ometria that runs inside this benchmark.
//!
//! Phases: (1) baseline, raw consume-and-ack rate of the broker; (2) events/s
//! with Ometria unlimited, SQLite then PostgreSQL; (3) Ometria limited to
//! 4 requests/s: budget use, records per request, 429s, coalescing gain,
//! bytes per record (overall and per type) and per request;
//! (4) latency from the ingress's 200 to Ometria's acceptance at a steady
//! rate; (5) worker peak RSS with a large backlog in the broker. Loss is
//! counted per event from the fake's write log (see
//! [`crate::delivery_accounting`]); a loss exits 2, after the JSON line.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use so_domain::ometria::RecordType;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};

use crate::delivery_accounting::{self as accounting, Accounts};
use crate::delivery_contacts::wait_for_final_contacts;
use crate::delivery_env::{Db, create_db, drop_db, env_for, fresh_prefix, preload};
use crate::events::{self, Mix};
use crate::sizes::Sizes;
use crate::stats::round2;
use crate::{baseline, delivery_latency, ingress, process};
use crate::{delivery_quiet, delivery_requests};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Events drained with Ometria unlimited (per backend).
    #[arg(long, default_value_t = 20_000)]
    pub(crate) events: usize,
    /// Events drained with Ometria limited to 4 requests/s. Large enough
    /// that the phase's own ceiling on records per request (its last request
    /// of each type is part-filled) stays above issue 15's 95: about 98 at
    /// 30 000 events, 91 at 8 000.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) limited_events: usize,
    /// Webhooks per second of the latency phase.
    #[arg(long, default_value_t = 100)]
    pub(crate) rate: u64,
    /// Seconds of the latency phase.
    #[arg(long, default_value_t = 20)]
    pub(crate) rate_duration: u64,
    /// Messages preloaded for the memory phase (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) backlog: usize,
    /// Seconds the worker runs against the backlog.
    #[arg(long, default_value_t = 20)]
    pub(crate) backlog_seconds: u64,
    /// Skip the PostgreSQL run.
    #[arg(long)]
    pub(crate) no_postgres: bool,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub(crate) amqp_url: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub(crate) postgres_url: String,
    /// The `shopify-ometria` binary (default: next to this one).
    #[arg(long)]
    pub(crate) bin: Option<PathBuf>,
    /// Leave `database.email_key` unset, for a binary from before it
    /// existed (which refuses unknown settings), to compare side by side.
    #[arg(long)]
    pub(crate) no_email_key: bool,
    /// Order events only, without the customers' own webhooks: the mix of
    /// figures measured before 2026-12-08.
    #[arg(long)]
    pub(crate) orders_only: bool,
}

impl Args {
    pub(crate) fn mix(&self) -> Mix {
        if self.orders_only {
            Mix::OrdersOnly
        } else {
            Mix::WithCustomers
        }
    }
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let bin = args.bin.clone().unwrap_or_else(process::sibling_binary);
    let sample = events::lifecycle(1, 0, Mix::OrdersOnly).remove(0).body;

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
    let e2e = delivery_latency::latency_run(&args, &bin).await?;
    let latency = &e2e.latencies;

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
    // Records per request cannot exceed records per fewest requests.
    let records_per_request_ceiling =
        limited.records as f64 / limited.fewest_requests.max(1) as f64;
    let events_per_record = args.limited_events as f64 / limited.records.max(1) as f64;
    // Events per record cannot exceed events per distinct record written.
    let records_per_entity = limited.records as f64 / limited.distinct_entities.max(1) as f64;
    let events_per_entity = args.limited_events as f64 / limited.distinct_entities.max(1) as f64;
    let mut drained = sqlite.accounts;
    if let Some(p) = &postgres {
        drained.add(&p.accounts);
    }
    drained.add(&limited.accounts);
    // A send the ingress refused was never accepted (Shopify would send it
    // again), so it is shown beside `lost`, not in it.
    let lost = drained.lost + e2e.never_arrived;
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
    println!(
        "{:<52} {:>12.1}",
        "limited: records per request's ceiling", records_per_request_ceiling
    );
    println!("{:<52} {:>12}", "limited: 429s received", limited.http_429);
    println!(
        "{:<52} {:>12.2}",
        "limited: events per Ometria record", events_per_record
    );
    println!(
        "{:<52} {:>12}",
        "limited: distinct records (entities) written", limited.distinct_entities
    );
    println!(
        "{:<52} {:>12.2}",
        "limited: records per entity (floor 1.0)", records_per_entity
    );
    println!(
        "{:<52} {:>12.2}",
        "limited: events per entity (events per record's ceiling)", events_per_entity
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
    println!(
        "{:<52} {:>12}",
        "preloaded events written / superseded / lost",
        format!(
            "{} / {} / {}",
            drained.written, drained.superseded, drained.lost
        )
    );
    println!(
        "{:<52} {:>12}",
        "order versions written twice", drained.doubles
    );
    println!(
        "{:<52} {:>12}",
        "latency phase: not acknowledged / never arrived",
        format!("{} / {}", e2e.unacknowledged, e2e.never_arrived)
    );
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
        "records_per_request_ceiling": round2(records_per_request_ceiling),
        "http_429": limited.http_429,
        "events_per_record": round2(events_per_record),
        "distinct_entities": limited.distinct_entities,
        "records_per_entity": round2(records_per_entity),
        "events_per_entity": round2(events_per_entity),
        "mix": if args.orders_only { "orders_only" } else { "with_customers" },
        "e2e_p50_ms": round2(latency.ms(0.5)),
        "e2e_p99_ms": round2(latency.ms(0.99)),
        "e2e_samples": latency.len(),
        "e2e_sent": e2e.sent,
        "e2e_unacknowledged": e2e.unacknowledged,
        "e2e_never_arrived": e2e.never_arrived,
        "events_accounted": drained.events,
        "events_written": drained.written,
        "events_superseded": drained.superseded,
        "events_lost": drained.lost,
        "doubles_written": drained.doubles,
        "accounts_unlimited_sqlite": sqlite.accounts,
        "accounts_unlimited_postgres": postgres.as_ref().map(|p| p.accounts),
        "accounts_limited": limited.accounts,
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
    if lost > 0 {
        std::process::exit(2);
    }
    Ok(())
}

struct Drained {
    events_per_s: f64,
    requests: usize,
    /// The fewest requests these records fit in: per record type, its
    /// records in requests of 100 (one type per request).
    fewest_requests: usize,
    requests_per_s: f64,
    records: usize,
    http_429: u64,
    /// Every preloaded event, accounted for from the fake's write log.
    accounts: Accounts,
    /// Bytes of the accepted push requests.
    sizes: Sizes,
    /// Distinct contacts written, and of those how many more than once:
    /// the fake's own write counts, so a re-send shows whatever its cause.
    contacts: usize,
    contacts_rewritten: usize,
    /// Distinct records the fake holds (orders, contacts, products): the
    /// fewest records the phase's events could have needed.
    distinct_entities: usize,
    /// Customers whose final attributes reached the fake, and how many
    /// customers there are.
    customers_final: usize,
    customers: usize,
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
    let mut evs = events::lifecycle(n, 1, args.mix());
    let expected = accounting::stamp(&mut evs)?;
    accounting::watch(&fake);
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
    if !delivery_quiet::wait_quiet(&args.amqp_url, &prefix, ops_port, n).await? {
        eprintln!("  events still in a retry tier or unsettled after the bounded wait");
    }
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
    let records = ok.iter().map(|r| r.records).sum();
    let fewest_requests = delivery_requests::fewest(&ok);
    delivery_requests::dump(&ok);
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
    let accounts = accounting::account_fake(&expected, &fake);
    let write_counts = fake.write_counts();
    let distinct_entities = write_counts.len();
    let contact_writes: Vec<u32> = write_counts
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
            .filter(|e| e.topic.starts_with("orders/"))
            .map(|e| e.customer)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        contacts: contact_writes.len(),
        distinct_entities,
        contacts_rewritten: contact_writes.iter().filter(|&&n| n > 1).count(),
        events_per_s: n as f64 / elapsed,
        requests: ok.len(),
        fewest_requests,
        requests_per_s,
        records,
        http_429: fake.rate_limited_responses(),
        accounts,
        sizes: Sizes::of(&ok),
    })
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
    let evs = events::lifecycle(args.backlog, 3, args.mix());
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
