//! `shopify-ometria shops ...`: every served shop's status, pause and
//! resume, settings changes and their history (the CLI face of
//! `so_ops::ShopOps`, as `/admin/shops` is its HTTP face).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use so_ops::ShopOps;

use crate::commands::print_stdout;
use crate::dlq::{actor, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum ShopsCommand {
    /// Every served shop: source (config or store), version, paused.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One shop's status: the list's columns, last webhook and push,
    /// parked and dead-lettered events, the jobs' last runs (UTC).
    Show {
        shop: String,
        #[arg(long)]
        json: bool,
    },
    /// Park the shop's events on every worker from its next refresh.
    Pause {
        shop: String,
        #[arg(long)]
        json: bool,
    },
    /// Resume the shop and release its parked events in order.
    Resume {
        shop: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace the settings of a shop managed in the store (or add one)
    /// from a JSON file: the `[shops."<domain>"]` table as JSON, no secrets.
    Set {
        shop: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The shop's versions, newest first: who changed what, when.
    History {
        shop: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

pub(crate) async fn run(path: Option<&Path>, command: ShopsCommand) -> Result<ExitCode> {
    // Read the settings file before touching the broker.
    let settings = match &command {
        ShopsCommand::Set { file, .. } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading --file {}", file.display()))?;
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .with_context(|| format!("--file {}: not JSON", file.display()))?,
            )
        }
        _ => None,
    };
    let config = Arc::new(crate::commands::load(path)?);
    let (queue, stop) = crate::dlq::open(path).await?;
    let ops = ShopOps::new(queue.clone(), config);
    let result = dispatch(&ops, command, settings).await;
    queue.store().close().await;
    stop.cancel();
    result.map(|()| ExitCode::SUCCESS)
}

async fn dispatch(
    ops: &ShopOps,
    command: ShopsCommand,
    settings: Option<serde_json::Value>,
) -> Result<()> {
    match command {
        ShopsCommand::List { json } => {
            let all = ops.list().await?;
            if json {
                return print_json(&all);
            }
            let mut t = format!(
                "{:<40} {:<7} {:>7} {:<7} {:<19}\n",
                "SHOP", "SOURCE", "VERSION", "PAUSED", "ADMIN ACCESS"
            );
            for s in &all {
                writeln!(
                    t,
                    "{:<40} {:<7} {:>7} {:<7} {:<19}",
                    s.shop, s.source, s.version, s.paused, s.admin_access
                )?;
            }
            writeln!(t, "{} shop(s)", all.len())?;
            print_stdout(&t)
        }
        ShopsCommand::Show { shop, .. } => print_json(&ops.show(&shop).await?),
        ShopsCommand::Pause { shop, json } => report(&ops.pause(&shop, &actor()).await?, json),
        ShopsCommand::Resume { shop, json } => report(&ops.resume(&shop, &actor()).await?, json),
        ShopsCommand::Set { shop, json, .. } => {
            let settings = settings.unwrap_or_default();
            report(&ops.set_settings(&shop, &settings, &actor()).await?, json)
        }
        ShopsCommand::History { shop, limit } => print_json(&ops.history(&shop, limit).await?),
    }
}

fn report(r: &so_ops::ShopChangeReport, json: bool) -> Result<()> {
    if json {
        return print_json(r);
    }
    let mut t = format!(
        "{}: version {}, {}{}\n",
        r.shop,
        r.version,
        if r.paused { "paused" } else { "running" },
        if r.changed { "" } else { " (unchanged)" }
    );
    if let Some(released) = &r.released {
        writeln!(t, "released {} parked event(s) in order", released.done)?;
    }
    print_stdout(&t)
}
