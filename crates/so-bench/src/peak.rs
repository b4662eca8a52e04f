//! `peak`: a peak hour's burst of signed webhooks (orders with their
//! lifecycle, customers, consent changes, products, checkouts; see
//! [`crate::peak_plan`]) sent at a fixed rate through the real ingress to
//! the real worker, against a fake Ometria at its documented 4 requests/s.
//! Measures how long Ometria takes to hold the final state of every
//! entity (the drain), against its lower bound and against the same burst
//! with the worker's coalescing off (the naive baseline of the same run),
//! with every acknowledged webhook accounted for from the fake's write log
//! ([`crate::peak_accounting`]). A loss or a final state never reached
//! exits 2, after the JSON line. Abandonment events for checkouts an order
//! completed are counted (`wrong`) but do not fail the run: the burst
//! compresses an hour, the abandonment delay with it, but not the worker's
//! lag behind the budget, after which an order's completion is committed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::peak_payloads::Templates;
use crate::peak_plan::{self, Kind, Plan};
use crate::peak_run::{self, RECORDS_PER_REQUEST, REQUESTS_PER_S, Run, Setup};
use crate::stats::round2;
use crate::{payloads, process};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Orders in the burst (customers, checkouts and products in
    /// proportion); the default burst is about 100 000 webhooks.
    #[arg(long, default_value_t = 15_000)]
    orders: usize,
    /// Webhooks per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Keep-alive connections the webhooks are sent over.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Leave checkouts (and so abandoned checkouts) out of the burst.
    #[arg(long)]
    no_checkouts: bool,
    /// The worker setting of the naive baseline run.
    #[arg(long, default_value = "SO_WORKER__COALESCE=false")]
    naive_setting: String,
    /// Skip the naive baseline run.
    #[arg(long)]
    no_naive: bool,
    /// Seconds each run may take after its send to reach the final state
    /// (default: three times the planned send, at least 300).
    #[arg(long)]
    drain_timeout: Option<u64>,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// The `shopify-ometria` binary (default: next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Shopify sample payloads (default: shared/fixtures/shopify).
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn topics(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in &plan.events {
        *out.entry(e.kind.topic()).or_insert(0) += 1;
    }
    out
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let bin = args.bin.clone().unwrap_or_else(process::sibling_binary);
    let fixtures = args.fixtures.clone().unwrap_or_else(payloads::default_dir);
    let templates = Arc::new(Templates::load(&fixtures)?);
    let plan = Arc::new(peak_plan::build(args.orders, !args.no_checkouts, args.rate));
    let naive = args
        .naive_setting
        .split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| anyhow::anyhow!("--naive-setting must be KEY=value"))?;
    let load_start = load_average();
    let send_estimate = plan.events.len() as u64 / args.rate.max(1);
    let wait = args.drain_timeout.unwrap_or((3 * send_estimate).max(300));
    let mut setup = Setup {
        bin: &bin,
        amqp_url: &args.amqp_url,
        rate: args.rate,
        connections: args.connections,
        setting: None,
        drain_wait: Duration::from_secs(wait),
    };
    eprintln!(
        "peak: {} webhooks ({} orders) at {}/s, abandonment delay {} s; load average {:?}",
        plan.events.len(),
        args.orders,
        args.rate,
        plan.checkout_delay_secs,
        load_start
    );
    eprintln!("run 1/2: coalescing as configured ...");
    let main = peak_run::run(&setup, &plan, &templates).await?;
    let naive_run = if args.no_naive {
        None
    } else {
        eprintln!("run 2/2: naive baseline, {} ...", args.naive_setting);
        setup.setting = Some(naive);
        Some(peak_run::run(&setup, &plan, &templates).await?)
    };
    let report = Report::of(&plan, args.rate, &main, naive_run.as_ref(), load_start);
    report.print(&main, naive_run.as_ref());
    println!("{}", report.json(&args, &plan, &main, naive_run.as_ref()));
    if report.failed() {
        std::process::exit(2);
    }
    Ok(())
}

/// When the last abandonment can fall due: its last acknowledged version's
/// due time in the send plus the delay (the worker cannot send it sooner).
fn checkout_bound_s(plan: &Plan, acked: &[bool], rate: u64) -> f64 {
    plan.events
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            acked[*i]
                && matches!(e.kind, Kind::CheckoutCreate | Kind::CheckoutUpdate)
                && plan.checkouts[e.entity].order.is_none()
        })
        .map(|(i, _)| i as f64 / rate.max(1) as f64 + plan.checkout_delay_secs as f64)
        .fold(0.0, f64::max)
}

struct Report {
    budget_bound_s: f64,
    checkout_bound_s: f64,
    lower_bound_s: f64,
    drain_ratio: Option<f64>,
    speedup: Option<f64>,
    lost: u64,
    wrong: u64,
    load_start: Option<f64>,
    load_end: Option<f64>,
}

impl Report {
    fn of(plan: &Plan, rate: u64, main: &Run, naive: Option<&Run>, load: Option<f64>) -> Report {
        let budget_bound_s = main.records_needed as f64 / (REQUESTS_PER_S * RECORDS_PER_REQUEST);
        let checkout_bound_s = checkout_bound_s(plan, &main.acked, rate);
        let lower_bound_s = budget_bound_s.max(main.send_s).max(checkout_bound_s);
        let naive_drain = naive.and_then(|n| n.drain_s);
        Report {
            budget_bound_s,
            checkout_bound_s,
            lower_bound_s,
            drain_ratio: main.drain_s.map(|d| d / lower_bound_s),
            speedup: main.drain_s.zip(naive_drain).map(|(d, n)| n / d),
            lost: main.accounts.lost + naive.map_or(0, |n| n.accounts.lost),
            wrong: main.accounts.wrong,
            load_start: load,
            load_end: load_average(),
        }
    }

    /// Loss, or a final state the main run never reached. Wrong records
    /// are reported only (see the module's docs).
    fn failed(&self) -> bool {
        self.lost > 0 || self.drain_ratio.is_none()
    }

    fn print(&self, main: &Run, naive: Option<&Run>) {
        let row = |name: &str, value: String| println!("{name:<52} {value:>16}");
        let opt =
            |x: Option<f64>, d: usize| x.map_or("not reached".to_owned(), |v| format!("{v:.d$}"));
        println!("peak benchmark");
        row("figure", "value".to_owned());
        row(
            "webhooks acknowledged (not)",
            format!("{} ({})", main.acknowledged, main.unacknowledged),
        );
        row(
            "send duration s (send bound)",
            format!("{:.1}", main.send_s),
        );
        row(
            "records the final state needs",
            main.records_needed.to_string(),
        );
        row(
            "budget bound s (needed / 400 per s)",
            format!("{:.1}", self.budget_bound_s),
        );
        row(
            "last abandonment due s (checkout bound)",
            format!("{:.1}", self.checkout_bound_s),
        );
        row("drain lower bound s", format!("{:.1}", self.lower_bound_s));
        row("drain s", opt(main.drain_s, 1));
        row("drain / lower bound", opt(self.drain_ratio, 2));
        row(
            "Ometria requests / records",
            format!("{} / {}", main.requests, main.records),
        );
        row(
            "events per record",
            format!(
                "{:.2}",
                main.acknowledged as f64 / main.records.max(1) as f64
            ),
        );
        row(
            "records per request",
            format!("{:.1}", main.records as f64 / main.requests.max(1) as f64),
        );
        row("429s", main.http_429.to_string());
        row(
            "worker peak RSS MiB",
            format!("{:.1}", main.worker_peak_rss_mib),
        );
        if let Some(n) = naive {
            row("naive: drain s", opt(n.drain_s, 1));
            row(
                "naive: requests / records",
                format!("{} / {}", n.requests, n.records),
            );
            row("speedup vs naive", opt(self.speedup, 2));
        }
        for (name, run) in std::iter::once(("", main)).chain(naive.map(|n| ("naive: ", n))) {
            let a = &run.accounts;
            row(
                &format!("{name}written / superseded / no record / wrong / lost"),
                format!(
                    "{} / {} / {} / {} / {}",
                    a.written, a.superseded, a.no_record, a.wrong, a.lost
                ),
            );
            if !run.not_final.is_empty() {
                row(
                    &format!("{name}not final at the end"),
                    format!("{:?}", run.not_final),
                );
            }
        }
        row(
            "load average at start / end",
            format!("{:?} / {:?}", self.load_start, self.load_end),
        );
    }

    fn json(&self, args: &Args, plan: &Plan, main: &Run, naive: Option<&Run>) -> serde_json::Value {
        let mut json = self.json_main(args, plan, main, naive);
        if let Some(map) = json.as_object_mut() {
            map.insert(
                "needed_by_kind".into(),
                serde_json::json!(main.needed_by_kind),
            );
            map.insert("by_type".into(), serde_json::json!(main.by_type));
            map.insert(
                "naive_by_type".into(),
                serde_json::json!(naive.map(|n| &n.by_type)),
            );
        }
        json
    }

    fn json_main(
        &self,
        args: &Args,
        plan: &Plan,
        main: &Run,
        naive: Option<&Run>,
    ) -> serde_json::Value {
        serde_json::json!({
            "bench": "peak",
            "orders": args.orders,
            "rate": args.rate,
            "events_sent": main.acknowledged + main.unacknowledged,
            "events_acknowledged": main.acknowledged,
            "events_unacknowledged": main.unacknowledged,
            "resends": main.resends,
            "topics": topics(plan),
            "ometria_requests": main.requests,
            "ometria_records": main.records,
            "distinct_records": main.distinct_records(),
            "records_needed": main.records_needed,
            "events_per_record": round2(main.acknowledged as f64 / main.records.max(1) as f64),
            "records_per_request": round2(main.records as f64 / main.requests.max(1) as f64),
            "drain_s": main.drain_s.map(round2),
            "budget_bound_s": round2(self.budget_bound_s),
            "send_bound_s": round2(main.send_s),
            "send_max_lag_s": round2(main.send_max_lag_s),
            "checkout_bound_s": round2(self.checkout_bound_s),
            "drain_lower_bound_s": round2(self.lower_bound_s),
            "drain_ratio": self.drain_ratio.map(round2),
            "naive_setting": naive.map(|_| args.naive_setting.clone()),
            "naive_drain_s": naive.and_then(|n| n.drain_s).map(round2),
            "naive_ometria_requests": naive.map(|n| n.requests),
            "naive_ometria_records": naive.map(|n| n.records),
            "naive_http_429": naive.map(|n| n.http_429),
            "naive_worker_peak_rss_mib": naive.map(|n| round2(n.worker_peak_rss_mib)),
            "speedup_vs_naive": self.speedup.map(round2),
            "http_429": main.http_429,
            "worker_peak_rss_mib": round2(main.worker_peak_rss_mib),
            "checkout_delay_s": plan.checkout_delay_secs,
            "accounts": main.accounts,
            "naive_accounts": naive.map(|n| n.accounts),
            "not_final": main.not_final,
            "naive_not_final": naive.map(|n| &n.not_final),
            "wrong": self.wrong,
            "lost": self.lost,
            "load_avg_start": self.load_start,
            "load_avg_end": self.load_end,
        })
    }
}
