//! `shopify-ometria dlq ...`: the CLI face of `so_ops` (wiring and printing).

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::commands::print_stdout;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use so_ops::actions::Listing;
use so_ops::{Filter, OperationReport, QueueOps, ReplayOptions, TargetQueue};
use so_queue::Broker;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Subcommand)]
pub(crate) enum DlqCommand {
    /// List dead letters (or parked events) matching the filters.
    List {
        #[command(flatten)]
        select: Select,
        /// Show at most this many (all matches are counted).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many matches (the next page: the listing's next offset).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the letter index of a queue from a scan (when a listing
    /// shows drift between the queue's depth and the index).
    Reindex {
        #[arg(long, value_name = "dlq|parked", default_value = "dlq")]
        queue: String,
        #[arg(long)]
        json: bool,
    },
    /// One message: metadata, reason, attempts and payload (PII masked).
    Show {
        /// Webhook id (`message_id`).
        id: String,
        #[arg(long, value_name = "dlq|parked", default_value = "dlq")]
        queue: String,
        /// Show the payload unmasked (customer data; use with care).
        #[arg(long)]
        reveal: bool,
    },
    /// Send matching messages back through the normal path.
    Replay {
        #[command(flatten)]
        select: Select,
        /// Print the count and a sample; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most N messages per second.
        #[arg(long, value_name = "N")]
        rate: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Remove matching messages for good.
    Purge {
        #[command(flatten)]
        select: Select,
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Recorded replays, purges and releases (who, when, filter, count).
    History {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Which messages: ids and filters; every given filter must hold.
#[derive(Debug, Args)]
pub(crate) struct Select {
    /// Webhook ids.
    ids: Vec<String>,
    #[arg(long, value_name = "dlq|parked", default_value = "dlq")]
    queue: String,
    /// Topic, e.g. orders/create (repeatable).
    #[arg(long)]
    topic: Vec<String>,
    /// Shop domain (repeatable).
    #[arg(long)]
    shop: Vec<String>,
    /// Reason code, e.g. invalid_payload, delivery_limit (repeatable).
    #[arg(long)]
    reason: Vec<String>,
    /// Stage: decode, config, store, map, push, retry, broker (repeatable).
    #[arg(long)]
    stage: Vec<String>,
    /// Dead-lettered at or after (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Dead-lettered before (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Allow replay or purge without any id or filter.
    #[arg(long)]
    all: bool,
}

impl Select {
    fn parts(&self) -> Result<(TargetQueue, Filter)> {
        let queue = TargetQueue::parse(&self.queue)?;
        let filter = Filter {
            ids: self.ids.clone(),
            topics: self.topic.clone(),
            shops: self.shop.clone(),
            reasons: self.reason.clone(),
            stages: self.stage.clone(),
            ..Filter::default()
        }
        .with_time_range(self.since.as_deref(), self.until.as_deref())?;
        Ok((queue, filter))
    }
}

pub(crate) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("cli:{user}@{host}")
}

pub(crate) async fn open(path: Option<&Path>) -> Result<(QueueOps, CancellationToken)> {
    let config =
        so_platform::Config::load(path, std::env::vars()).context("loading the configuration")?;
    let stop = CancellationToken::new();
    let broker = Broker::start(config.amqp.clone(), stop.clone());
    if broker
        .wait_connected(Duration::from_secs(10))
        .await
        .is_none()
    {
        stop.cancel();
        anyhow::bail!("cannot reach RabbitMQ at amqp.url(s) within 10 s");
    }
    let url = config.database.url.expose_secret();
    let store = so_store::Store::connect(url, 2).await.with_context(|| {
        format!(
            "opening the store at database.url {}",
            so_platform::config::mask_url_password(url)
        )
    })?;
    Ok((QueueOps::new(broker, store), stop))
}

pub(crate) async fn run(path: Option<&Path>, command: DlqCommand) -> Result<ExitCode> {
    // Validate the command line before touching the broker.
    if let DlqCommand::Replay { rate: Some(r), .. } = &command {
        so_ops::limits::rate(*r).context("--rate")?;
    }
    let (ops, stop) = open(path).await?;
    let result = dispatch(&ops, command).await;
    stop.cancel();
    result
}

async fn dispatch(ops: &QueueOps, command: DlqCommand) -> Result<ExitCode> {
    match command {
        DlqCommand::List {
            select,
            limit,
            offset,
            json,
        } => {
            let (queue, filter) = select.parts()?;
            let listing = ops.list_page(queue, &filter, offset, limit).await?;
            if json {
                print_json(&listing)?;
            } else {
                print_listing(&listing)?;
            }
        }
        DlqCommand::Reindex { queue, json } => {
            let report = ops.reindex(TargetQueue::parse(&queue)?).await?;
            if json {
                print_json(&report)?;
            } else {
                print_stdout(&format!(
                    "reindexed {}: {} message(s) scanned, {} row(s) added, {} dropped; {} indexed\n",
                    report.queue, report.scanned, report.added, report.dropped, report.indexed
                ))?;
            }
        }
        DlqCommand::Show { id, queue, reveal } => {
            let detail = ops.show(TargetQueue::parse(&queue)?, &id, reveal).await?;
            print_json(&detail)?;
        }
        DlqCommand::Replay {
            select,
            dry_run,
            rate,
            json,
        } => {
            let (queue, filter) = select.parts()?;
            let options = ReplayOptions {
                dry_run,
                rate,
                all: select.all,
            };
            let report = ops.replay(queue, &filter, &options, &actor()).await?;
            print_report(&report, json)?;
            if report.status == "failed" {
                return Ok(ExitCode::FAILURE);
            }
        }
        DlqCommand::Purge {
            select,
            dry_run,
            yes,
            json,
        } => {
            let (queue, filter) = select.parts()?;
            if !dry_run && !yes {
                let preview = ops
                    .purge(queue, &filter, true, select.all, &actor())
                    .await?;
                if preview.matched == 0 {
                    print_report(&preview, json)?;
                    return Ok(ExitCode::SUCCESS);
                }
                if !confirm(&format!(
                    "Purge {} message(s) from {} for good? Type 'yes': ",
                    preview.matched, preview.queue
                ))? {
                    eprintln!("not purged");
                    return Ok(ExitCode::from(2));
                }
            }
            let report = ops
                .purge(queue, &filter, dry_run, select.all, &actor())
                .await?;
            print_report(&report, json)?;
            if report.status == "failed" {
                return Ok(ExitCode::FAILURE);
            }
        }
        DlqCommand::History { limit, json } => {
            let all = ops.history(limit).await?;
            if json {
                print_json(&all)?;
            } else {
                let mut t = format!(
                    "{:<25} {:<9} {:<10} {:>8} {:>8} {:<10} {:<28} FILTER\n",
                    "STARTED", "OPERATION", "QUEUE", "MATCHED", "DONE", "STATUS", "ACTOR"
                );
                for op in &all {
                    writeln!(
                        t,
                        "{:<25} {:<9} {:<10} {:>8} {:>8} {:<10} {:<28} {}",
                        op.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        op.operation,
                        op.queue.rsplit('.').next().unwrap_or(&op.queue),
                        op.matched,
                        op.done,
                        op.status,
                        op.actor,
                        op.filter
                    )?;
                }
                print_stdout(&t)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(prompt: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to purge without confirmation: stdin is not a terminal; pass --yes"
        );
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

fn print_listing(l: &Listing) -> Result<()> {
    let mut t = format!(
        "{:>5} {:<38} {:<28} {:<24} {:<24} {:<7} {:>3} {:<20}\n",
        "POS", "ID", "TOPIC", "SHOP", "REASON", "STAGE", "ATT", "AT"
    );
    for m in &l.items {
        writeln!(
            t,
            "{:>5} {:<38} {:<28} {:<24} {:<24} {:<7} {:>3} {:<20}",
            m.position,
            m.id,
            m.topic.as_deref().unwrap_or("-"),
            m.shop.as_deref().unwrap_or("-"),
            m.reason.as_deref().unwrap_or("-"),
            m.stage.as_deref().unwrap_or("-"),
            m.attempts.map_or_else(|| "-".to_owned(), |a| a.to_string()),
            m.at.map_or_else(
                || "-".to_owned(),
                |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            ),
        )?;
        // Why it died (e.g. Ometria's error path for `ometria_rejected`),
        // on a line of its own: the headers never carry payload contents.
        if let Some(detail) = m.detail.as_deref().filter(|d| !d.is_empty()) {
            writeln!(t, "      {}", detail.chars().take(300).collect::<String>())?;
        }
    }
    writeln!(
        t,
        "{} of {} indexed message(s) of {} match; {} shown from {}{}",
        l.matched,
        l.indexed,
        l.queue,
        l.items.len(),
        l.offset,
        l.next_offset
            .map_or_else(String::new, |n| format!("; next page: --offset {n}"))
    )?;
    // The index is a cache of the queue: say so when they disagree.
    if u64::from(l.depth) != l.indexed {
        writeln!(
            t,
            "the queue holds {} ready message(s) and the index {}: if nothing is moving them, run `dlq reindex --queue {}`",
            l.depth,
            l.indexed,
            if l.queue.ends_with(".parked") {
                "parked"
            } else {
                "dlq"
            }
        )?;
    }
    print_stdout(&t)
}

fn print_report(r: &OperationReport, json: bool) -> Result<()> {
    if json {
        return print_json(r);
    }
    let mut t = String::new();
    if r.dry_run {
        writeln!(
            t,
            "dry run: {} of {} message(s) in {} would be {}",
            r.matched,
            r.scanned,
            r.queue,
            if r.operation == "purge" {
                "purged"
            } else {
                "replayed"
            }
        )?;
        for m in &r.sample {
            writeln!(
                t,
                "  {} {} {} {}",
                m.id,
                m.topic.as_deref().unwrap_or("-"),
                m.shop.as_deref().unwrap_or("-"),
                m.reason.as_deref().unwrap_or("-")
            )?;
        }
    } else {
        writeln!(
            t,
            "{}: {} of {} matching message(s) in {} done ({}); operation {}",
            r.operation,
            r.done,
            r.matched,
            r.queue,
            r.status,
            r.operation_id.as_deref().unwrap_or("-")
        )?;
        if r.unroutable > 0 {
            writeln!(
                t,
                "{} message(s) had no routing headers and stayed",
                r.unroutable
            )?;
        }
        if let Some(e) = &r.error {
            writeln!(
                t,
                "stopped: {e}; re-run to continue (nothing is lost or sent twice)"
            )?;
        }
    }
    print_stdout(&t)
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    print_stdout(&s)
}
