//! A shop's staff in a real browser, as inside the Shopify admin: the first load carries the
//! `id_token` query parameter (as Shopify opens an embedded app), App Bridge is a stand-in the
//! test serves at `shopify.app.app_bridge_url` whose `shopify.idToken()` fetches a token the
//! test mints, fresh for each action. Pause from the Enable sync toggle (the store says
//! paused, a webhook is parked, counted at the broker), resume (it reaches the fake Ometria),
//! and a data-bearer link followed to Data Sync. Never another shop, never a secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use so_testkit::{Backend, eventually};

use super::browser::Browser;
use super::embedded::{SECRET, env, token};
use super::{OTHER, SHOP, TOKEN, admin_get, app, parked_of, until_one_is_parked};

/// The stand-in for App Bridge and the tokens it hands out; counts the tokens minted.
struct StandIn {
    url: String,
    minted: Arc<AtomicUsize>,
}

/// Serves `/app-bridge.js` (a `window.shopify` whose `idToken()` fetches `/id-token`) and
/// `/id-token` (a token for `SHOP`, signed now with the app's secret, as Shopify's would be).
async fn stand_in() -> StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let minted = Arc::new(AtomicUsize::new(0));
    let script = format!(
        "window.shopify = {{ idToken: async () => (await fetch({:?})).text() }};",
        format!("{base}/id-token")
    );
    let count = minted.clone();
    let router = axum::Router::new()
        .route(
            "/app-bridge.js",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/javascript")], script).into_response()
            }),
        )
        .route(
            "/id-token",
            get(move || async move {
                count.fetch_add(1, Ordering::SeqCst);
                let minted = token(SHOP, chrono::Utc::now().timestamp(), SECRET);
                ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], minted).into_response()
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    StandIn {
        url: format!("{base}/app-bridge.js"),
        minted,
    }
}

/// The page's source: only the viewer's shop, and no secret.
async fn clean(b: &Browser) -> String {
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(OTHER), "another shop on the page");
    for secret in [SECRET, TOKEN] {
        assert!(!source.contains(secret), "a secret in the page");
    }
    source
}

#[tokio::test]
async fn embedded_staff_pause_and_resume_their_shop_in_a_browser_sqlite() {
    pause_and_resume_embedded(Backend::Sqlite).await;
}

#[tokio::test]
async fn embedded_staff_pause_and_resume_their_shop_in_a_browser_postgres() {
    pause_and_resume_embedded(Backend::Postgres).await;
}

async fn pause_and_resume_embedded(backend: Backend) {
    let Some(b) = Browser::start().await else {
        return;
    };
    let bridge = stand_in().await;
    let mut env = env();
    env.push((
        "SO_SHOPIFY__APP__APP_BRIDGE_URL".to_owned(),
        bridge.url.clone(),
    ));
    let app = app(backend, env).await;
    let ops = app.queue_ops().await;
    let console = &app.ops_address;

    // As Shopify opens the app: the first load carries the ID token as a parameter.
    let first = token(SHOP, chrono::Utc::now().timestamp(), SECRET);
    b.goto(&format!("{console}/console/?id_token={first}&shop={SHOP}"))
        .await;
    assert_eq!(b.text("#sync-toggle").await, "Pause sync");
    let source = clean(&b).await;
    assert!(source.contains(&bridge.url), "the configured App Bridge");
    assert!(!source.contains("cdn.shopify.com"));
    // The stand-in ran: the page has its `shopify.idToken`.
    eventually(Duration::from_secs(10), || async {
        match b.js("return typeof window.shopify?.idToken;").await {
            serde_json::Value::String(s) if s == "function" => Ok(()),
            other => Err(format!("window.shopify.idToken is {other}")),
        }
    })
    .await;

    // Pause from the toggle: console.js posts it with a fresh token.
    let before = bridge.minted.load(Ordering::SeqCst);
    b.click("#sync-toggle").await;
    b.find("#sync-toggle[aria-pressed='false']").await;
    assert_eq!(b.text("#sync-toggle").await, "Resume sync");
    assert!(
        bridge.minted.load(Ordering::SeqCst) > before,
        "no token asked"
    );
    let status = admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], true, "{status}");
    assert_eq!(
        status["updated_by"],
        format!("console:shopify-user:42@{SHOP}"),
        "{status}"
    );
    clean(&b).await;

    // A webhook of the paused shop is parked: counted in the broker's parked queue.
    let sent = until_one_is_parked(&app, &ops, SHOP).await;
    let parked_id = *sent.last().unwrap();
    let depth = so_queue::stats::queue_depth(&app.broker, &app.names().parked_queue())
        .await
        .unwrap();
    assert!(depth >= 1, "parked queue depth {depth}");
    assert!(
        app.ometria()
            .record(
                so_domain::ometria::RecordType::Contact,
                &parked_id.to_string()
            )
            .is_none()
    );

    // Resume: the parked webhook reaches the fake Ometria.
    b.click("#sync-toggle").await;
    b.find("#sync-toggle[aria-pressed='true']").await;
    let status = admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], false, "{status}");
    app.contacts_arrive([parked_id]).await;
    eventually(Duration::from_secs(30), || async {
        match parked_of(&ops, SHOP).await {
            0 => Ok(()),
            n => Err(format!("{n} still parked")),
        }
    })
    .await;

    // A data-bearer link to another of the shop's pages, followed with a fresh token.
    let before = bridge.minted.load(Ordering::SeqCst);
    b.click("#data-sync").await;
    b.find("#on-demand").await;
    assert_eq!(b.text("main h1").await, "Data Sync");
    assert_eq!(b.text("#timezone").await, "Europe/Paris");
    assert!(
        bridge.minted.load(Ordering::SeqCst) > before,
        "no token asked"
    );
    clean(&b).await;
    b.screenshot("embedded-data-sync").await;
    b.close().await;
    app.teardown().await;
}
