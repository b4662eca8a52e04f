//! `shopify-ometria`: wiring only. Each subcommand loads the configuration
//! once, starts the services it needs and waits for shutdown.

mod commands;
mod dlq;
mod exports;
mod profiles_cmd;
mod samples;
mod secrets_cmd;
mod shops_cmd;
mod sync_cmds;
mod webhooks_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shopify-ometria",
    version,
    about = "Keeps a Shopify store and Ometria in sync."
)]
struct Cli {
    /// TOML configuration file; `SO_*` environment variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive Shopify webhooks and queue them (plus the ops listener).
    Ingress,
    /// Consume the queues and push to Ometria (plus the ops listener).
    Worker,
    /// Everything in one process: ingress, worker, ops listener.
    Run,
    /// Validate the configuration and print it with secrets masked.
    CheckConfig {
        /// Also read the store and print the effective shops: those of the
        /// file (managed as code) and those held only in the store, each
        /// with its source, version and pause.
        #[arg(long)]
        store: bool,
    },
    /// Queue depths, consumers and oldest-message age.
    Queues {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Dead letters and parked events: list, show, replay, purge, history.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// `customers/data_request` exports kept in the store: list, show.
    Exports {
        #[command(subcommand)]
        command: exports::ExportsCommand,
    },
    /// Sign a bundled Shopify sample payload (or a file) with the configured
    /// secret and post it to the ingress: a webhook end to end, no accounts.
    SendSample(samples::SendSample),
    /// Historical customers, orders, products and abandoned checkouts from
    /// the Shopify Admin API into the same queue as webhooks (resumable).
    Backfill(sync_cmds::BackfillArgs),
    /// Write Ometria unsubscribes back to Shopify once (the scheduler in
    /// `run` and `worker` does it every five minutes).
    ConsentSync(sync_cmds::ConsentArgs),
    /// Compare Shopify with what was delivered to Ometria for a window;
    /// `--repair` re-syncs what drifted.
    Reconcile(sync_cmds::ReconcileArgs),
    /// Send a shop's customers to Ometria now (all or subscribers, active
    /// in a date range, joining a list), or run its automatic send now.
    SendProfiles(profiles_cmd::SendProfilesArgs),
    /// Shop-specific webhook subscriptions: check (report) or sync
    /// (create, fix, de-duplicate). Exit 0 in order, 1 drift, 2 error.
    Webhooks {
        #[command(subcommand)]
        command: webhooks_cmd::WebhooksCommand,
    },
    /// Served shops: list, show (status), pause, resume, set (settings of
    /// store-managed shops), history.
    Shops {
        #[command(subcommand)]
        command: shops_cmd::ShopsCommand,
    },
    /// Secrets stored in the database (OAuth tokens): rotate the sealing key.
    Secrets {
        #[command(subcommand)]
        command: secrets_cmd::SecretsCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Ingress => {
                commands::serve(cli.config.as_deref(), commands::Services::Ingress).await
            }
            Command::Worker => {
                commands::serve(cli.config.as_deref(), commands::Services::Worker).await
            }
            Command::Run => commands::serve(cli.config.as_deref(), commands::Services::All).await,
            Command::CheckConfig { store } => {
                commands::check_config(cli.config.as_deref(), store).await
            }
            Command::Queues { json } => commands::queues(cli.config.as_deref(), json).await,
            Command::Dlq { command } => dlq::run(cli.config.as_deref(), command).await,
            Command::Exports { command } => exports::run(cli.config.as_deref(), command).await,
            Command::SendSample(args) => samples::send(cli.config.as_deref(), args).await,
            Command::Backfill(args) => sync_cmds::backfill(cli.config.as_deref(), args).await,
            Command::ConsentSync(args) => {
                sync_cmds::consent_sync(cli.config.as_deref(), args).await
            }
            Command::Reconcile(args) => sync_cmds::reconcile(cli.config.as_deref(), args).await,
            Command::SendProfiles(args) => {
                profiles_cmd::send_profiles(cli.config.as_deref(), args).await
            }
            Command::Webhooks { command } => {
                webhooks_cmd::run(cli.config.as_deref(), command).await
            }
            Command::Shops { command } => shops_cmd::run(cli.config.as_deref(), command).await,
            Command::Secrets { command } => secrets_cmd::run(cli.config.as_deref(), command).await,
        }
    });
    // Tasks still running after a bounded drain (a push waiting on Ometria,
    // say) must not hold the process: give them a moment, then leave.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
