//! Per-shop configuration.

use std::time::Duration;

/// Shop served by [`crate::FakeShopify::start`].
pub const DEFAULT_SHOP: &str = "fake-shop.myshopify.com";
/// Access token of [`DEFAULT_SHOP`].
pub const DEFAULT_TOKEN: &str = "shpat_fake_access_token";
/// Admin API versions the fake treats as supported (shopify.md §5). Others
/// fall forward to the oldest, as Shopify's do.
pub const SUPPORTED_VERSIONS: [&str; 8] = [
    "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10",
];

/// How one shop behaves.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// `{name}.myshopify.com`.
    pub domain: String,
    /// The accepted `X-Shopify-Access-Token`.
    pub access_token: String,
    /// `Shop.name`.
    pub name: String,
    /// `Shop.ianaTimezone`.
    pub iana_timezone: String,
    /// `Shop.currencyCode`.
    pub currency: String,
    /// Leaky-bucket size in points (Shopify's `maximumAvailable`).
    pub max_available: f64,
    /// Points restored per second (Standard plan: 100).
    pub restore_rate: f64,
    /// Answer THROTTLED with HTTP 429 instead of 200 (reports differ).
    pub throttle_with_429: bool,
    /// The app holds `read_all_orders`; without it orders created more than
    /// 60 days ago are invisible.
    pub read_all_orders: bool,
    /// A bulk operation completes on this poll of `bulkOperation` /
    /// `currentBulkOperation` (1 = the first poll already sees COMPLETED).
    pub bulk_polls_to_complete: u32,
    /// …or once this long has passed since it was created, if set.
    pub bulk_complete_after: Option<Duration>,
}

impl ShopConfig {
    /// Shopify's Standard-plan defaults: 2000-point bucket, 100 points/s.
    pub fn new(domain: &str, access_token: &str) -> Self {
        let name = domain.split('.').next().unwrap_or(domain).to_owned();
        ShopConfig {
            domain: domain.to_owned(),
            access_token: access_token.to_owned(),
            name,
            iana_timezone: "Europe/London".to_owned(),
            currency: "GBP".to_owned(),
            max_available: 2000.0,
            restore_rate: 100.0,
            throttle_with_429: false,
            read_all_orders: true,
            bulk_polls_to_complete: 2,
            bulk_complete_after: None,
        }
    }
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig::new(DEFAULT_SHOP, DEFAULT_TOKEN)
    }
}

/// Version Shopify would serve for `requested`: itself when supported,
/// `unstable` as the newest, anything else the oldest supported.
pub(crate) fn effective_version(requested: &str) -> &'static str {
    if requested == "unstable" {
        return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.len() - 1];
    }
    SUPPORTED_VERSIONS
        .into_iter()
        .find(|v| *v == requested)
        .unwrap_or(SUPPORTED_VERSIONS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_versions_fall_forward_to_the_oldest() {
        assert_eq!(effective_version("2026-07"), "2026-07");
        assert_eq!(effective_version("2023-01"), "2025-01");
        assert_eq!(effective_version("garbage"), "2025-01");
        assert_eq!(effective_version("unstable"), "2026-10");
    }
}
