//! `so_sync::webhooks::after_connect`, as the install path and the daily
//! run call it: counted from the fake Shopify's list and mutation log.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use so_domain::ShopDomain;
use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify,
};
use so_platform::{Config, ShopSettings};
use so_sync::scheduler::Scheduler;
use so_sync::webhooks::{Kind, after_connect_configured};
use so_testkit::database::{Backend, TestDatabase};
use so_testkit::wait::eventually;
use tokio_util::sync::CancellationToken;

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
    // Static-token shops: the store is opened but not read.
    let db =
        so_testkit::database::TestDatabase::create(so_testkit::database::Backend::Sqlite).await;
    let store = so_store::Store::connect(&db.url, 2).await.unwrap();

    let first = after_connect_configured(&config, &store, &domain)
        .await
        .unwrap();
    assert_eq!(first.kind, Kind::NoneListedManaged);
    assert!(!first.has_drift());
    let subs = shop.subscriptions();
    assert_eq!(subs.len(), 29);
    assert!(subs.iter().all(|s| s.uri == URI));
    let made = shop.subscription_mutations().len();
    assert_eq!(made, 29);

    let second = after_connect_configured(&config, &store, &domain)
        .await
        .unwrap();
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
    // Static-token shops: the store is opened but not read.
    let db =
        so_testkit::database::TestDatabase::create(so_testkit::database::Backend::Sqlite).await;
    let store = so_store::Store::connect(&db.url, 2).await.unwrap();

    let report = after_connect_configured(&config, &store, &domain)
        .await
        .unwrap();

    assert_eq!(report.kind, Kind::NoneListedAppSpecific);
    assert!(!report.has_drift());
    assert!(shop.subscription_mutations().is_empty());
}

#[tokio::test]
async fn without_a_public_url_or_with_an_old_version_it_says_which_setting() {
    let fake = FakeShopify::start().await;
    let mut config = config(&fake, true);
    config.shopify.public_url = None;
    let domain = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let db = so_testkit::database::TestDatabase::create(Backend::Sqlite).await;
    let store = so_store::Store::connect(&db.url, 2).await.unwrap();
    let err = after_connect_configured(&config, &store, &domain)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shopify.public_url"), "{err}");
    // A pinned version before `uri` existed is named too.
    config.shopify.public_url = Some("https://sync.example.com".to_owned());
    config.shopify_admin.api_version = "2025-07".to_owned();
    let err = after_connect_configured(&config, &store, &domain)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("shopify_admin.api_version"),
        "{err}"
    );
    assert!(fake.default_shop().subscription_mutations().is_empty());
}

/// The scheduler's daily run: at its first tick, under the store lease of
/// the shop's `webhooks` job, on both store backends.
async fn the_scheduler_subscribes_a_legacy_app_at_its_first_tick(backend: Backend) {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let mut config = config(&fake, true);
    config.amqp.prefix = so_testkit::broker::unique_prefix();
    config.sync.reconcile_interval = std::time::Duration::ZERO;
    if let Some(s) = config.shops.get_mut(DEFAULT_SHOP) {
        s.sync.consent = false;
    }
    let db = TestDatabase::create(backend).await;
    let store = so_store::Store::connect(&db.url, 2).await.unwrap();
    let stop = CancellationToken::new();
    let broker = so_queue::Broker::start(config.amqp.clone(), stop.clone());
    let config = Arc::new(config);
    let shops = so_platform::shops_live::ShopsLive::new(config.clone(), Some(store.clone()));
    let scheduler = Scheduler::new(
        config,
        store.clone(),
        so_queue::Publisher::new(broker),
        "test-process".to_owned(),
        shops,
    );
    let task = tokio::spawn(scheduler.run(stop.clone()));

    eventually(Duration::from_secs(30), || async {
        let n = shop.subscriptions().len();
        if n == 29 {
            Ok(())
        } else {
            Err(format!("{n} of 29 subscriptions"))
        }
    })
    .await;
    // Another process does not run the job while the lease is held.
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        !store
            .try_lease(&format!("webhooks:{DEFAULT_SHOP}"), "other-process", until)
            .await
            .unwrap()
    );

    stop.cancel();
    task.await.unwrap();
    assert_eq!(shop.subscription_mutations().len(), 29);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn scheduler_sqlite() {
    the_scheduler_subscribes_a_legacy_app_at_its_first_tick(Backend::Sqlite).await;
}

#[tokio::test]
async fn scheduler_postgres() {
    the_scheduler_subscribes_a_legacy_app_at_its_first_tick(Backend::Postgres).await;
}
