//! `webhooks check|sync`: wiring for `so_sync::webhooks`, with a summary
//! for people or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use so_sync::clients;
use so_sync::webhooks::{Mode, ShopReport, WebhookSync, desired, record_metric};

use crate::sync_cmds::shops;

const EXIT_HELP: &str = "Exit status: 0 all in order, 1 drift (something to create, fix or remove, or a topic that cannot be subscribed), 2 error (configuration, Shopify unreachable or refusing).";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Report each shop's shop-specific webhook subscriptions against every
    /// topic the worker handles at <shopify.public_url>/webhooks/shopify;
    /// changes nothing.
    #[command(after_help = EXIT_HELP)]
    Check(WebhooksArgs),
    /// Create missing subscriptions, point old addresses of this service at
    /// the right one, remove duplicates; foreign addresses are reported and
    /// left alone. A second run changes nothing.
    #[command(after_help = EXIT_HELP)]
    Sync {
        #[command(flatten)]
        args: WebhooksArgs,
        /// Show what would change without changing it.
        #[arg(long)]
        dry_run: bool,
        /// Create shop-specific subscriptions even on a Dev Dashboard app
        /// with none listed (only when it does not use app-specific ones
        /// from shopify.app.toml: both would deliver every webhook twice).
        #[arg(long)]
        shop_specific: bool,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct WebhooksArgs {
    /// The shop (`<name>.myshopify.com`); every shop with Admin API access
    /// when left out.
    #[arg(long)]
    shop: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(path: Option<&Path>, command: WebhooksCommand) -> Result<ExitCode> {
    let (args, mode) = match command {
        WebhooksCommand::Check(args) => (
            args,
            Mode {
                apply: false,
                shop_specific: false,
            },
        ),
        WebhooksCommand::Sync {
            args,
            dry_run,
            shop_specific,
        } => (
            args,
            Mode {
                apply: !dry_run,
                shop_specific,
            },
        ),
    };
    match run_all(path, &args, mode).await {
        Ok(drift) => Ok(ExitCode::from(u8::from(drift))),
        Err(e) => {
            if args.json {
                println!("{}", json!({"error": format!("{e:#}")}));
            }
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Every shop; `true` if any has drift left.
async fn run_all(path: Option<&Path>, args: &WebhooksArgs, mode: Mode) -> Result<bool> {
    let (config, store) = crate::sync_cmds::load_served(path).await?;
    let desired = desired(&config)?;
    let mut reports = Vec::new();
    for shop in shops(&config, args.shop.as_deref())? {
        let admin = clients::admin_client(&config, &store, &shop)?;
        let report = WebhookSync {
            admin: &admin,
            shop: &shop,
            desired: desired.clone(),
            mode,
        }
        .run()
        .await
        .map_err(|e| anyhow::anyhow!("{shop}: {}", so_domain::error_chain(&e)))?;
        record_metric(&report);
        // Kept for the shop's status (`shops show`).
        so_sync::shop_status::save(&store, &report).await;
        reports.push(report);
    }
    store.close().await;
    if args.json {
        let all: Vec<_> = reports.iter().map(ShopReport::to_json).collect();
        println!(
            "{}",
            json!({"uri": desired.uri, "dry_run": !mode.apply, "shops": all})
        );
    } else {
        for r in &reports {
            print_report(r, mode.apply, &desired.api_version);
        }
    }
    Ok(reports.iter().any(ShopReport::has_drift))
}

fn print_report(r: &ShopReport, applied: bool, pinned: &str) {
    println!("{}: {}", r.shop, r.kind.explain());
    let verb = if applied { "" } else { "would " };
    for a in &r.planned.actions {
        let done = r.applied.iter().find(|x| &x.action == a);
        let outcome = match done.map(|d| d.failed.as_deref()) {
            Some(Some(why)) => format!(" (failed: {why})"),
            _ => String::new(),
        };
        println!("  {verb}{}{outcome}", describe(a));
    }
    for (topic, why) in r.blocked() {
        println!("  {topic}: {why}");
    }
    for f in &r.after.foreign {
        println!(
            "  left alone: {} at {} (not this service's address)",
            f.topic, f.uri
        );
    }
    for w in &r.after.wrong_version {
        println!(
            "  {} delivers in API version {} (pinned: {pinned}); the Admin API cannot change it: set the app's webhook API version (Dev Dashboard, or [webhooks] api_version in shopify.app.toml)",
            w.topic,
            w.api_version.as_deref().unwrap_or("?")
        );
    }
    let ok = r.after.ok.len();
    println!(
        "  {ok} topic(s) in order; {}",
        if r.has_drift() {
            "drift left"
        } else {
            "no drift"
        }
    );
}

fn describe(a: &so_domain::subscriptions::Action) -> String {
    use so_domain::subscriptions::{Action, graphql_topic};
    match a {
        Action::Create { topic } => format!("create {}", graphql_topic(*topic)),
        Action::Update { topic, from, .. } => {
            format!("update {} from {from}", graphql_topic(*topic))
        }
        Action::Delete { topic, uri, .. } => {
            format!("delete duplicate {} at {uri}", graphql_topic(*topic))
        }
    }
}
