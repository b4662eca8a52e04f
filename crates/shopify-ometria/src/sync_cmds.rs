//! `backfill`, `consent-sync` and `reconcile`: wiring for the jobs in
//! `so-sync`, with a progress bar and a summary for people.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;
use so_domain::ShopDomain;
use so_platform::Config;
use so_queue::{Broker, Publisher};

use crate::commands::load_logged;
use so_sync::backfill::{self, Backfill, Entity, EntityReport, Only, Options, Progress};
use so_sync::{SyncError, clients};
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub(crate) struct BackfillArgs {
    /// The shop (`<name>.myshopify.com`); every shop with an Admin API
    /// access token when left out.
    #[arg(long)]
    shop: Option<String>,
    /// Only records updated on or after this date (`YYYY-MM-DD` or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// `subscribers`: customers who accepted email marketing and their
    /// orders and checkouts; `all`: every profile.
    #[arg(long, default_value = "all", value_parser = ["all", "subscribers"])]
    only: String,
    /// Comma-separated: customers, orders, products, checkouts.
    #[arg(long, default_value = "customers,orders,products,checkouts")]
    entities: String,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// The store `database.url` names, with a small pool: a command needs few connections.
pub(crate) async fn open_store(config: &Config) -> Result<so_store::Store> {
    so_store::Store::connect(config.database.url.expose_secret(), 2)
        .await
        .context("opening the store (database.url)")
}

/// The configuration with the shops held in the store merged in (a shop
/// installed or added through the admin API is served like a TOML one), and
/// the store: what every command that works on shops starts from.
pub(crate) async fn load_served(path: Option<&Path>) -> Result<(Config, so_store::Store)> {
    let config = load_logged(path)?;
    let store = open_store(&config).await?;
    let config = so_platform::shops_live::effective_config(config, &store)
        .await
        .context("reading the shops held in the store")?;
    Ok((config, store))
}

/// A publisher on a broker connection that answered within 10 s, and the token that ends the
/// connection; a command that must publish stops here when RabbitMQ is away.
pub(crate) async fn connected_publisher(config: &Config) -> Result<(Publisher, CancellationToken)> {
    let broker_stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
    if broker
        .wait_connected(Duration::from_secs(10))
        .await
        .is_none()
    {
        broker_stop.cancel();
        bail!("cannot reach RabbitMQ at amqp.url(s) within 10 s");
    }
    Ok((Publisher::new(broker), broker_stop))
}

/// A token cancelled by Ctrl-C: a long run stops after its current page, resumable.
pub(crate) fn cancelled_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    stop
}

pub(crate) fn shops(config: &Config, shop: Option<&str>) -> Result<Vec<ShopDomain>> {
    match shop {
        Some(s) => Ok(vec![
            ShopDomain::parse(s).map_err(|e| anyhow::anyhow!("--shop {s:?}: {e}"))?,
        ]),
        None => {
            let all = clients::admin_shops(config);
            if all.is_empty() {
                bail!(
                    "no shop has Admin API access (shops.\"<domain>\".admin.access_token, or client_id and client_secret); name one with --shop"
                );
            }
            Ok(all)
        }
    }
}

fn options(config: &Config, args: &BackfillArgs) -> Result<Options> {
    let entities = args
        .entities
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            Entity::parse(e).ok_or_else(|| {
                anyhow::anyhow!(
                    "--entities: {e:?} is not one of customers, orders, products, checkouts"
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if entities.is_empty() {
        bail!("--entities names nothing to backfill");
    }
    let since = args
        .since
        .as_deref()
        .map(so_domain::time::parse_date_time)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    Ok(Options {
        entities,
        since,
        only: if args.only == "subscribers" {
            Only::Subscribers
        } else {
            Only::All
        },
        checkpoint_every: config.sync.backfill_checkpoint_every,
        poll_interval: Duration::from_secs(2),
    })
}

/// One progress bar per entity: counts and rate.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(Entity, ProgressBar)>>,
}

impl Bars {
    fn bar(&self, entity: Entity) -> ProgressBar {
        let mut bars = self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, b)) = bars.iter().find(|(e, _)| *e == entity) {
            return b.clone();
        }
        let b = self.multi.add(ProgressBar::new_spinner());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix:>10} {pos:>8} rows  {per_sec:>12}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix(entity.as_str());
        b.enable_steady_tick(Duration::from_millis(200));
        bars.push((entity, b.clone()));
        b
    }
}

impl Progress for Bars {
    fn started(&self, entity: Entity, resumed_from: u64) {
        let b = self.bar(entity);
        if resumed_from > 0 {
            b.set_message(format!("resuming after {resumed_from} rows"));
        } else {
            b.set_message("starting the bulk operation");
        }
    }

    fn waiting_for_shopify(&self, entity: Entity) {
        self.bar(entity)
            .set_message("Shopify is preparing the bulk result");
    }

    fn row(&self, entity: Entity, r: &EntityReport) {
        let b = self.bar(entity);
        b.set_position(r.read);
        b.set_message(format!(
            "{} published, {} filtered",
            r.published, r.filtered
        ));
    }

    fn finished(&self, entity: Entity, r: &EntityReport) {
        self.bar(entity).finish_with_message(format!(
            "done: {} published, {} filtered, {} unconvertible",
            r.published, r.filtered, r.unconvertible
        ));
    }
}

pub(crate) async fn backfill(path: Option<&Path>, args: BackfillArgs) -> Result<ExitCode> {
    let (config, store) = load_served(path).await?;
    let opts = options(&config, &args)?;
    let shops = shops(&config, args.shop.as_deref())?;
    let (publisher, broker_stop) = connected_publisher(&config).await?;
    let stop = cancelled_on_ctrl_c();
    let bars = Bars {
        multi: MultiProgress::new(),
        bars: Mutex::new(Vec::new()),
    };
    let quiet = backfill::Quiet;
    let progress: &dyn Progress = if args.json { &quiet } else { &bars };
    let mut reports = Vec::new();
    let mut code = ExitCode::SUCCESS;
    for shop in &shops {
        let client = clients::admin_client(&config, &store, shop)?;
        let run = Backfill {
            admin: &client,
            publisher: &publisher,
            store: &store,
            shop,
            api_version: &config.shopify_admin.api_version,
            options: opts.clone(),
            progress,
            stop: &stop,
        };
        match run.run().await {
            Ok(report) => {
                let zone = shop_time_zone(&client).await;
                let completed = backfill::in_time_zone(report.finished_at, zone.as_deref());
                if !args.json {
                    println!("{}", summary(&report, &completed));
                }
                reports.push((report, completed));
            }
            Err(SyncError::Interrupted) => {
                eprintln!(
                    "backfill of {shop} interrupted; its checkpoint is saved, run the same command again to resume"
                );
                code = ExitCode::from(130);
                break;
            }
            Err(e) => {
                broker_stop.cancel();
                return Err(anyhow::Error::new(e).context(format!("backfill of {shop}")));
            }
        }
    }
    if args.json {
        let json: Vec<_> = reports
            .iter()
            .map(|(r, completed)| serde_json::json!({"report": r, "last_completed_local": completed}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    broker_stop.cancel();
    Ok(code)
}

/// The shop's IANA time zone, for showing when its backfill completed.
async fn shop_time_zone(client: &so_shopify_admin::AdminClient) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Data {
        shop: ShopZone,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ShopZone {
        iana_timezone: Option<String>,
    }
    client
        .query::<Data>("{ shop { ianaTimezone } }", serde_json::json!({}))
        .await
        .ok()
        .and_then(|r| r.data.shop.iana_timezone)
}

fn summary(report: &backfill::Report, completed: &str) -> String {
    let mut out = format!("\nbackfill of {}\n", report.shop);
    out.push_str(&format!(
        "{:<10} {:>9} {:>10} {:>9} {:>14} {:>8}\n",
        "entity", "read", "published", "filtered", "unconvertible", "resumed"
    ));
    for (name, r) in &report.entities {
        out.push_str(&format!(
            "{name:<10} {:>9} {:>10} {:>9} {:>14} {:>8}\n",
            r.read, r.published, r.filtered, r.unconvertible, r.resumed_from
        ));
    }
    let total: u64 = report.entities.iter().map(|(_, r)| r.read).sum();
    out.push_str(&format!(
        "{total} rows in {:.1} s ({:.0} rows/s); Admin API budget used: {}\n",
        report.elapsed_secs,
        total as f64 / report.elapsed_secs.max(0.001),
        report
            .budget_share
            .map_or_else(|| "n/a".to_owned(), |s| format!("{:.0} %", s * 100.0)),
    ));
    out.push_str(&format!("last completed backfill: {completed}\n"));
    out
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConsentArgs {
    /// The shop; every shop with an Admin API access token when left out.
    #[arg(long)]
    shop: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// One consent write-back run per shop (the scheduler inside `run` does the
/// same every `sync.consent_interval_secs`).
pub(crate) async fn consent_sync(path: Option<&Path>, args: ConsentArgs) -> Result<ExitCode> {
    let (config, store) = load_served(path).await?;
    // A Shopify opt-in newer than an Ometria unsubscribe is published again
    // for the worker to force; without the broker it is left for the
    // scheduled run.
    let broker_stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
    let connected = broker
        .wait_connected(Duration::from_secs(10))
        .await
        .is_some();
    if !connected {
        eprintln!(
            "RabbitMQ (amqp.url) is not reachable: Shopify opt-ins newer than an Ometria unsubscribe are not published again in this run"
        );
    }
    let publisher = Publisher::new(broker.clone());
    let mut out = Vec::new();
    for shop in shops(&config, args.shop.as_deref())? {
        if !config.consent_sync_enabled(&shop) {
            eprintln!("{shop}: skipped, shops.\"{shop}\".sync.consent is false");
            continue;
        }
        let setup = clients::consent_setup(&config, &store, &shop)?;
        let mut sync = setup.sync(&store, &shop);
        if connected {
            sync.republish = Some(so_sync::consent::Republish {
                publisher: &publisher,
                api_version: &config.shopify_admin.api_version,
            });
        }
        let report = sync
            .run_once()
            .await
            .with_context(|| format!("consent write-back of {shop}"))?;
        if !args.json {
            println!(
                "{shop}: {} Ometria unsubscribes read, {} written back to Shopify",
                report.read, report.sent
            );
            for (reason, n) in &report.skipped {
                println!("  skipped {n:>5}  {reason}");
            }
        }
        out.push(serde_json::json!({"shop": shop.as_str(), "report": report}));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    broker_stop.cancel();
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReconcileArgs {
    /// The shop; every shop with an Admin API access token when left out.
    #[arg(long)]
    shop: Option<String>,
    /// Start of the window (`YYYY-MM-DD` or RFC 3339); default
    /// `sync.reconcile_window_days` ago.
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// End of the window; default now.
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Re-sync what drifted through the queue.
    #[arg(long)]
    repair: bool,
    /// Also compare with Ometria's profiles: contacts missing there and
    /// consent that differs. One request per customer updated in the
    /// window, within the account's rate limit.
    #[arg(long)]
    ometria: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Drift between Shopify and what was delivered; exit 1 when there is any
/// (and `--repair` was not given).
pub(crate) async fn reconcile(path: Option<&Path>, args: ReconcileArgs) -> Result<ExitCode> {
    let (config, store) = load_served(path).await?;
    let parse = |flag: &str, raw: Option<&str>| {
        raw.map(so_domain::time::parse_date_time)
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let to = parse("--to", args.to.as_deref())?.unwrap_or_else(chrono::Utc::now);
    let from = parse("--from", args.from.as_deref())?.unwrap_or_else(|| {
        to - chrono::Duration::days(i64::from(config.sync.reconcile_window_days))
    });
    if from >= to {
        bail!("--from must be before --to");
    }
    let broker_stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), broker_stop.clone());
    if args.repair
        && broker
            .wait_connected(Duration::from_secs(10))
            .await
            .is_none()
    {
        broker_stop.cancel();
        bail!("--repair needs RabbitMQ (amqp.url), which is not reachable within 10 s");
    }
    let publisher = Publisher::new(broker.clone());
    let mut drifted = false;
    let mut out = Vec::new();
    for shop in shops(&config, args.shop.as_deref())? {
        let admin = clients::admin_client(&config, &store, &shop)?;
        let ometria = if args.ometria {
            Some(clients::consent_setup(&config, &store, &shop)?)
        } else {
            None
        };
        let subscribers_only =
            config.shop(&shop).profiles == so_domain::merchant::ProfileFilter::Subscribers;
        let report = so_sync::reconcile::Reconcile {
            admin: &admin,
            store: &store,
            publisher: &publisher,
            shop: &shop,
            api_version: &config.shopify_admin.api_version,
            from,
            to,
            repair: args.repair,
            ometria: ometria.as_ref().map(|o| so_sync::reconcile::OmetriaSide {
                client: &o.ometria,
                namespace: &o.namespace,
                subscribers_only,
            }),
        }
        .run()
        .await
        .with_context(|| format!("reconciliation of {shop}"))?;
        drifted |= !report.drift.is_empty() && !args.repair;
        if !args.json {
            println!("{}", report.text());
        }
        out.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    broker_stop.cancel();
    Ok(if drifted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
