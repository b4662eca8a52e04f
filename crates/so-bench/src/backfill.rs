//! `backfill`: customers and orders read from a fake Shopify Admin API
//! (bulk operations, JSONL, its leaky-bucket cost limits at Standard-plan
//! defaults) and published as webhooks to the real broker, against the raw
//! confirmed-publish rate of the same broker with the same message size.
//! Reports records/s, the ratio to the baseline, and the share of the
//! Admin API cost budget the run used. Loss is read from the broker, not
//! from the backfill's own report: the messages on the work queues (no
//! worker consumes them) against the customers and orders the fake Shopify
//! holds; a difference fails the run (exit 2, after the JSON line).

use std::time::{Duration, Instant};

use anyhow::Context;
use so_domain::ShopDomain;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};
use so_sync::backfill::{Backfill, Entity, Only, Options, Quiet};

use crate::{baseline, queue_depths};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Customers seeded in the fake Shopify.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Orders per customer.
    #[arg(long, default_value_t = 2)]
    orders_per_customer: usize,
    /// Seconds of the raw publish baseline.
    #[arg(long, default_value_t = 5)]
    baseline_duration: u64,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, args.customers, args.orders_per_customer, 0.5);
    let sample = so_shopify_admin::order_webhook(
        &first_order(&shopify)
            .await
            .context("reading a sample order")?,
    )
    .body_bytes();
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    eprintln!("phase 1/3: baseline (raw confirmed publishes, 64 in flight, one channel) ...");
    let baseline = baseline::confirmed_publish_rate(
        &args.amqp_url,
        &format!("{prefix}.baseline"),
        &sample,
        64,
        1,
        Duration::from_secs(args.baseline_duration),
    )
    .await?;

    eprintln!("phase 2/3: reading and converting the same rows, publishing nothing ...");
    let read_started = Instant::now();
    let read_only = read_all(&shopify).await?;
    let read_rate = read_only as f64 / read_started.elapsed().as_secs_f64();

    let scratch = crate::scratch::Scratch::open(&args.amqp_url, &prefix).await?;
    let publisher = Publisher::new(scratch.broker.clone());
    let admin = client(&shopify)?;
    let shop = ShopDomain::parse(DEFAULT_SHOP)?;
    let records = data.customers.len() + data.orders.len();
    eprintln!("phase 3/3: backfilling {records} customers and orders ...");
    let started = Instant::now();
    let report = Backfill {
        admin: &admin,
        publisher: &publisher,
        store: &scratch.store,
        shop: &shop,
        api_version: "2026-07",
        options: Options {
            entities: vec![Entity::Customers, Entity::Orders],
            since: None,
            only: Only::All,
            checkpoint_every: 500,
            poll_interval: Duration::from_millis(200),
        },
        progress: &Quiet,
        stop: &scratch.stop,
    }
    .run()
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let published: u64 = report.entities.iter().map(|(_, r)| r.published).sum();
    let rate = published as f64 / elapsed;
    let budget = admin.budget();
    let share = report.budget_share.unwrap_or_default();
    let expected = records as u64;
    let depths = queue_depths::settle(&scratch.broker, Duration::from_secs(10), |d| {
        queue_depths::of(d, "work") >= expected
    })
    .await?;
    let on_work = queue_depths::of(&depths, "work");
    let lost = expected.saturating_sub(on_work);
    let extra = on_work.saturating_sub(expected);
    scratch.close(&args.amqp_url, &prefix).await;

    println!(
        "backfill benchmark ({records} records, order body {} B)",
        sample.len()
    );
    println!("{:<52} {:>12}", "figure", "value");
    println!(
        "{:<52} {:>12.0}",
        "baseline: raw confirmed publishes/s", baseline
    );
    println!("{:<52} {:>12}", "records in the fake Shopify", records);
    println!(
        "{:<52} {:>12}",
        "published, by the backfill's report", published
    );
    println!("{:<52} {:>12}", "on the work queues after", on_work);
    println!("{:<52} {:>12}", "lost (not on the work queues)", lost);
    println!(
        "{:<52} {:>12}",
        "extra (on the work queues beyond them)", extra
    );
    println!("{:<52} {:>12.1}", "seconds", elapsed);
    println!(
        "{:<52} {:>12.0}",
        "records/s (bulk read + convert + publish)", rate
    );
    println!("{:<52} {:>12.2}", "ratio to baseline", rate / baseline);
    println!(
        "{:<52} {:>12.0}",
        "bulk rows read and converted/s (no publish)", read_rate
    );
    println!("{:<52} {:>12.2}", "ratio to read-only", rate / read_rate);
    println!("{:<52} {:>12}", "Admin API requests", budget.requests);
    println!("{:<52} {:>12}", "Admin API points used", budget.points_used);
    println!("{:<52} {:>12}", "THROTTLED answers", budget.throttled);
    println!("{:<52} {:>12.3}", "share of the cost budget used", share);
    let json = serde_json::json!({
        "bench": "backfill",
        "records": records,
        "published": published,
        "on_work_queues": on_work,
        "lost": lost,
        "extra": extra,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "records_per_s": rate.round(),
        "baseline_publish_per_s": baseline.round(),
        "ratio": ((rate / baseline) * 100.0).round() / 100.0,
        "read_only_per_s": read_rate.round(),
        "ratio_to_read_only": ((rate / read_rate) * 100.0).round() / 100.0,
        "admin_requests": budget.requests,
        "admin_points_used": budget.points_used,
        "throttled": budget.throttled,
        "budget_share": (share * 1000.0).round() / 1000.0,
    });
    println!("{json}");
    if lost > 0 || extra > 0 {
        std::process::exit(2);
    }
    Ok(())
}

fn client(shopify: &FakeShopify) -> anyhow::Result<AdminClient> {
    let credentials =
        ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&shopify.base_url());
    Ok(AdminClient::new(&AdminSettings::default(), &credentials)?)
}

async fn first_order(shopify: &FakeShopify) -> anyhow::Result<so_shopify_admin::Order> {
    let page = client(shopify)?.orders_page(None, None, 1).await?;
    page.nodes.into_iter().next().context("no order seeded")
}

/// Rows of a customers and an orders bulk operation, read and converted.
async fn read_all(shopify: &FakeShopify) -> anyhow::Result<u64> {
    let admin = client(shopify)?;
    let mut n = 0_u64;
    let id = admin
        .run_bulk_query(&so_shopify_admin::customers_bulk_query(None))
        .await?;
    let op = admin.wait_bulk(&id, Duration::from_millis(200)).await?;
    let mut rows = admin.bulk_rows::<so_shopify_admin::Customer>(&op).await?;
    while let Some(c) = rows.next().await? {
        n += u64::from(
            !so_shopify_admin::customer_webhook(&c)
                .body_bytes()
                .is_empty(),
        );
    }
    let id = admin
        .run_bulk_query(&so_shopify_admin::orders_bulk_query(None))
        .await?;
    let op = admin.wait_bulk(&id, Duration::from_millis(200)).await?;
    let mut rows = admin.bulk_rows::<so_shopify_admin::Order>(&op).await?;
    while let Some(o) = rows.next().await? {
        n += u64::from(!so_shopify_admin::order_webhook(&o).body_bytes().is_empty());
    }
    Ok(n)
}
