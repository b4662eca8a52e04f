//! The time of each shop's last authentic webhook, for `SoWebhookSilence`:
//! one gauge handle per served shop (the hot path only looks one up), made at
//! start for the configured shops and when a shop appears in the live
//! registry for the others (installed, or added through the admin API), and
//! each shop's silence threshold exported beside it so the alert rule can
//! compare.

use std::sync::Arc;

use so_domain::ShopDomain;
use so_platform::Config;
use so_platform::shops_live::{ShopsLive, ShopsSnapshot};
use so_platform::webhook_metrics::{LastReceived, UNCONFIGURED_SHOP, webhook_silence_threshold};

/// Handles for every shop served now, kept in step with `shops` by a task
/// that lives as long as the registry does.
pub(crate) fn last_received(config: &Config, shops: &Arc<ShopsLive>) -> Arc<LastReceived> {
    let now = unix_now();
    if config.shops.is_empty() {
        // Every shop without a handle shares the `unconfigured` label and the
        // global threshold.
        webhook_silence_threshold(UNCONFIGURED_SHOP, config.shopify.silence_after_secs);
    }
    let last = Arc::new(LastReceived::new(
        config.shops.keys().map(String::as_str),
        now,
    ));
    follow(&last, &shops.snapshot());
    let mut changes = shops.subscribe();
    let handles = last.clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            // Ends when the registry is dropped with its ingress.
            while changes.changed().await.is_ok() {
                let snapshot = changes.borrow_and_update().clone();
                follow(&handles, &snapshot);
            }
        });
    }
    last
}

/// A handle and the threshold for every shop of `snapshot`; a new shop is
/// silent from the moment it is served.
fn follow(last: &LastReceived, snapshot: &ShopsSnapshot) {
    let now = unix_now();
    let global = snapshot.config().shopify.silence_after_secs;
    for (domain, shop) in &snapshot.shops {
        if ShopDomain::parse(domain).is_err() {
            continue;
        }
        let secs = shop.settings.silence_after_secs.unwrap_or(global);
        webhook_silence_threshold(domain, secs);
        last.add(domain, now);
    }
}

pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
