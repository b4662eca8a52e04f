//! `so_sync::webhooks::after_connect`, as the install path and the daily
//! run call it: counted from the fake Shopify's list and mutation log.

use secrecy::SecretString;
use so_domain::ShopDomain;
use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify,
};
use so_platform::{Config, ShopSettings};
use so_sync::webhooks::{Kind, after_connect_configured};

const URI: &str = "https://sync.example.com/webhooks/shopify";

fn config(shopify: &FakeShopify, static_token: bool) -> Config {
    let mut config = Config::default();
    config.shopify.public_url = Some("https://sync.example.com".to_owned());
    let mut shop = ShopSettings::default();
    if static_token {
        shop.admin.access_token = Some(SecretString::from(DEFAULT_TOKEN.to_owned()));
    } else {
        shop.admin.client_id = Some(DEFAULT_CLIENT_ID.to_owned());
        shop.admin.client_secret = Some(SecretString::from(DEFAULT_CLIENT_SECRET.to_owned()));
    }
    shop.admin.api_url = Some(shopify.shop_base_url(DEFAULT_SHOP));
    config.shops.insert(DEFAULT_SHOP.to_owned(), shop);
    config
}

#[tokio::test]
async fn a_legacy_app_gets_every_topic_once_and_a_second_run_changes_nothing() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let config = config(&fake, true);
    let domain = ShopDomain::parse(DEFAULT_SHOP).unwrap();

    let first = after_connect_configured(&config, &domain).await.unwrap();
    assert_eq!(first.kind, Kind::NoneListedManaged);
    assert!(!first.has_drift());
    let subs = shop.subscriptions();
    assert_eq!(subs.len(), 29);
    assert!(subs.iter().all(|s| s.uri == URI));
    let made = shop.subscription_mutations().len();
    assert_eq!(made, 29);

    let second = after_connect_configured(&config, &domain).await.unwrap();
    assert_eq!(second.kind, Kind::ShopSpecific);
    assert!(second.applied.is_empty());
    assert_eq!(shop.subscription_mutations().len(), made);
}

#[tokio::test]
async fn a_dev_dashboard_app_with_none_listed_is_left_to_its_app_configuration() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let config = config(&fake, false);
    let domain = ShopDomain::parse(DEFAULT_SHOP).unwrap();

    let report = after_connect_configured(&config, &domain).await.unwrap();

    assert_eq!(report.kind, Kind::NoneListedAppSpecific);
    assert!(!report.has_drift());
    assert!(shop.subscription_mutations().is_empty());
}

#[tokio::test]
async fn without_a_public_url_it_says_which_setting_is_missing() {
    let fake = FakeShopify::start().await;
    let mut config = config(&fake, true);
    config.shopify.public_url = None;
    let domain = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let err = after_connect_configured(&config, &domain)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shopify.public_url"), "{err}");
    assert!(fake.default_shop().subscription_mutations().is_empty());
}
