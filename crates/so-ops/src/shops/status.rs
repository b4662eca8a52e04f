//! A shop's status in one place: where it is managed from, its version, pause, Admin API
//! connection, the last webhook and push, and its parked and dead-lettered events. Times are
//! UTC.

use chrono::{DateTime, Utc};
use serde::Serialize;
use so_domain::ShopDomain;
use so_platform::ShopSettings;
use so_platform::shops_live::LiveShop;
use so_store::StoredShop;

use super::{ShopOps, parse_shop};
use crate::{Filter, OpsError, TargetQueue};

/// What `shops show` and `GET /admin/shops/{shop}` report.
#[derive(Debug, Clone, Serialize)]
pub struct ShopStatus {
    pub shop: String,
    /// `config` (the TOML file) or `store` (the admin API and the `shops` command).
    pub source: &'static str,
    /// 0: not yet written to the store.
    pub version: i64,
    pub paused: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    /// How the Admin API is reached: `static_token`, `client_credentials`, `oauth` (in `show`, for
    /// a shop connected by install) or `none`.
    pub admin_access: &'static str,
    /// Only in `show` (they read the store and scan queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<ShopDetail>,
}

/// The parts of a status that cost a read each.
#[derive(Debug, Clone, Serialize)]
pub struct ShopDetail {
    pub last_webhook_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// Events of the shop in the parked queue (all reasons) and the dead-letter queue.
    pub parked: u32,
    pub dead_lettered: u32,
    /// The consent write-back's cursor: how far it has read.
    pub consent_written_back_until: Option<String>,
    pub last_reconciliation_at: Option<String>,
    pub last_backfill_completed_at: Option<String>,
    /// The shop's IANA time zone (`timezone`; UTC when unset): the `*_local` times are in it.
    pub timezone: String,
    /// The OAuth install, if the shop connected that way (no token is ever shown).
    pub oauth: Option<OauthStatus>,
    /// The last completed profile send (on demand or daily).
    pub last_profile_send: Option<ProfileSendStatus>,
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

fn status_of(domain: &str, live: &LiveShop, rows: &[StoredShop]) -> ShopStatus {
    let row = rows.iter().find(|r| r.domain == domain);
    ShopStatus {
        shop: domain.to_owned(),
        source: live.source.as_str(),
        version: live.version,
        paused: !live.settings.enabled,
        updated_at: row.map(|r| r.updated_at),
        updated_by: row.map(|r| r.updated_by.clone()),
        admin_access: admin_access(live),
        detail: None,
    }
}

fn admin_access(shop: &LiveShop) -> &'static str {
    let a = &shop.settings.admin;
    if a.access_token.is_some() {
        "static_token"
    } else if a.client_id.is_some() {
        "client_credentials"
    } else {
        "none"
    }
}

impl ShopOps {
    /// Every served shop, sorted by domain, without the costly details.
    pub async fn list(&self) -> Result<Vec<ShopStatus>, OpsError> {
        let (snap, rows) = self.snapshot_and_rows().await?;
        Ok(snap
            .shops
            .iter()
            .map(|(d, live)| status_of(d, live, &rows))
            .collect())
    }

    /// One shop's full status.
    pub async fn show(&self, shop: &str) -> Result<ShopStatus, OpsError> {
        let domain = parse_shop(shop)?;
        let (snap, rows) = self.snapshot_and_rows().await?;
        let live = snap
            .shops
            .get(domain.as_str())
            .ok_or_else(|| OpsError::UnknownShop(domain.to_string()))?;
        let mut status = status_of(domain.as_str(), live, &rows);
        let detail = self.detail(&domain, &live.settings).await?;
        if status.admin_access == "none" && detail.oauth.is_some() {
            status.admin_access = "oauth";
        }
        status.detail = Some(detail);
        Ok(status)
    }

    async fn detail(
        &self,
        shop: &ShopDomain,
        settings: &ShopSettings,
    ) -> Result<ShopDetail, OpsError> {
        let store = self.queue.store();
        let activity = store.shop_activity(shop).await?;
        let filter = Filter {
            shops: vec![shop.to_string()],
            ..Filter::default()
        };
        let parked = self
            .queue
            .list(TargetQueue::Parked, &filter, 0)
            .await?
            .matched;
        let dead = self
            .queue
            .list(TargetQueue::DeadLetter, &filter, 0)
            .await?
            .matched;
        let oauth = store
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
            });
        let last_profile_send =
            store
                .last_profile_send(shop, None, true)
                .await?
                .map(|r| ProfileSendStatus {
                    finished_at_local: r.finished_at.map(|t| settings.local_time(t)),
                    kind: r.kind,
                    finished_at: r.finished_at,
                    customers_read: r.counts.read,
                    matched: r.counts.matched,
                    published: r.counts.published,
                });
        Ok(ShopDetail {
            timezone: settings.time_zone().to_string(),
            oauth,
            last_profile_send,
            last_webhook_at: activity.last_webhook_at,
            last_push_at: activity.last_push_at,
            parked,
            dead_lettered: dead,
            consent_written_back_until: store.sync_value(shop, "consent_cursor").await?,
            last_reconciliation_at: store.sync_value(shop, "reconciled_at").await?,
            last_backfill_completed_at: store.sync_value(shop, "backfill_completed_at").await?,
        })
    }
}
