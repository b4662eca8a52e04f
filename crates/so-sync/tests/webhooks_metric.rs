//! `so_webhook_subscriptions{shop,state}` after a run, read from the
//! process's Prometheus page (its own test binary: the recorder is global).

use secrecy::SecretString;
use so_domain::ShopDomain;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, ProtectedData};
use so_platform::{Config, ShopSettings};
use so_sync::webhooks::after_connect_configured;
use so_testkit::metrics::value;

#[tokio::test]
async fn the_drift_metric_counts_each_state_and_returns_to_zero_once_fixed() {
    let handle = so_platform::metrics::install();
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_protected_data(ProtectedData::NotApproved);
    shop.seed_subscription(
        "PRODUCTS_UPDATE",
        "https://sync.example.com/webhooks/shopify",
        "2026-07",
    );
    shop.seed_subscription(
        "PRODUCTS_UPDATE",
        "https://sync.example.com/webhooks/shopify",
        "2026-07",
    );
    let mut config = Config::default();
    config.shopify.public_url = Some("https://sync.example.com".to_owned());
    let mut settings = ShopSettings::default();
    settings.admin.access_token = Some(SecretString::from(DEFAULT_TOKEN.to_owned()));
    settings.admin.api_url = Some(fake.shop_base_url(DEFAULT_SHOP));
    config.shops.insert(DEFAULT_SHOP.to_owned(), settings);
    let domain = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    // Static-token shops: the store is opened but not read.
    let db =
        so_testkit::database::TestDatabase::create(so_testkit::database::Backend::Sqlite).await;
    let store = so_store::Store::connect(&db.url, 2).await.unwrap();
    let state = |page: &str, s: &str| {
        value(
            page,
            "so_webhook_subscriptions",
            &[("shop", DEFAULT_SHOP), ("state", s)],
        )
    };

    after_connect_configured(&config, &store, &domain)
        .await
        .unwrap();
    let page = handle.render();
    // After the run: products and app/uninstalled in order, the duplicate
    // gone, the customer and order topics refused.
    assert_eq!(state(&page, "ok"), 4.0);
    assert_eq!(state(&page, "duplicate"), 0.0);
    assert_eq!(state(&page, "cannot_subscribe"), 25.0);
    assert_eq!(state(&page, "missing"), 0.0);

    shop.set_protected_data(ProtectedData::Level2);
    after_connect_configured(&config, &store, &domain)
        .await
        .unwrap();
    let page = handle.render();
    assert_eq!(state(&page, "ok"), 29.0);
    assert_eq!(state(&page, "cannot_subscribe"), 0.0);
    assert_eq!(state(&page, "app_specific"), 0.0);
}
