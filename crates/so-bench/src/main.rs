//! `shopify-ometria-bench`: one subcommand per benchmark. Each prints a
//! readable table and, as its last line, one JSON object with its figures.
//! Figures are also given as ratios to a baseline measured in the same run,
//! because these machines are noisy.

mod backfill;
mod baseline;
mod console;
mod console_html;
mod console_ledger;
mod delivery;
mod delivery_accounting;
mod delivery_contacts;
mod delivery_env;
mod delivery_latency;
mod delivery_quiet;
mod delivery_requests;
mod events;
mod ingress;
mod payloads;
mod peak;
mod peak_accounting;
mod peak_checkouts;
mod peak_final;
mod peak_orders;
mod peak_payloads;
mod peak_plan;
mod peak_run;
mod peak_send;
mod process;
mod queue_depths;
mod replay;
mod scratch;
mod sizes;
mod soak;
mod soak_load;
mod soak_verdict;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shopify-ometria-bench",
    about = "Benchmarks for shopify-ometria."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Signed webhooks through the real ingress process vs raw confirmed publishes.
    Ingress(ingress::Args),
    /// Preloaded order lifecycles drained by the real worker into a fake Ometria.
    Delivery(delivery::Args),
    /// A peak hour's burst through ingress and worker: drain time against its bound and coalescing off.
    Peak(peak::Args),
    /// Dead letters replayed back to the work queues vs raw confirmed publishes.
    Replay(replay::Args),
    /// A sustained mixed load; fails if memory, descriptors, queues or latency keep growing.
    Soak(soak::Args),
    /// Customers and orders from a fake Shopify Admin API (bulk) published as webhooks.
    Backfill(backfill::Args),
    /// The admin API's dead-letter listing and the console's HTML pages (Shops, Shop, Dead letters) over an indexed DLQ vs `/healthz`.
    Console(console::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Ingress(args) => ingress::run(args).await,
            Command::Delivery(args) => delivery::run(args).await,
            Command::Peak(args) => peak::run(args).await,
            Command::Replay(args) => replay::run(args).await,
            Command::Soak(args) => soak::run(args).await,
            Command::Backfill(args) => backfill::run(args).await,
            Command::Console(args) => console::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
