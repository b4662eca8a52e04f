//! A shop's status in one place: where it is managed from, its version, pause and Admin API
//! access (the list's summary), and in `show` the details read from the store and the
//! broker ([`super::detail`]). Times are UTC, with `*_local` ones in the shop's time zone.

use chrono::{DateTime, Utc};
use serde::Serialize;
use so_platform::shops_live::LiveShop;
use so_store::StoredShop;

use super::detail::ShopDetail;
use super::{ShopOps, parse_shop};
use crate::OpsError;

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
    /// Only in `show` (they read the store, the queues' depths and scan the parked and
    /// dead-letter queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<ShopDetail>,
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
}
