//! The scheduler lists its shops at every tick from the live registry: a shop
//! added to the store (here an OAuth install) after the scheduler started
//! gets its daily profile send at its local time, driven by a hand-set clock;
//! paused, and later uninstalled, it is skipped. Counted at the fakes: the
//! requests the fake Shopify answered and the contacts the fake Ometria holds
//! (through the real queue and worker), on both store backends.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify};
use so_platform::ShopSettings;
use so_platform::shops_live::{ShopsLive, to_stored};
use so_queue::Publisher;
use so_store::{ShopSource, ShopWriter, TokenPair};
use so_sync::profiles::ManualClock;
use so_sync::scheduler::{Job, Scheduler};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions};
use tokio_util::sync::CancellationToken;

use crate::backfill::count_is;

const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn by(now: DateTime<Utc>) -> ShopWriter<'static> {
    ShopWriter { actor: "test", now }
}

async fn jobs_follow_the_registry(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 20, 0, 0.5);
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        fake: FakeConfig::unlimited(),
        env: vec![("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into())],
        ..TestAppOptions::default()
    })
    .await;
    let store = app.store().await;
    let mut config = (*app.config).clone();
    config.shopify.app.client_id = Some("scheduler-app".to_owned());
    config.shopify.app.client_secret = Some(SecretString::from("shpss_scheduler_app"));
    config.shopify.app.shop_url_template = Some(format!("{}/shops/{{shop}}", shopify.url()));
    config.database.secrets_key = Some(SecretString::from(SECRETS_KEY));
    let sealer = config.database.sealer().unwrap().unwrap();
    let config = Arc::new(config);
    let live = ShopsLive::new(config.clone(), Some(store.clone()));
    live.refresh().await.unwrap();
    // 09:00 in London (BST) is 08:00 UTC.
    let clock = Arc::new(ManualClock::new(utc("2026-07-01T08:01:00Z")));
    let mut scheduler = Scheduler::new(
        config,
        store.clone(),
        Publisher::new(app.broker.clone()),
        "scheduler-test".to_owned(),
        live.clone(),
    );
    scheduler.clock = clock.clone();
    let stop = CancellationToken::new();
    let requests = || shopify.default_shop().stats().requests;

    // No shop yet: nothing asked of Shopify.
    scheduler.tick(Job::ProfileSends, &stop).await;
    assert_eq!(requests(), 0);

    // The shop is installed while the scheduler runs, paused at first.
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let now = Utc::now();
    let mut settings = ShopSettings {
        timezone: Some("Europe/London".to_owned()),
        ..ShopSettings::default()
    };
    settings.profile_sends.daily = true;
    settings.profile_sends.at = Some("09:00".to_owned());
    store
        .put_shop_settings(&shop, &to_stored(&settings), ShopSource::Store, by(now))
        .await
        .unwrap();
    let pair = TokenPair {
        access_token: DEFAULT_TOKEN.to_owned(),
        access_expires_at: None,
        refresh_token: None,
        refresh_expires_at: None,
        scopes: "read_customers".to_owned(),
    };
    store
        .install_shop_tokens(&sealer, DEFAULT_SHOP, &pair, now)
        .await
        .unwrap();
    store.set_shop_paused(&shop, true, by(now)).await.unwrap();
    assert!(live.refresh().await.unwrap());
    scheduler.tick(Job::ProfileSends, &stop).await;
    assert_eq!(requests(), 0, "a paused shop is skipped");

    // Resumed: before its local time nothing, at it the send runs.
    store.set_shop_paused(&shop, false, by(now)).await.unwrap();
    assert!(live.refresh().await.unwrap());
    clock.set(utc("2026-07-02T07:59:00Z"));
    scheduler.tick(Job::ProfileSends, &stop).await;
    assert_eq!(requests(), 0, "not before 09:00 London");
    clock.set(utc("2026-07-02T08:00:00Z"));
    scheduler.tick(Job::ProfileSends, &stop).await;
    assert!(requests() > 0);
    count_is(app.ometria(), RecordType::Contact, data.customers.len()).await;

    // Uninstalled: the next day's send is skipped.
    let asked = requests();
    store
        .uninstall_shop_tokens(DEFAULT_SHOP, Utc::now(), Utc::now())
        .await
        .unwrap();
    clock.set(utc("2026-07-03T08:00:00Z"));
    scheduler.tick(Job::ProfileSends, &stop).await;
    assert_eq!(requests(), asked, "an uninstalled shop is skipped");
    app.teardown().await;
}

#[tokio::test]
async fn a_shop_added_at_run_time_gets_its_daily_send_sqlite() {
    jobs_follow_the_registry(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_shop_added_at_run_time_gets_its_daily_send_postgres() {
    jobs_follow_the_registry(Backend::Postgres).await;
}
