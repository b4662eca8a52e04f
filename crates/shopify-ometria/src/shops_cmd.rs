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
    /// subscriptions, events waiting, parked and dead-lettered, Ometria's
    /// rejections of the last day, the jobs' last runs, last and next
    /// profile send (UTC, and local times in the shop's zone).
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
        ShopsCommand::Show { shop, json } => {
            let status = ops.show(&shop).await?;
            if json {
                return print_json(&status);
            }
            print_stdout(&show_text(&status)?)
        }
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

/// `shops show` for people: one line per part, `-` for what has not happened.
fn show_text(s: &so_ops::ShopStatus) -> Result<String> {
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
    };
    let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
    let mut t = format!(
        "{}\n  source {}, version {}, {}, admin access {}\n",
        s.shop,
        s.source,
        s.version,
        if s.paused { "paused" } else { "running" },
        s.admin_access
    );
    let Some(d) = &s.detail else {
        return Ok(t);
    };
    writeln!(t, "  time zone              {}", d.timezone)?;
    if let Some(o) = &d.oauth {
        let refused = o.refused_reason.as_deref().map(|r| format!(" ({r})"));
        writeln!(
            t,
            "  oauth                  {}{}, access token expires {}",
            o.state,
            refused.unwrap_or_default(),
            at(o.access_expires_at)
        )?;
    }
    let subscriptions = d.subscriptions.as_ref().map_or_else(
        || "never checked (webhooks check)".to_owned(),
        |c| {
            let off: Vec<String> = c
                .states
                .iter()
                .filter(|(k, n)| k.as_str() != "ok" && **n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let state = if c.in_order {
                "in order"
            } else {
                "NOT in order"
            };
            format!(
                "{state} ({}{}), checked {}",
                c.kind,
                if off.is_empty() {
                    String::new()
                } else {
                    format!(": {}", off.join(", "))
                },
                c.checked_at_local
            )
        },
    );
    writeln!(t, "  subscriptions          {subscriptions}")?;
    writeln!(t, "  last webhook           {}", at(d.last_webhook_at))?;
    writeln!(t, "  last push to Ometria   {}", at(d.last_push_at))?;
    let waiting = match &d.waiting.error {
        Some(e) => format!("unknown ({e})"),
        None => format!("{} work, {} retry", d.waiting.work, d.waiting.retry),
    };
    writeln!(t, "  waiting (all shops)    {waiting}")?;
    writeln!(t, "  parked                 {}", d.parked)?;
    writeln!(t, "  dead-lettered          {}", d.dead_lettered)?;
    let r = &d.rejections_last_day;
    let latest = r
        .latest_reason
        .as_deref()
        .map(|why| format!("; latest: {why}"));
    writeln!(
        t,
        "  rejected by Ometria    {} in the last 24 h{}",
        r.count,
        latest.unwrap_or_default()
    )?;
    let consent = d.consent_last_run.as_ref().map(|v| {
        format!(
            "last run {}: read {}, sent {}, skipped {}",
            v["finished_at"].as_str().unwrap_or("?"),
            v["read"],
            v["sent"],
            v["skipped"]
        )
    });
    writeln!(
        t,
        "  consent write-back     until {}; {}",
        or_dash(d.consent_written_back_until.as_deref()),
        consent.unwrap_or_else(|| "no run yet".to_owned())
    )?;
    let drift = d
        .reconciliation_drift
        .as_ref()
        .map(|v| format!("; drift {} ({})", v["total"], v["by_kind"]));
    writeln!(
        t,
        "  reconciliation         {}{}",
        or_dash(d.last_reconciliation_at.as_deref()),
        drift.unwrap_or_default()
    )?;
    writeln!(
        t,
        "  last backfill          {}",
        or_dash(d.last_backfill_completed_at.as_deref())
    )?;
    let last_send = d.last_profile_send.as_ref().map(|p| {
        format!(
            "{} {}: read {}, matched {}, published {}",
            p.kind,
            p.finished_at_local.as_deref().unwrap_or("-"),
            p.customers_read,
            p.matched,
            p.published
        )
    });
    writeln!(
        t,
        "  last profile send      {}",
        last_send.unwrap_or_else(|| "-".to_owned())
    )?;
    writeln!(
        t,
        "  next profile send      {}",
        d.next_profile_send_at_local
            .as_deref()
            .unwrap_or("- (daily sends off)")
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use so_ops::ShopStatus;
    use so_ops::shops::{RejectionsStatus, ShopDetail, SubscriptionsStatus, Waiting};

    fn status() -> ShopStatus {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap();
        ShopStatus {
            shop: "a.myshopify.com".to_owned(),
            source: "config",
            version: 3,
            paused: false,
            updated_at: None,
            updated_by: None,
            admin_access: "static_token",
            detail: Some(ShopDetail {
                last_webhook_at: Some(at),
                last_push_at: None,
                subscriptions: Some(SubscriptionsStatus {
                    checked_at: at,
                    checked_at_local: "2026-12-01 09:30:00 GMT (Europe/London)".to_owned(),
                    in_order: false,
                    kind: "shop_specific".to_owned(),
                    states: [("ok".to_owned(), 26), ("missing".to_owned(), 3)].into(),
                }),
                waiting: Waiting {
                    scope: "all_shops",
                    work: 12,
                    retry: 1,
                    error: None,
                },
                parked: 2,
                dead_lettered: 0,
                rejections_last_day: RejectionsStatus {
                    count: 1,
                    latest_at: Some(at),
                    latest_reason: Some("contact at lastname: invalid '***'".to_owned()),
                },
                consent_written_back_until: None,
                consent_last_run: Some(
                    json!({"finished_at": "2026-12-01T09:00:00+00:00", "read": 4, "sent": 1, "skipped": {"resubscribed_in_ometria": 3}}),
                ),
                last_reconciliation_at: None,
                reconciliation_drift: Some(json!({"total": 1, "by_kind": {"order_missing": 1}})),
                last_backfill_completed_at: None,
                timezone: "Europe/London".to_owned(),
                oauth: None,
                last_profile_send: None,
                next_profile_send_at: Some(at),
                next_profile_send_at_local: Some(
                    "2026-12-01 09:30:00 GMT (Europe/London)".to_owned(),
                ),
            }),
        }
    }

    #[test]
    fn show_names_each_part_and_what_is_out_of_order() {
        let text = super::show_text(&status()).unwrap();
        for want in [
            "subscriptions          NOT in order (shop_specific: missing 3)",
            "last push to Ometria   -",
            "waiting (all shops)    12 work, 1 retry",
            "rejected by Ometria    1 in the last 24 h; latest: contact at lastname: invalid '***'",
            "read 4, sent 1, skipped {\"resubscribed_in_ometria\":3}",
            "drift 1 ({\"order_missing\":1})",
            "next profile send      2026-12-01 09:30:00 GMT (Europe/London)",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
    }
}
