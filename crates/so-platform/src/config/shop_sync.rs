//! `[shops."<domain>".sync]`: one shop's part in the jobs beside the
//! webhooks; unset values come from `[sync]`.

use serde::{Deserialize, Serialize};
use so_domain::time::parse_date_time;

use super::Config;

/// `[shops."<domain>".sync]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopSync {
    /// Whether Ometria unsubscribes are written back to this shop (on by
    /// default for a shop with Admin API access).
    pub consent: bool,
    /// Where this shop's first consent write-back starts reading (RFC 3339
    /// or `YYYY-MM-DD`); unset: `sync.consent_start`. Kept as written so a
    /// bad value is reported among the other problems.
    pub consent_start: Option<String>,
}

impl Default for ShopSync {
    fn default() -> Self {
        ShopSync {
            consent: true,
            consent_start: None,
        }
    }
}

impl ShopSync {
    /// Invalid values, each naming its key relative to the shop.
    pub(super) fn problems(&self) -> Vec<String> {
        match self.consent_start.as_deref().map(parse_date_time) {
            Some(Err(e)) => vec![format!("sync.consent_start: {e}")],
            _ => Vec::new(),
        }
    }
}

impl Config {
    /// Whether the consent write-back runs for `shop`
    /// (`shops."<domain>".sync.consent`).
    pub fn consent_sync_enabled(&self, shop: &so_domain::ShopDomain) -> bool {
        self.shop(shop).sync.consent
    }

    /// Where the first consent write-back of `shop` starts reading: the
    /// shop's own `sync.consent_start`, else `[sync] consent_start`; `None`
    /// when neither is set. The error names the key that does not parse.
    pub fn consent_start_for(
        &self,
        shop: &so_domain::ShopDomain,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        match self.shop(shop).sync.consent_start.as_deref() {
            Some(raw) => parse_date_time(raw)
                .map(Some)
                .map_err(|e| format!("shops.\"{shop}\".sync.consent_start: {e}")),
            None => self.sync.consent_start_at(),
        }
    }
}
