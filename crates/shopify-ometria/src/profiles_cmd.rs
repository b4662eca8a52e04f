//! `send-profiles`: a profile send of one shop, on demand or with its
//! automatic settings (`--auto-now`), with progress on stderr and a report
//! in UTC and in the shop's time zone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use so_domain::ShopDomain;
use so_domain::merchant::ProfileFilter;
use so_platform::Config;
use so_store::{ProfileSendCounts, ProfileSendRow};
use so_sync::profiles::{
    self, AutoSends, Choices, Kind, ProfileSend, Request, SendProgress, SystemClock,
};
use so_sync::{SyncError, clients};

use crate::commands::load_logged;
use crate::sync_cmds::{cancelled_on_ctrl_c, connected_publisher, open_store};

#[derive(Debug, clap::Args)]
pub(crate) struct SendProfilesArgs {
    /// The shop (`<name>.myshopify.com`).
    #[arg(long)]
    shop: String,
    /// `all`, or `subscribers` (email marketing subscribed); default: the
    /// shop's `profiles`.
    #[arg(long, value_parser = ["all", "subscribers"])]
    profiles: Option<String>,
    /// The Ometria list every sent contact joins: one of the shop's lists.
    #[arg(long, value_name = "ID")]
    list: Option<u64>,
    /// A new list: refused, Ometria's API cannot create one.
    #[arg(long, value_name = "NAME")]
    new_list: Option<String>,
    /// Only customers active (updated, or ordered) from this date
    /// (`YYYY-MM-DD` in the shop's time zone, or RFC 3339).
    #[arg(long, value_name = "DATE")]
    active_from: Option<String>,
    /// ... up to this date, included.
    #[arg(long, value_name = "DATE")]
    active_to: Option<String>,
    /// Run the shop's automatic send (`profile_sends`) now.
    #[arg(long, conflicts_with_all = ["profiles", "list", "new_list", "active_from", "active_to"])]
    auto_now: bool,
    /// Print the final report as JSON.
    #[arg(long)]
    json: bool,
}

/// Progress lines on stderr.
struct Lines;

impl SendProgress for Lines {
    fn page(&self, c: &ProfileSendCounts) {
        eprintln!(
            "read {}, matched {}, published {}",
            c.read, c.matched, c.published
        );
    }
}

/// Everything is checked before RabbitMQ or Shopify is touched: a bad
/// option publishes nothing.
fn request(config: &Config, shop: &ShopDomain, args: &SendProfilesArgs) -> Result<Request> {
    if !config.shops.is_empty() && !config.shops.contains_key(shop.as_str()) {
        bail!("--shop {shop}: not one of the configured [shops]");
    }
    let zone = config.shop(shop).time_zone();
    let bound = |option: &str, raw: Option<&String>, end: bool| {
        raw.map(|r| profiles::choices::parse_bound(option, r, zone, end))
            .transpose()
    };
    Ok(Request {
        profiles: args.profiles.as_deref().map(|p| match p {
            "subscribers" => ProfileFilter::Subscribers,
            _ => ProfileFilter::All,
        }),
        list: args.list,
        new_list: args.new_list.clone(),
        active_from: bound("--active-from", args.active_from.as_ref(), false)?,
        active_to: bound("--active-to", args.active_to.as_ref(), true)?,
    })
}

/// What the command sends, from its options and the shop's settings.
fn choices(config: &Config, shop: &ShopDomain, args: &SendProfilesArgs) -> Result<Choices> {
    let settings = config.shop(shop);
    if args.auto_now {
        profiles::choices::auto_choices(settings, chrono::Utc::now())
            .map_err(|e| anyhow::anyhow!("shops.\"{shop}\".{e}"))
    } else {
        Ok(request(config, shop, args)?.choices(settings)?)
    }
}

pub(crate) async fn send_profiles(path: Option<&Path>, args: SendProfilesArgs) -> Result<ExitCode> {
    let config = load_logged(path)?;
    let shop = ShopDomain::parse(&args.shop)
        .map_err(|e| anyhow::anyhow!("--shop {:?}: {e}", args.shop))?;
    // A TOML shop's settings win over the stored ones: its options are
    // checked before the store is opened. A shop only in the store is
    // checked once its settings are read.
    let in_toml = config.shops.contains_key(shop.as_str());
    let early = if in_toml {
        Some(choices(&config, &shop, &args)?)
    } else {
        None
    };
    let store = open_store(&config).await?;
    let config = so_platform::shops_live::effective_config(config, &store)
        .await
        .context("reading the shops held in the store")?;
    let choices = match early {
        Some(c) => c,
        None => choices(&config, &shop, &args)?,
    };
    let admin = clients::admin_client(&config, &store, &shop)?;
    let (publisher, broker_stop) = connected_publisher(&config).await?;
    let stop = cancelled_on_ctrl_c();
    let holder = format!("send-profiles:{}", std::process::id());
    let by = profiles::Claimant::new(&holder, "send-profiles");
    let result = if args.auto_now {
        AutoSends {
            config: &config,
            store: &store,
            publisher: &publisher,
            clock: &SystemClock,
            holder: &holder,
        }
        .send_now(&shop, &admin, &Lines, &stop, &by)
        .await
    } else {
        ProfileSend {
            admin: &admin,
            publisher: &publisher,
            store: &store,
            shop: &shop,
            api_version: &config.shopify_admin.api_version,
            kind: Kind::OnDemand,
            choices,
            clock: &SystemClock,
            progress: &Lines,
            stop: &stop,
            by: &by,
        }
        .run()
        .await
    };
    broker_stop.cancel();
    let row = match result {
        Ok(row) => row,
        Err(SyncError::Interrupted) => {
            eprintln!(
                "profile send of {shop} interrupted; its checkpoint is saved, run the same command again to resume"
            );
            return Ok(ExitCode::from(130));
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("profile send of {shop}"))),
    };
    let status = profiles::status(&config, &store, &shop, chrono::Utc::now())
        .await
        .context("reading the shop's profile sends")?;
    print_report(&row, &status, config.shop(&shop), args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    row: &ProfileSendRow,
    status: &profiles::SendStatus,
    settings: &so_platform::ShopSettings,
    json: bool,
) -> Result<()> {
    let finished_local = row.finished_at.map(|t| profiles::auto::local(t, settings));
    if json {
        let report = serde_json::json!({
            "shop": row.shop.as_str(),
            "send_id": row.id,
            "kind": row.kind,
            "choices": serde_json::from_str::<serde_json::Value>(&row.choices)?,
            "customers_read": row.counts.read,
            "matched": row.counts.matched,
            "published": row.counts.published,
            "outcome": row.outcome,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "finished_local": finished_local,
            "timezone": status.timezone,
            "next_planned": status.next_planned,
            "next_planned_local": status.next_planned_local,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("profile send {} of {} ({})", row.id, row.shop, row.kind);
    println!(
        "customers read {}, matched {}, published {}",
        row.counts.read, row.counts.matched, row.counts.published
    );
    if let Some(t) = row.finished_at {
        println!(
            "finished {} UTC, {}",
            t.format("%Y-%m-%d %H:%M:%S"),
            finished_local.unwrap_or_default()
        );
    }
    match (&status.next_planned, &status.next_planned_local) {
        (Some(t), Some(local)) => println!(
            "next automatic send {} UTC, {local}",
            t.format("%Y-%m-%d %H:%M:%S")
        ),
        _ => println!("no daily automatic send (profile_sends.daily is off)"),
    }
    Ok(())
}
