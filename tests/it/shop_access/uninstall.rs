//! `app/uninstalled` through the running worker deletes the shop's OAuth tokens (they are
//! revoked at Shopify already), unless the shop was installed again after the event was
//! triggered; the shop's later events are parked, not pushed. Both store backends.

use chrono::{DateTime, Utc};
use serde_json::json;
use so_store::{Sealer, SealingKey, TokenPair, TokenState};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook};

const SHOP: &str = "test-shop.myshopify.com";

fn sealer() -> Sealer {
    Sealer::new(SealingKey::from_bytes(&[5; 32]).unwrap(), vec![]).unwrap()
}

fn pair() -> TokenPair {
    TokenPair {
        access_token: "shpua_uninstall_test".to_owned(),
        access_expires_at: None,
        refresh_token: Some("shprt_uninstall_test".to_owned()),
        refresh_expires_at: None,
        scopes: "read_orders".to_owned(),
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn uninstall(app: &TestApp, triggered_at: &str) {
    let body = json!({"id": 548_380_009, "name": "Super Toys", "myshopify_domain": SHOP});
    let mut wh = Webhook::new("app/uninstalled", serde_json::to_vec(&body).unwrap());
    wh.triggered_at = Some(triggered_at.to_owned());
    assert_eq!(app.send(&wh).await.status(), 200);
}

async fn uninstall_deletes_the_tokens_of_an_earlier_install(backend: Backend) {
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        ..TestAppOptions::default()
    })
    .await;
    let store = app.store().await;
    let s = sealer();
    // Installed again after the uninstall was triggered: the late webhook is stale.
    store
        .install_shop_tokens(&s, SHOP, &pair(), at("2026-11-23T11:00:00Z"))
        .await
        .unwrap();
    uninstall(&app, "2026-11-23T10:00:00.000Z").await;
    app.wait_outcome("uninstalled", 1.0).await;
    let row = store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(row.state, TokenState::Connected, "a reinstall is kept");
    // An uninstall after the install deletes the tokens.
    uninstall(&app, "2026-11-23T12:00:00.000Z").await;
    app.wait_outcome("uninstalled", 2.0).await;
    let row = store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!((row.state, row.pair), (TokenState::Uninstalled, None));
}

#[tokio::test]
async fn uninstall_deletes_the_tokens_of_an_earlier_install_on_sqlite() {
    uninstall_deletes_the_tokens_of_an_earlier_install(Backend::Sqlite).await;
}

#[tokio::test]
async fn uninstall_deletes_the_tokens_of_an_earlier_install_on_postgres() {
    uninstall_deletes_the_tokens_of_an_earlier_install(Backend::Postgres).await;
}
