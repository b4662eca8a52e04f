//! `console`: what a dead-letter page of the console costs (issue 17: p99
//! under 200 ms with 100 shops and 100 000 dead letters). Dead letters are
//! put into a fresh prefix's DLQ as the worker writes them, so they reach
//! the letter index through the real path (index queue, indexer, store);
//! then the admin API's list route, served as the ops listener serves it,
//! answers a mix of filters and pages over HTTP, one request at a time.
//! Then the console's HTML pages through a logged-in session (Shops with
//! every shop, a Shop, Dead letters first, filtered and deep pages).
//! Baseline of the same run: `/healthz` on the same listener. For
//! comparison, the listing by scan (the way before the index) on a smaller
//! queue of its own, since one scan of the full queue takes minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use secrecy::SecretString;
use so_domain::{
    ApiVersion, EntityKey, EventMeta, ReasonCode, ShopDomain, Stage, TopicName, WebhookId,
};
use so_ops::{Filter, QueueOps, TargetQueue};
use so_queue::{Broker, DeathNote, Publisher};

use crate::console_html;
use crate::stats::{Latencies, round2};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[arg(long, default_value_t = 100)]
    shops: usize,
    /// Dead letters put into the queue (and indexed) before the requests.
    #[arg(long, default_value_t = 100_000)]
    letters: usize,
    /// Listing requests timed (and as many baseline requests).
    #[arg(long, default_value_t = 1_000)]
    requests: usize,
    /// Rounds of the console's HTML pages (each round fetches every page once).
    #[arg(long, default_value_t = 200)]
    page_rounds: usize,
    /// Dedupe ledger rows committed before the requests, spread over the shops (the Shops
    /// page reads each shop's last webhook from it).
    #[arg(long, default_value_t = 1_000_000)]
    ledger_rows: usize,
    /// Size of the separate queue the scan listing is timed on (0: skip).
    #[arg(long, default_value_t = 2_000)]
    scan_letters: usize,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// An empty database for the index instead of a scratch SQLite file
    /// (e.g. a fresh PostgreSQL database; it is left as it is afterwards).
    #[arg(long)]
    database_url: Option<String>,
}

const TOKEN: &str = "bench-admin-token-0123456789";
const REASONS: [ReasonCode; 3] = [
    ReasonCode::OmetriaRecordRejected,
    ReasonCode::InvalidPayload,
    ReasonCode::RetriesExhausted,
];
const TOPICS: [&str; 3] = ["orders/updated", "customers/update", "products/update"];

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.shops > 0 && args.requests > 0,
        "--shops and --requests must be > 0"
    );
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let scratch = crate::scratch::Scratch::open(&args.amqp_url, &prefix).await?;
    let store = match &args.database_url {
        Some(url) => so_store::Store::connect(url, 4)
            .await
            .context("opening --database-url")?,
        None => scratch.store.clone(),
    };
    anyhow::ensure!(
        store.letters_count("dead_letter").await? == 0,
        "the database's letter index is not empty"
    );
    let indexer = so_ops::index::Indexer::new(scratch.broker.clone(), store.clone());
    tokio::spawn(indexer.run(scratch.stop.clone()));

    eprintln!(
        "phase 1/4: {} dead letters of {} shops through the index ...",
        args.letters, args.shops
    );
    let started = Instant::now();
    preload(&scratch.broker, args.letters, args.shops).await?;
    let published = started.elapsed().as_secs_f64();
    wait_indexed(&store, args.letters as u64).await?;
    let indexed_in = started.elapsed().as_secs_f64();
    eprintln!("phase 1b/4: {} ledger rows ...", args.ledger_rows);
    let started = Instant::now();
    crate::console_ledger::seed(&store, args.ledger_rows, args.shops, &shop).await?;
    let ledger_s = started.elapsed().as_secs_f64();

    eprintln!("phase 2/4: serving the admin API and the console ...");
    let ops = QueueOps::new(scratch.broker.clone(), store.clone());
    let base = serve(&ops, &prefix, args.shops).await?;
    // Redirects are the console's answers (login), not to be followed.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    eprintln!(
        "phase 3/4: {} list requests and {} baseline requests ...",
        args.requests, args.requests
    );
    let paths = mix(args.requests, args.shops, args.letters);
    let baseline =
        time_requests(&client, &base, &vec!["/healthz".to_owned(); args.requests]).await?;
    let each = time_each(&client, &base, &paths).await?;
    let by_kind: Vec<(&str, Latencies)> = KINDS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let of_kind = each.iter().skip(k).step_by(KINDS.len()).copied().collect();
            (*name, Latencies::from_unsorted(of_kind))
        })
        .collect();
    let list = Latencies::from_unsorted(each);
    eprintln!(
        "phase 3b/4: {} rounds of the console's {} HTML pages ...",
        args.page_rounds,
        console_html::PAGES.len()
    );
    let session = console_html::log_in(&client, &base, TOKEN).await?;
    let pages = console_html::time_pages(
        &client,
        &base,
        &session,
        args.page_rounds,
        (args.shops, args.letters, args.ledger_rows),
        &shop,
    )
    .await?;
    let depth = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 0)
        .await?;

    let scan = if args.scan_letters > 0 {
        eprintln!(
            "phase 4/4: the scan listing on {} dead letters ...",
            args.scan_letters
        );
        Some(time_scan(&args).await?)
    } else {
        None
    };
    scratch.close(&args.amqp_url, &prefix).await;

    let backend = if args.database_url.is_some() {
        "database_url"
    } else {
        "sqlite"
    };
    println!(
        "console benchmark: {} shops, {} dead letters, store {backend}",
        args.shops, args.letters
    );
    println!("{:<56} {:>12}", "figure", "value");
    println!("{:<56} {:>12.1}", "published (s)", published);
    println!("{:<56} {:>12.1}", "published and indexed (s)", indexed_in);
    println!(
        "{:<56} {:>12.1}",
        format!("{} ledger rows committed (s)", args.ledger_rows),
        ledger_s
    );
    println!(
        "{:<56} {:>12}",
        "queue depth / index rows",
        format!("{}/{}", depth.depth, depth.indexed)
    );
    println!(
        "{:<56} {:>12.2}",
        "baseline /healthz p50 ms",
        baseline.ms(0.5)
    );
    println!(
        "{:<56} {:>12.2}",
        "baseline /healthz p99 ms",
        baseline.ms(0.99)
    );
    println!("{:<56} {:>12.2}", "list p50 ms", list.ms(0.5));
    println!("{:<56} {:>12.2}", "list p99 ms", list.ms(0.99));
    println!("{:<56} {:>12.2}", "list max ms", list.ms(1.0));
    for (name, l) in &by_kind {
        println!(
            "{:<56} {:>12}",
            format!("list {name} p50/p99 ms"),
            format!("{:.1}/{:.1}", l.ms(0.5), l.ms(0.99))
        );
    }
    for (name, l) in &pages {
        println!(
            "{:<56} {:>12}",
            format!("html {name} p50/p99 ms"),
            format!("{:.1}/{:.1}", l.ms(0.5), l.ms(0.99))
        );
    }
    if let Some((n, ms)) = scan {
        println!(
            "{:<56} {:>12.1}",
            format!("scan listing of {n} letters, mean ms"),
            ms
        );
    }
    let json = serde_json::json!({
        "bench": "console",
        "store": backend,
        "shops": args.shops,
        "letters": args.letters,
        "requests": list.len(),
        "depth": depth.depth,
        "indexed": depth.indexed,
        "published_s": round2(published),
        "indexed_s": round2(indexed_in),
        "ledger_rows": args.ledger_rows,
        "ledger_s": round2(ledger_s),
        "baseline_p50_ms": round2(baseline.ms(0.5)),
        "baseline_p99_ms": round2(baseline.ms(0.99)),
        "list_p50_ms": round2(list.ms(0.5)),
        "list_p99_ms": round2(list.ms(0.99)),
        "list_max_ms": round2(list.ms(1.0)),
        "list_p99_ms_by_kind": by_kind
            .iter()
            .map(|(name, l)| ((*name).to_owned(), serde_json::json!(round2(l.ms(0.99)))))
            .collect::<serde_json::Map<_, _>>(),
        "html_rounds": args.page_rounds,
        "html_p50_ms_by_page": by_page(&pages, 0.5),
        "html_p99_ms_by_page": by_page(&pages, 0.99),
        "html_p99_ms_max": pages.iter().map(|(_, l)| round2(l.ms(0.99))).fold(0.0, f64::max),
        "scan_letters": scan.map(|(n, _)| n),
        "scan_list_mean_ms": scan.map(|(_, ms)| round2(ms)),
    });
    println!("{json}");
    Ok(())
}

fn by_page(pages: &[(&str, Latencies)], q: f64) -> serde_json::Map<String, serde_json::Value> {
    pages
        .iter()
        .map(|(name, l)| ((*name).to_owned(), serde_json::json!(round2(l.ms(q)))))
        .collect()
}

/// Dead letters as the worker writes them, spread over shops, reasons and
/// topics, 256 confirms in flight.
async fn preload(broker: &Broker, n: usize, shops: usize) -> anyhow::Result<()> {
    let publisher = Publisher::new(broker.clone());
    let body = br#"{"id":1,"email":"someone@example.com","note":"bench"}"#;
    let mut pending = futures::stream::FuturesUnordered::new();
    for i in 0..n {
        let meta = EventMeta {
            webhook_id: WebhookId::parse(&uuid::Uuid::new_v4().to_string())?,
            topic: TopicName::parse(TOPICS[i % TOPICS.len()])?,
            shop: ShopDomain::parse(&shop(i % shops))?,
            api_version: ApiVersion::parse("2026-07")?,
            event_id: None,
            triggered_at: None,
            received_at: chrono::Utc::now(),
            entity: EntityKey::Order(1_000_000 + i as u64),
        };
        let envelope = so_queue::Envelope::event(&meta);
        let p = publisher.clone();
        let note = DeathNote {
            stage: Stage::Push.as_str(),
            reason: REASONS[i % REASONS.len()].as_str(),
            detail: "bench",
            attempts: 1,
        };
        pending.push(async move { p.dead_letter("work.0", &envelope, body, &note).await });
        if pending.len() >= 256
            && let Some(r) = pending.next().await
        {
            r?;
        }
    }
    while let Some(r) = pending.next().await {
        r?;
    }
    Ok(())
}

fn shop(i: usize) -> String {
    format!("bench-shop-{i}.myshopify.com")
}

async fn wait_indexed(store: &so_store::Store, n: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let have = store.letters_count("dead_letter").await?;
        if have >= n {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {have} of {n} indexed after 30 min"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The ops listener with the admin API and the console, as `serve` mounts them, serving
/// `shops` shops from the configuration file.
async fn serve(ops: &QueueOps, prefix: &str, shops: usize) -> anyhow::Result<String> {
    let file = std::env::temp_dir().join(format!("{prefix}.toml"));
    std::fs::write(&file, console_html::shops_toml(shops, &shop))?;
    let env = [
        ("SO_AMQP__PREFIX", prefix),
        ("SO_OPS__ADMIN_TOKEN", TOKEN),
        ("SO_OPS__LISTEN", "127.0.0.1:0"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let loaded = so_platform::Config::load(Some(&file), env);
    let _removed = std::fs::remove_file(&file);
    let config = Arc::new(loaded.context("bench configuration")?);
    let shops = so_ops::ShopOps::new(ops.clone(), config.clone());
    let token = SecretString::from(TOKEN.to_owned());
    let console = so_console::Console::new(ops.clone(), shops.clone(), &config, token.clone());
    let admin =
        so_ops::http_api::router(ops.clone(), shops, token).merge(so_console::router(console));
    let server =
        so_platform::ops::OpsServer::bind("127.0.0.1:0".parse()?, Vec::new(), admin).await?;
    let base = format!("http://{}", server.local_addr()?);
    tokio::spawn(server.run_until_stopped(tokio_util::sync::CancellationToken::new()));
    Ok(base)
}

/// The requests a console's dead-letter page makes: first pages and deep
/// pages, by shop, reason, topic and time, alone and combined.
/// The kinds of request of [`mix`], in its order.
const KINDS: [&str; 6] = [
    "first_page",
    "page",
    "shop",
    "reason_page",
    "shop_topic",
    "time_range",
];

fn mix(n: usize, shops: usize, letters: usize) -> Vec<String> {
    let pages = (letters / 50).max(1);
    (0..n)
        .map(|i| {
            let s = shop((i * 7) % shops);
            let reason = REASONS[i % REASONS.len()].as_str();
            let topic = TOPICS[i % TOPICS.len()];
            let page = (i * 31) % pages * 50;
            let q = match i % KINDS.len() {
                0 => "limit=50".to_owned(),
                1 => format!("limit=50&offset={page}"),
                2 => format!("shop={s}&limit=50"),
                3 => format!("reason={reason}&limit=50&offset={}", page / 3),
                4 => format!("shop={s}&topic={topic}&limit=20"),
                _ => "since=2000-01-01&until=2100-01-01&limit=50&offset=100".to_owned(),
            };
            format!("/admin/dead-letters?{q}")
        })
        .collect()
}

async fn time_requests(
    client: &reqwest::Client,
    base: &str,
    paths: &[String],
) -> anyhow::Result<Latencies> {
    Ok(Latencies::from_unsorted(
        time_each(client, base, paths).await?,
    ))
}

/// Each request's time in microseconds, in order.
async fn time_each(
    client: &reqwest::Client,
    base: &str,
    paths: &[String],
) -> anyhow::Result<Vec<u32>> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let started = Instant::now();
        let res = client
            .get(format!("{base}{p}"))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        let status = res.status();
        let _body = res.bytes().await?;
        out.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        anyhow::ensure!(status.is_success(), "{p}: {status}");
    }
    Ok(out)
}

/// Mean time of a listing by scan on a queue of `scan_letters` dead
/// letters (a prefix of its own), three runs.
async fn time_scan(args: &Args) -> anyhow::Result<(usize, f64)> {
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let scratch = crate::scratch::Scratch::open(&args.amqp_url, &prefix).await?;
    preload(&scratch.broker, args.scan_letters, args.shops).await?;
    let ops = QueueOps::new(scratch.broker.clone(), scratch.store.clone());
    let filter = Filter {
        shops: vec![shop(1)],
        ..Filter::default()
    };
    let mut total = 0.0;
    for _ in 0..3 {
        let started = Instant::now();
        ops.list_by_scan(TargetQueue::DeadLetter, &filter, 50)
            .await?;
        total += started.elapsed().as_secs_f64() * 1000.0;
    }
    scratch.close(&args.amqp_url, &prefix).await;
    Ok((args.scan_letters, total / 3.0))
}
