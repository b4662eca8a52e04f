//! The consent write-back as one shop's configuration sets it up
//! (`so_sync::clients::consent_setup`): the shop's own `sync.consent_start`
//! over the global one, and an unsubscribe Ometria lists without a
//! `profile_id`, resolved by its email. Against the fake Ometria and the
//! fake Shopify, on both store backends.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use so_domain::identity::{ContactRef, Namespace};
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::{ShopDomain, ShopifyId};
use so_fake_ometria::{FakeConfig, FakeOmetria, IdentityRule, Unsubscribe};
use so_fake_shopify::{Customer, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_platform::{Config, ShopSettings};
use so_store::Store;
use so_sync::clients;
use so_testkit::Backend;
use so_testkit::database::TestDatabase;

const ANN: u64 = 7_200_000_000_000_000_001;
const BOB: u64 = 7_200_000_000_000_000_002;

fn config(ometria: &FakeOmetria, shopify: &FakeShopify, shop_start: DateTime<Utc>) -> Config {
    let mut config = Config::default();
    config.ometria.api_url = ometria.url();
    config.ometria.api_key = Some(SecretString::from(ometria.api_key().to_owned()));
    config.ometria.requests_per_second = 1_000.0;
    // The global start lets everything of the last day in; the shop's own
    // start, half an hour ago, must win.
    config.sync.consent_start = Some((shop_start - TimeDelta::days(1)).to_rfc3339());
    let mut shop = ShopSettings {
        namespace: "uk:".to_owned(),
        ..ShopSettings::default()
    };
    shop.admin.access_token = Some(SecretString::from(DEFAULT_TOKEN.to_owned()));
    shop.admin.api_url = Some(shopify.shop_base_url(DEFAULT_SHOP));
    shop.sync.consent_start = Some(shop_start.to_rfc3339());
    config.shops.insert(DEFAULT_SHOP.to_owned(), shop);
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    config
}

/// A Shopify customer's contact as the worker pushes it.
async fn push_customer(ometria: &so_ometria::Client, id: u64, email: &str) {
    push_customer_of(ometria, "uk:", id, email).await;
}

/// A customer's contact of the shop with namespace `ns`.
async fn push_customer_of(ometria: &so_ometria::Client, ns: &str, id: u64, email: &str) {
    let contact = ContactRef::customer(&Namespace::parse(ns).unwrap(), ShopifyId::new(id));
    let Value::Object(body) = json!({
        "@type": "contact",
        "@collection": contact.collection().as_str(),
        "id": contact.ometria_id(),
        "customer_id": contact.customer_id(),
        "email": email,
        "marketing_optin": "EXPLICITLY_OPTEDIN",
    }) else {
        unreachable!()
    };
    let record = PushRecord {
        record_type: RecordType::Contact,
        id: contact.ometria_id(),
        body,
    };
    let outcome = ometria.push(RecordType::Contact, &[record]).await.unwrap();
    assert!(outcome.all_accepted(), "{outcome:?}");
}

async fn shop_start_and_email_resolution(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = Store::connect(&db.url, 2).await.unwrap();
    // Contacts created before 2024 may share an email (ometria.md §2b), which
    // is what makes an unsubscribe by email ambiguous below; after 2024 the
    // second contact would not get the email at all.
    let fake = FakeOmetria::start(FakeConfig {
        identity_rule: IdentityRule::Shared,
        ..FakeConfig::unlimited()
    })
    .await;
    let shopify = FakeShopify::start().await;
    let now = Utc::now().trunc_subsecs(0);
    let shop_start = now - TimeDelta::minutes(30);
    let config = config(&fake, &shopify, shop_start);
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();

    let setup = clients::consent_setup(&config, &store, &shop).unwrap();
    assert_eq!(setup.first_start, shop_start, "the shop's own start");
    push_customer(&setup.ometria, ANN, "ann@example.com").await;
    push_customer(&setup.ometria, BOB, "bob@example.com").await;
    let two_days = now - TimeDelta::days(2);
    shopify.default_shop().seed_customers([
        Customer::new(ANN, Some("ann@example.com"), two_days)
            .with_consent(MarketingState::Subscribed),
        Customer::new(BOB, Some("bob@example.com"), two_days)
            .with_consent(MarketingState::Subscribed),
    ]);
    // ANN unsubscribed before the shop's start (after the global one): not
    // read. BOB after it, listed without a profile id.
    let ann = fake.profiles_by_email("ann@example.com")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.unsubscribe_profile(&ann, "link_unsubscribe", now - TimeDelta::minutes(45))
        .unwrap();
    let bob = fake.add_unsubscribe_without_profile_id(Unsubscribe::new(
        "bob@example.com",
        "link_unsubscribe",
        now - TimeDelta::minutes(10),
    ));
    let bob_profile = bob
        .profile_id
        .clone()
        .expect("the fake knows BOB's profile");
    let listed = setup
        .ometria
        .unsubscribes(now - TimeDelta::hours(1), None)
        .await
        .unwrap();
    assert!(
        listed.iter().any(
            |u| u.email_address.as_deref() == Some("bob@example.com") && u.profile_id.is_none()
        ),
        "listed without profile id: {listed:?}"
    );

    // Two of this shop's customers share an email (separate profiles):
    // which one unsubscribed is unknown. Another email has a profile of
    // another store too: this shop's is the one.
    const CAT: u64 = 7_200_000_000_000_000_003;
    const DAN: u64 = 7_200_000_000_000_000_004;
    const EVE: u64 = 7_200_000_000_000_000_005;
    push_customer(&setup.ometria, CAT, "twin@example.com").await;
    push_customer(&setup.ometria, DAN, "twin@example.com").await;
    push_customer_of(&setup.ometria, "us:", EVE, "eve@example.com").await;
    push_customer(&setup.ometria, EVE, "eve@example.com").await;
    assert_eq!(fake.profiles_by_email("twin@example.com").len(), 2);
    assert_eq!(fake.profiles_by_email("eve@example.com").len(), 2);
    shopify
        .default_shop()
        .seed_customers([Customer::new(EVE, Some("eve@example.com"), two_days)
            .with_consent(MarketingState::Subscribed)]);
    for (email, minutes) in [("twin@example.com", 9), ("eve@example.com", 8)] {
        fake.add_unsubscribe_without_profile_id(Unsubscribe::new(
            email,
            "link_unsubscribe",
            now - TimeDelta::minutes(minutes),
        ));
    }

    let report = setup.sync(&store, &shop).run_once().await.unwrap();

    assert_eq!(report.since, shop_start);
    assert_eq!((report.read, report.sent), (3, 2), "{report:?}");
    assert_eq!(
        report.skipped.get("profile_ambiguous"),
        Some(&1),
        "{report:?}"
    );
    // Independent evidence: what the fake Shopify received.
    let writes = shopify.default_shop().consent_writes();
    let written: Vec<_> = writes.iter().map(|w| w.customer_id).collect();
    assert_eq!(written, [Some(BOB), Some(EVE)], "{writes:?}");
    assert!(
        writes
            .iter()
            .all(|w| w.applied() && w.state.as_deref() == Some("UNSUBSCRIBED"))
    );
    let decisions = store.consent_decisions(&shop, 10).await.unwrap();
    assert_eq!(decisions.len(), 3);
    let bob_decision = decisions
        .iter()
        .find(|d| d.customer_id == Some(ShopifyId::new(BOB)))
        .unwrap();
    assert_eq!(bob_decision.profile_id, bob_profile, "the resolved profile");
    assert_eq!(bob_decision.reason, "sent");
    // What the worker reads back to force a later Shopify opt-in.
    assert_eq!(
        store
            .ometria_unsubscribed_at(&shop, ShopifyId::new(BOB))
            .await
            .unwrap(),
        Some(now - TimeDelta::minutes(10))
    );
    assert_eq!(
        store
            .ometria_unsubscribed_at(&shop, ShopifyId::new(ANN))
            .await
            .unwrap(),
        None
    );
    drop(store);
    db.cleanup().await;
}

#[tokio::test]
async fn the_shop_s_own_start_and_email_resolution_on_sqlite() {
    shop_start_and_email_resolution(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_shop_s_own_start_and_email_resolution_on_postgres() {
    shop_start_and_email_resolution(Backend::Postgres).await;
}
