//! Shared setup: a fake with the default shop and a client pointed at it.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShop, FakeShopify};
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};

/// Fast, deterministic retries; no reserve.
pub(crate) fn settings() -> AdminSettings {
    AdminSettings {
        request_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        jitter: false,
        min_available: 0,
        ..AdminSettings::default()
    }
}

pub(crate) fn client_with(fake: &FakeShopify, settings: &AdminSettings) -> AdminClient {
    let creds = ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&fake.base_url());
    AdminClient::new(settings, &creds).unwrap()
}

pub(crate) fn client(fake: &FakeShopify) -> AdminClient {
    client_with(fake, &settings())
}

pub(crate) async fn fake() -> (FakeShopify, FakeShop) {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    (fake, shop)
}

pub(crate) fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}
