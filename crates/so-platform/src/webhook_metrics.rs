//! The webhook subscription and silence metrics (`webhooks check|sync`,
//! the ingress): names, labels and the cached per-shop handles the
//! ingress's hot path uses without allocating.

// The helpers are the one place these metrics are named, as in `metrics.rs`.
#![allow(clippy::disallowed_macros)]

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

pub const WEBHOOK_SUBSCRIPTIONS: &str = "so_webhook_subscriptions";
pub const WEBHOOK_LAST_RECEIVED: &str = "so_webhook_last_received_timestamp_seconds";
pub const WEBHOOK_SILENCE_THRESHOLD: &str = "so_webhook_silence_threshold_seconds";

/// The `shop` label of shops without their own `[shops]` entry (the same
/// bound the worker's labels keep).
pub const UNCONFIGURED_SHOP: &str = "unconfigured";

/// What the last check or sync of `shop` found in one state (`ok`,
/// `missing`, `wrong_address`, `duplicate`, `foreign`, `wrong_version`,
/// `cannot_subscribe`, `app_specific`).
pub fn webhook_subscriptions(shop: &str, state: &'static str, n: u64) {
    metrics::gauge!(WEBHOOK_SUBSCRIPTIONS, "shop" => shop.to_owned(), "state" => state)
        .set(n as f64);
}

/// How long `shop` may send nothing before `SoWebhookSilence` (0: never).
pub fn webhook_silence_threshold(shop: &str, seconds: u64) {
    metrics::gauge!(WEBHOOK_SILENCE_THRESHOLD, "shop" => shop.to_owned()).set(seconds as f64);
}

/// Handles on `so_webhook_last_received_timestamp_seconds`, one per
/// served shop and one for the rest: made at start, and for a shop served
/// later when it appears ([`LastReceived::add`]). Recording only reads the map.
#[derive(Debug)]
pub struct LastReceived {
    by_shop: RwLock<HashMap<String, metrics::Gauge>>,
    unconfigured: metrics::Gauge,
}

impl LastReceived {
    /// Handles for `shops`; each starts at `start_unix_secs` so a shop that
    /// never sends is silent from the process's start. With no shops
    /// configured, every shop is `unconfigured` and that one starts too
    /// (with shops configured, others are refused before they count).
    pub fn new<'a>(shops: impl IntoIterator<Item = &'a str>, start_unix_secs: f64) -> Self {
        let by_shop: HashMap<String, metrics::Gauge> = shops
            .into_iter()
            .map(|s| {
                let g = metrics::gauge!(WEBHOOK_LAST_RECEIVED, "shop" => s.to_owned());
                g.set(start_unix_secs);
                (s.to_owned(), g)
            })
            .collect();
        let unconfigured = metrics::gauge!(WEBHOOK_LAST_RECEIVED, "shop" => UNCONFIGURED_SHOP);
        if by_shop.is_empty() {
            unconfigured.set(start_unix_secs);
        }
        LastReceived {
            by_shop: RwLock::new(by_shop),
            unconfigured,
        }
    }

    /// A handle for `shop` served from now on, its clock starting at
    /// `start_unix_secs`; a shop that has one keeps it (and its time).
    pub fn add(&self, shop: &str, start_unix_secs: f64) {
        let mut by_shop = self.by_shop.write().unwrap_or_else(PoisonError::into_inner);
        if !by_shop.contains_key(shop) {
            let g = metrics::gauge!(WEBHOOK_LAST_RECEIVED, "shop" => shop.to_owned());
            g.set(start_unix_secs);
            by_shop.insert(shop.to_owned(), g);
        }
    }

    /// An authentic webhook of `shop` arrived at `unix_secs`.
    pub fn record(&self, shop: &str, unix_secs: f64) {
        let by_shop = self.by_shop.read().unwrap_or_else(PoisonError::into_inner);
        by_shop
            .get(shop)
            .unwrap_or(&self.unconfigured)
            .set(unix_secs);
    }
}
