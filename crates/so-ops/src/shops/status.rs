//! A shop's status in one place: where it is managed from, its version, pause, Admin API
//! connection, the last webhook and push, and its parked and dead-lettered events. Times are
//! UTC.

use chrono::{DateTime, Utc};
use serde::Serialize;
use so_domain::ShopDomain;
use so_platform::shops_live::LiveShop;

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
    /// How the Admin API is reached: `static_token`, `client_credentials` or `none`.
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
        let snap = self.snapshot().await?;
        let rows = self.queue.store().shops().await?;
        Ok(snap
            .shops
            .iter()
            .map(|(d, live)| {
                let row = rows.iter().find(|r| r.domain == *d);
                ShopStatus {
                    shop: d.clone(),
                    source: live.source.as_str(),
                    version: live.version,
                    paused: !live.settings.enabled,
                    updated_at: row.map(|r| r.updated_at),
                    updated_by: row.map(|r| r.updated_by.clone()),
                    admin_access: admin_access(live),
                    detail: None,
                }
            })
            .collect())
    }

    /// One shop's full status.
    pub async fn show(&self, shop: &str) -> Result<ShopStatus, OpsError> {
        let domain = parse_shop(shop)?;
        let mut status = self
            .list()
            .await?
            .into_iter()
            .find(|s| s.shop == domain.as_str())
            .ok_or_else(|| OpsError::UnknownShop(domain.to_string()))?;
        status.detail = Some(self.detail(&domain).await?);
        Ok(status)
    }

    async fn detail(&self, shop: &ShopDomain) -> Result<ShopDetail, OpsError> {
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
        Ok(ShopDetail {
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
