//! Client settings, shared by every shop (per-shop credentials are in
//! `credentials.rs`).
//!
//! Durations are `*_ms` in configuration files and [`Duration`]s here,
//! converted by the helper the Ometria adapter uses too
//! ([`so_domain::serde_duration`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use so_domain::serde_duration::{millis, secs};

/// The pinned Admin API version (shopify.md §5: pin one version for webhooks
/// and GraphQL alike).
pub const DEFAULT_API_VERSION: &str = "2026-07";

/// How the client talks to the Admin API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// `YYYY-MM` (or `unstable`). Shopify serves an unsupported version as
    /// the oldest supported one, silently, so this is checked for form only.
    pub api_version: String,
    /// Bound on one HTTP attempt, connect to last byte (not used for bulk
    /// result downloads, which only bound each read).
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Retries of 5xx and connection failures for one call.
    pub max_retries: u32,
    /// Total time one call may take, waits for the cost budget and
    /// THROTTLED retries included. Past it the call fails with
    /// `ThrottledTooLong` or `Transient`.
    #[serde(rename = "deadline_ms", with = "millis")]
    pub deadline: Duration,
    /// First retry wait after a 5xx or connection failure; doubles per retry.
    #[serde(rename = "initial_backoff_ms", with = "millis")]
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    #[serde(rename = "max_backoff_ms", with = "millis")]
    pub max_backoff: Duration,
    /// Randomise retry waits (between half and all of the computed wait) so
    /// workers that failed together do not retry together. Off in tests.
    pub jitter: bool,
    /// Points left in the modelled bucket for other callers of the same
    /// app and shop (e.g. a webhook worker doing lookups while a backfill
    /// runs): a call waits until its cost plus this reserve is available.
    pub min_available: u32,
    /// How long [`crate::AdminClient::wait_bulk`] waits for an operation.
    #[serde(rename = "max_bulk_wait_ms", with = "millis")]
    pub max_bulk_wait: Duration,
    /// Client credentials tokens (24 h) are renewed when this much of
    /// their lifetime is left, or halfway through a lifetime shorter than
    /// twice this. A renewal that fails keeps the token while it is valid.
    #[serde(rename = "token_refresh_margin_secs", with = "secs")]
    pub token_refresh_margin: Duration,
    /// After the token endpoint refused a shop's client credentials (a
    /// wrong secret, `shop_not_permitted`), calls for that shop fail with
    /// the same error for this long without asking Shopify again, so a
    /// misconfigured shop is not retried in a tight loop.
    #[serde(rename = "token_refusal_backoff_secs", with = "secs")]
    pub token_refusal_backoff: Duration,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            api_version: DEFAULT_API_VERSION.to_owned(),
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            deadline: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            jitter: true,
            min_available: 50,
            max_bulk_wait: Duration::from_secs(4 * 3600),
            token_refresh_margin: Duration::from_secs(3600),
            token_refusal_backoff: Duration::from_secs(600),
        }
    }
}

impl AdminSettings {
    /// Checks the rules `Deserialize` cannot.
    pub fn validate(&self) -> Result<(), String> {
        let v = self.api_version.as_bytes();
        let dated = v.len() == 7
            && v[4] == b'-'
            && v.iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !dated && self.api_version != "unstable" {
            return Err(format!(
                "shopify_admin.api_version must be YYYY-MM, got {:?}",
                self.api_version
            ));
        }
        if self.request_timeout.is_zero() || self.deadline.is_zero() {
            return Err("shopify_admin timeouts must be positive".to_owned());
        }
        if self.initial_backoff > self.max_backoff {
            return Err("shopify_admin.initial_backoff_ms exceeds max_backoff_ms".to_owned());
        }
        if self.token_refusal_backoff < Duration::from_secs(1) {
            return Err("shopify_admin.token_refusal_backoff_secs must be at least 1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pin_the_version_and_validate() {
        let s = AdminSettings::default();
        assert_eq!(s.api_version, "2026-07");
        assert!(s.validate().is_ok());
        for bad in ["2026-7", "latest", "2026_07", ""] {
            let s = AdminSettings {
                api_version: bad.to_owned(),
                ..AdminSettings::default()
            };
            assert!(s.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_millisecond_keys() {
        let s: AdminSettings =
            serde_json::from_str(r#"{"deadline_ms": 1500, "min_available": 0}"#).unwrap();
        assert_eq!(s.deadline, Duration::from_millis(1500));
        assert_eq!(s.min_available, 0);
        assert!(serde_json::from_str::<AdminSettings>(r#"{"deadline": 1}"#).is_err());
    }
}
