//! The time of each shop's last authentic webhook, for `SoWebhookSilence`:
//! one gauge handle per configured shop made at start (the hot path only
//! looks one up), and each shop's silence threshold exported beside it so
//! the alert rule can compare.

use std::sync::Arc;

use so_domain::ShopDomain;
use so_platform::Config;
use so_platform::webhook_metrics::{LastReceived, UNCONFIGURED_SHOP, webhook_silence_threshold};

/// Handles for every configured shop; thresholds exported once.
pub(crate) fn last_received(config: &Config) -> Arc<LastReceived> {
    let now = unix_now();
    if config.shops.is_empty() {
        // Every shop shares the `unconfigured` label and the global threshold.
        webhook_silence_threshold(UNCONFIGURED_SHOP, config.shopify.silence_after_secs);
    }
    for domain in config.shops.keys() {
        if let Ok(shop) = ShopDomain::parse(domain) {
            webhook_silence_threshold(domain, config.silence_after(&shop).as_secs());
        }
    }
    Arc::new(LastReceived::new(
        config.shops.keys().map(String::as_str),
        now,
    ))
}

pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
