//! Client settings (shared by every shop) and per-shop credentials.
//!
//! Durations are `*_ms` in configuration files and [`Duration`]s here,
//! converted by the helper the Ometria adapter uses too
//! ([`so_domain::serde_duration`]).

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use so_domain::serde_duration::millis;

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
        Ok(())
    }
}

/// One shop's access: an offline access token of an app installed there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopCredentials {
    /// `{name}.myshopify.com`.
    pub shop_domain: String,
    /// Sent as `X-Shopify-Access-Token`.
    pub access_token: SecretString,
    /// Replaces `https://{shop_domain}`: the fake's per-shop URL in tests.
    #[serde(default)]
    pub base_url: Option<String>,
}

impl ShopCredentials {
    /// Production credentials: the API is at `https://{shop_domain}`.
    pub fn new(shop_domain: &str, access_token: &str) -> Self {
        ShopCredentials {
            shop_domain: shop_domain.to_owned(),
            access_token: SecretString::from(access_token.to_owned()),
            base_url: None,
        }
    }

    /// Points the client somewhere else (the fake).
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = Some(base_url.to_owned());
        self
    }

    /// `{base}/admin/api/{version}/graphql.json`.
    pub fn endpoint(&self, api_version: &str) -> String {
        let base = match &self.base_url {
            Some(b) => b.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.shop_domain),
        };
        format!("{base}/admin/api/{api_version}/graphql.json")
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
    fn endpoint_defaults_to_the_shop_domain() {
        let c = ShopCredentials::new("acme.myshopify.com", "shpat_x");
        assert_eq!(
            c.endpoint("2026-07"),
            "https://acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
        let c = c.with_base_url("http://127.0.0.1:9/shops/acme.myshopify.com/");
        assert_eq!(
            c.endpoint("2026-07"),
            "http://127.0.0.1:9/shops/acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
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
