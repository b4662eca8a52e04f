//! Consent both ways, end to end: a shopper unsubscribes in Ometria, the
//! write-back carries it to Shopify, Shopify echoes it, and the shopper
//! later opts in again in Shopify. Counted from what the fake Ometria holds
//! (its profile's resolved consent and which pushes were forced), on both
//! store backends.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::Value;
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_fake_shopify::{Customer, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads::{self, CUSTOMER_ID};

const EMAIL: &str = "jon@example.com";

async fn app(backend: Backend, shopify: &FakeShopify) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 2,
        fake: FakeConfig::unlimited(),
        config_toml: Some(format!(
            "[shops.\"{DEFAULT_SHOP}\".admin]\naccess_token = \"{DEFAULT_TOKEN}\"\napi_url = \"{}\"\n",
            shopify.shop_base_url(DEFAULT_SHOP)
        )),
        ..TestAppOptions::default()
    })
    .await
}

async fn send(app: &TestApp, topic: &str, body: &Value) {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap()).shop(DEFAULT_SHOP);
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

async fn consent(app: &TestApp, state: &str, at: DateTime<Utc>) {
    let body = payloads::consent(CUSTOMER_ID, EMAIL, state, &at.to_rfc3339());
    send(app, "customers_email_marketing_consent/update", &body).await;
}

/// Waits until the fake's profile of `EMAIL` resolves to `want`.
async fn profile_optin(app: &TestApp, want: &str) -> Value {
    eventually(Duration::from_secs(30), || async {
        let found = app.ometria().profiles_by_email(EMAIL);
        match found.as_slice() {
            [p] if p["marketing_optin"] == want => Ok(p.clone()),
            other => Err(format!("want {want}: {other:?}")),
        }
    })
    .await
}

/// Waits until `n` events were pushed in all (each step waits for its
/// own, so none is coalesced with the next), then returns how the
/// contact's pushes stand with regard to `@force_optin`.
async fn after_pushed(app: &TestApp, n: u32) -> so_fake_ometria::ForcedState {
    app.wait_outcome("pushed", f64::from(n)).await;
    app.ometria()
        .forced_state(&CUSTOMER_ID.to_string())
        .expect("the contact was pushed")
}

async fn resubscribe_after_an_ometria_unsubscribe(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let app = app(backend, &shopify).await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let now = Utc::now().trunc_subsecs(0);
    let at = |hours_ago: i64| now - TimeDelta::hours(hours_ago);
    shopify.default_shop().seed_customers([
        Customer::new(CUSTOMER_ID, Some(EMAIL), at(5)).with_consent(MarketingState::Subscribed)
    ]);

    // The contact, then a consent Shopify sends as `not_subscribed`: a
    // NOT_SPECIFIED over a contact we never set is not sent.
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, EMAIL, &at(5).to_rfc3339()),
    )
    .await;
    consent(&app, "not_subscribed", at(5)).await;
    after_pushed(&app, 2).await;
    let contact = app
        .ometria()
        .record(RecordType::Contact, &CUSTOMER_ID.to_string())
        .unwrap();
    assert!(
        contact.get("marketing_optin").is_none(),
        "NOT_SPECIFIED pushed over a never-set contact: {contact:?}"
    );

    // Subscribed in Shopify, then unsubscribed through an Ometria link.
    consent(&app, "subscribed", at(4)).await;
    let profile = profile_optin(&app, "EXPLICITLY_OPTEDIN").await;
    let profile_id = profile["id"].as_str().unwrap().to_owned();
    app.ometria()
        .unsubscribe_profile(&profile_id, "link_unsubscribe", at(3))
        .unwrap();
    profile_optin(&app, "EXPLICITLY_OPTEDOUT").await;

    // The write-back carries it to Shopify, which echoes it back.
    let store = app.store().await;
    let setup = so_sync::clients::consent_setup(&app.config, &store, &shop).unwrap();
    let mut sync = setup.sync(&store, &shop);
    sync.first_start = at(4);
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(shopify.default_shop().consent_writes().len(), 1);
    consent(&app, "unsubscribed", at(3)).await;
    let state = after_pushed(&app, 4).await;
    assert!(
        !state.ever_forced,
        "an opt-out after an unforced opt-in is not forced"
    );

    // A non-explicit state newer than the unsubscribe never forces (and,
    // our own opt-in having been set, it is sent).
    consent(&app, "pending", at(2)).await;
    let state = after_pushed(&app, 5).await;
    assert!(!state.last_write_forced, "{state:?}");
    profile_optin(&app, "EXPLICITLY_OPTEDOUT").await;
    assert_eq!(
        app.ometria()
            .record(RecordType::Contact, &CUSTOMER_ID.to_string())
            .unwrap()["marketing_optin"],
        "NOT_SPECIFIED"
    );

    // The shopper opts in again in Shopify, after the unsubscribe: forced,
    // so Ometria re-subscribes the profile.
    consent(&app, "subscribed", at(1)).await;
    let state = after_pushed(&app, 6).await;
    assert!(state.last_write_forced, "{state:?}");
    profile_optin(&app, "EXPLICITLY_OPTEDIN").await;
    // And a later Shopify unsubscribe still wins over that forced opt-in.
    consent(&app, "unsubscribed", now).await;
    let state = after_pushed(&app, 7).await;
    assert!(state.last_write_forced, "{state:?}");
    profile_optin(&app, "EXPLICITLY_OPTEDOUT").await;
    assert!(
        app.ometria().push_errors().is_empty(),
        "{:?}",
        app.ometria().push_errors()
    );
    drop(store);
    app.teardown().await;
}

#[tokio::test]
async fn resubscribe_after_an_ometria_unsubscribe_is_forced_on_sqlite() {
    resubscribe_after_an_ometria_unsubscribe(Backend::Sqlite).await;
}

#[tokio::test]
async fn resubscribe_after_an_ometria_unsubscribe_is_forced_on_postgres() {
    resubscribe_after_an_ometria_unsubscribe(Backend::Postgres).await;
}

/// The other order: the shopper unsubscribes in Ometria, then opts in in
/// Shopify before the write-back has run. The worker pushes the opt-in
/// unforced (it does not know of the unsubscribe yet) and Ometria keeps the
/// profile out; the write-back, finding Shopify's opt-in newer
/// (`shopify_consent_newer`), publishes it again and the worker forces it.
async fn opt_in_before_the_write_back(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let app = app(backend, &shopify).await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let now = Utc::now().trunc_subsecs(0);
    let at = |hours_ago: i64| now - TimeDelta::hours(hours_ago);
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, EMAIL, &at(5).to_rfc3339()),
    )
    .await;
    consent(&app, "subscribed", at(4)).await;
    let profile = profile_optin(&app, "EXPLICITLY_OPTEDIN").await;
    app.ometria()
        .unsubscribe_profile(profile["id"].as_str().unwrap(), "link_unsubscribe", at(3))
        .unwrap();
    // Subscribed again in Shopify at at(1), handled at once: unforced.
    shopify.default_shop().seed_customers([
        Customer::new(CUSTOMER_ID, Some(EMAIL), at(1)).with_consent(MarketingState::Subscribed)
    ]);
    consent(&app, "subscribed", at(1)).await;
    let state = after_pushed(&app, 3).await;
    assert!(!state.ever_forced, "{state:?}");
    profile_optin(&app, "EXPLICITLY_OPTEDOUT").await;

    let store = app.store().await;
    let publisher = so_queue::Publisher::new(app.broker.clone());
    let setup = so_sync::clients::consent_setup(&app.config, &store, &shop).unwrap();
    let mut sync = setup.sync(&store, &shop);
    sync.first_start = at(4);
    sync.republish = Some(so_sync::consent::Republish {
        publisher: &publisher,
        api_version: "2026-07",
    });
    let report = sync.run_once().await.unwrap();
    assert_eq!(
        report.skipped.get("shopify_consent_newer"),
        Some(&1),
        "{report:?}"
    );
    assert!(shopify.default_shop().consent_writes().is_empty());
    let state = after_pushed(&app, 4).await;
    assert!(state.last_write_forced, "{state:?}");
    profile_optin(&app, "EXPLICITLY_OPTEDIN").await;
    drop(store);
    app.teardown().await;
}

#[tokio::test]
async fn an_opt_in_handled_before_the_write_back_is_forced_after_it_on_sqlite() {
    opt_in_before_the_write_back(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_opt_in_handled_before_the_write_back_is_forced_after_it_on_postgres() {
    opt_in_before_the_write_back(Backend::Postgres).await;
}
