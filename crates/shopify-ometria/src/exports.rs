//! `shopify-ometria exports ...`: `customers/data_request` exports kept in
//! the store (the CLI face of `so_ops::exports`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::commands::print_stdout;
use crate::dlq::{actor, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum ExportsCommand {
    /// Exports not yet expired, newest first (no customer data).
    List {
        /// Only this shop's.
        #[arg(long)]
        shop: Option<String>,
        /// Show at most this many.
        #[arg(long, default_value_t = so_ops::limits::EXPORTS_LIMIT_DEFAULT)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One export as JSON: customer data, to hand over.
    Show {
        /// The export id (from `exports list`).
        id: String,
    },
}

pub(crate) async fn run(path: Option<&Path>, command: ExportsCommand) -> Result<ExitCode> {
    let range = so_ops::limits::EXPORTS_LIMIT;
    if let ExportsCommand::List { limit, .. } = &command
        && !range.contains(limit)
    {
        anyhow::bail!(
            "--limit must be {}..={}, not {limit}",
            range.start(),
            range.end()
        );
    }
    let config = crate::commands::load(path)?;
    let store = crate::sync_cmds::open_store(&config).await?;
    let result = match command {
        ExportsCommand::List { shop, limit, json } => {
            let all = so_ops::exports::list(&store, shop.as_deref(), limit).await?;
            if json {
                print_json(&all)
            } else {
                let mut t = format!(
                    "{:<32} {:<32} {:<20} {:<20} {:<20} {:<20}\n",
                    "ID", "SHOP", "REQUEST", "CUSTOMER", "CREATED", "EXPIRES"
                );
                for e in &all {
                    writeln!(
                        t,
                        "{:<32} {:<32} {:<20} {:<20} {:<20} {:<20}",
                        e.id,
                        e.shop,
                        e.request,
                        e.customer_id
                            .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                        e.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        e.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    )?;
                }
                writeln!(t, "{} export(s)", all.len())?;
                print_stdout(&t)
            }
        }
        ExportsCommand::Show { id } => {
            let export = so_ops::exports::show(&store, &id, &actor()).await?;
            print_json(&export)
        }
    };
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}
