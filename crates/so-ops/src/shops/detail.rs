//! The parts of a shop's status that cost a read each, for `shops show` only: activity,
//! subscriptions, events waiting, parked and dead-lettered, Ometria's asynchronous
//! rejections, the jobs' last runs and the profile sends, last and next.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;
use so_domain::ShopDomain;
use so_domain::schedule::Daily;
use so_platform::ShopSettings;
use so_queue::QueueRole;
use so_store::Store;

use super::ShopOps;
use crate::{Filter, OpsError, TargetQueue};

/// What `shops show` adds to the list's summary.
#[derive(Debug, Clone, Serialize)]
pub struct ShopDetail {
    /// The newest webhook of the shop the worker processed (the dedupe ledger; the events a
    /// backfill or profile send synthesizes are left out).
    pub last_webhook_at: Option<DateTime<Utc>>,
    /// When Ometria last accepted a push request carrying the shop's records.
    pub last_push_at: Option<DateTime<Utc>>,
    /// The last `webhooks check|sync` (CLI, daily run or after an install); `None`: none yet.
    pub subscriptions: Option<SubscriptionsStatus>,
    /// Events waiting to be processed. The work queues are partitioned by entity, not by
    /// shop, so these are every shop's (`scope: all_shops`).
    pub waiting: Waiting,
    /// Events of the shop in the parked queue (all reasons) and the dead-letter queue.
    pub parked: u32,
    pub dead_lettered: u32,
    /// Records of the shop Ometria accepted and then refused in its asynchronous validation
    /// (dead-lettered `ometria_rejected`), over the last 24 hours.
    pub rejections_last_day: RejectionsStatus,
    /// The consent write-back's cursor: how far it has read.
    pub consent_written_back_until: Option<String>,
    /// The last completed write-back run: `finished_at`, `since`, `until`, `read`, `sent` and
    /// `skipped` (by reason).
    pub consent_last_run: Option<Value>,
    pub last_reconciliation_at: Option<String>,
    /// The last reconciliation's drift: `at`, `total`, `by_kind`, `repaired`.
    pub reconciliation_drift: Option<Value>,
    pub last_backfill_completed_at: Option<String>,
    /// The shop's IANA time zone (`timezone`; UTC when unset): the `*_local` times are in it.
    pub timezone: String,
    /// The OAuth install, if the shop connected that way (no token is ever shown).
    pub oauth: Option<OauthStatus>,
    /// The last completed profile send (on demand or daily).
    pub last_profile_send: Option<ProfileSendStatus>,
    /// The next daily automatic send; `None` when automatic sends are off.
    pub next_profile_send_at: Option<DateTime<Utc>>,
    pub next_profile_send_at_local: Option<String>,
}

/// The last webhook subscription check.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionsStatus {
    pub checked_at: DateTime<Utc>,
    pub checked_at_local: String,
    /// Nothing to create, fix or remove, and no topic that cannot be subscribed.
    pub in_order: bool,
    /// `shop_specific`, `none_listed` or `app_specific_or_none` (see `webhooks check`).
    pub kind: String,
    /// Topics per state: `ok`, `missing`, `wrong_address`, `duplicate`, `foreign`,
    /// `wrong_version`, `cannot_subscribe`, and `app_specific` (1: not counted here).
    pub states: std::collections::BTreeMap<String, u64>,
}

/// Ready messages in the work and retry queues (passive declares; no message is read).
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// Always `all_shops`: the queues do not tell one shop's events from another's.
    pub scope: &'static str,
    pub work: u64,
    pub retry: u64,
    /// Why the depths could not be read (then `work` and `retry` are 0).
    pub error: Option<String>,
}

/// A shop's asynchronous rejections over a period.
#[derive(Debug, Clone, Serialize)]
pub struct RejectionsStatus {
    pub count: u64,
    pub latest_at: Option<DateTime<Utc>>,
    /// Record type, field path and Ometria's message with quoted values, emails and phone
    /// numbers masked.
    pub latest_reason: Option<String>,
}

/// A shop's OAuth install: state and times only.
#[derive(Debug, Clone, Serialize)]
pub struct OauthStatus {
    /// `connected`, `refused` (Shopify refused the refresh token or the app) or `uninstalled`.
    pub state: &'static str,
    pub scopes: String,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub refused_reason: Option<String>,
    pub installed_at: DateTime<Utc>,
    pub installed_at_local: String,
}

/// The last completed profile send.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSendStatus {
    /// `on_demand` or `auto`.
    pub kind: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub finished_at_local: Option<String>,
    pub customers_read: u64,
    pub matched: u64,
    pub published: u64,
}

impl ShopOps {
    pub(super) async fn detail(
        &self,
        shop: &ShopDomain,
        settings: &ShopSettings,
    ) -> Result<ShopDetail, OpsError> {
        let store = self.queue.store();
        let activity = store
            .shop_activity(shop, super::SYNTHESIZED_ID_PREFIX)
            .await?;
        let filter = Filter {
            shops: vec![shop.to_string()],
            ..Filter::default()
        };
        let parked = self.queue.list(TargetQueue::Parked, &filter, 0).await?;
        let dead = self.queue.list(TargetQueue::DeadLetter, &filter, 0).await?;
        let day_ago = Utc::now() - TimeDelta::hours(24);
        let rejections = store.ometria_rejections_since(shop, day_ago).await?;
        let (next, next_local) = next_send(store, shop, settings).await?;
        Ok(ShopDetail {
            last_webhook_at: activity.last_webhook_at,
            last_push_at: store.last_push_accepted(shop).await?,
            subscriptions: store
                .last_webhook_check(shop)
                .await?
                .map(|c| SubscriptionsStatus {
                    checked_at_local: settings.local_time(c.checked_at),
                    checked_at: c.checked_at,
                    in_order: c.in_order,
                    kind: c.kind,
                    states: c.states,
                }),
            waiting: self.waiting().await,
            parked: parked.matched,
            dead_lettered: dead.matched,
            rejections_last_day: RejectionsStatus {
                count: rejections.count,
                latest_at: rejections.latest.as_ref().map(|l| l.0),
                latest_reason: rejections.latest.map(|l| l.1),
            },
            consent_written_back_until: store.sync_value(shop, "consent_cursor").await?,
            consent_last_run: json_value(store, shop, "consent_last_run").await?,
            last_reconciliation_at: store.sync_value(shop, "reconciled_at").await?,
            reconciliation_drift: json_value(store, shop, "reconcile_drift").await?,
            last_backfill_completed_at: store.sync_value(shop, "backfill_completed_at").await?,
            timezone: settings.time_zone().to_string(),
            oauth: oauth(store, shop, settings).await?,
            last_profile_send: last_send(store, shop, settings).await?,
            next_profile_send_at: next,
            next_profile_send_at_local: next_local,
        })
    }

    /// The depths of every work and retry queue; an unreadable broker is reported, not fatal.
    pub(super) async fn waiting(&self) -> Waiting {
        let mut waiting = Waiting {
            scope: "all_shops",
            work: 0,
            retry: 0,
            error: None,
        };
        match so_queue::stats::queue_stats(self.queue.broker()).await {
            Ok(stats) => {
                for s in stats {
                    let n = u64::from(s.messages);
                    match s.role {
                        r if r == QueueRole::Work.as_str() => waiting.work += n,
                        r if r == QueueRole::Retry.as_str() => waiting.retry += n,
                        _ => {}
                    }
                    if let Some(e) = s.error {
                        waiting.error.get_or_insert(format!("{}: {e}", s.queue));
                    }
                }
            }
            Err(e) => waiting.error = Some(e.to_string()),
        }
        waiting
    }
}

/// A job's JSON record in `sync_state`; `None` when absent or unreadable.
pub(super) async fn json_value(
    store: &Store,
    shop: &ShopDomain,
    name: &str,
) -> Result<Option<Value>, OpsError> {
    Ok(store
        .sync_value(shop, name)
        .await?
        .and_then(|raw| serde_json::from_str(&raw).ok()))
}

async fn oauth(
    store: &Store,
    shop: &ShopDomain,
    settings: &ShopSettings,
) -> Result<Option<OauthStatus>, OpsError> {
    Ok(store
        .shop_token_status(shop.as_str())
        .await?
        .map(|t| OauthStatus {
            state: t.state.as_str(),
            scopes: t.scopes,
            access_expires_at: t.access_expires_at,
            refresh_expires_at: t.refresh_expires_at,
            refused_reason: t.refused_reason,
            installed_at_local: settings.local_time(t.installed_at),
            installed_at: t.installed_at,
        }))
}

async fn last_send(
    store: &Store,
    shop: &ShopDomain,
    settings: &ShopSettings,
) -> Result<Option<ProfileSendStatus>, OpsError> {
    Ok(store
        .last_profile_send(shop, None, true)
        .await?
        .map(|r| ProfileSendStatus {
            finished_at_local: r.finished_at.map(|t| settings.local_time(t)),
            kind: r.kind,
            finished_at: r.finished_at,
            customers_read: r.counts.read,
            matched: r.counts.matched,
            published: r.counts.published,
        }))
}

/// The next daily automatic send, by the rule the scheduler runs it by: after the last
/// automatic send that was not interrupted (an interrupted one runs again).
async fn next_send(
    store: &Store,
    shop: &ShopDomain,
    settings: &ShopSettings,
) -> Result<(Option<DateTime<Utc>>, Option<String>), OpsError> {
    let p = &settings.profile_sends;
    let Some(at) = p.time_of_day().filter(|_| p.daily) else {
        return Ok((None, None));
    };
    let daily = Daily {
        at,
        zone: settings.time_zone(),
    };
    let last = store
        .last_profile_send(shop, Some("auto"), false)
        .await?
        .filter(|r| r.outcome != "interrupted")
        .map(|r| r.started_at);
    let next = daily.next(Utc::now(), last);
    Ok((Some(next), Some(settings.local_time(next))))
}
