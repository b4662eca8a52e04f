//! The web console (`/console/` on the ops listener), on the real service wiring: in headless
//! Chromium through chromedriver ([`browser`]), and embedded access over plain HTTP.

mod activity;
mod browser;
mod embedded;
mod embedded_browser;
mod flows;
mod glance;
mod letters;
mod letters_select;
mod mappings;
mod safety;
mod send_claims;
mod sync;

use std::time::Duration;

use so_ops::{Filter, QueueOps, TargetQueue};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

pub(super) const TOKEN: &str = "console-admin-token-0123456789";
pub(super) const SHOP: &str = "paris.myshopify.com";
pub(super) const OTHER: &str = "other.myshopify.com";

/// Two shops in the file, one in Paris time.
const SHOPS: &str = r#"
[shops."paris.myshopify.com"]
webhook_secrets = ["test-secret"]
timezone = "Europe/Paris"

[shops."other.myshopify.com"]
webhook_secrets = ["test-secret"]
"#;

/// The service with a worker, the admin token (so the console) and `env`.
pub(super) async fn app(backend: Backend, env: Vec<(String, String)>) -> TestApp {
    let mut env = env;
    env.push(("SO_SHOPIFY__SHOPS_REFRESH_MS".to_owned(), "200".to_owned()));
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 2,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        config_toml: Some(SHOPS.to_owned()),
        env,
        ..TestAppOptions::default()
    })
    .await
}

pub(super) fn customer(id: u64, shop: &str) -> Webhook {
    let body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    Webhook::new("customers/update", serde_json::to_vec(&body).unwrap()).shop(shop)
}

pub(super) async fn parked_of(ops: &QueueOps, shop: &str) -> u32 {
    let filter = Filter {
        shops: vec![shop.to_owned()],
        reasons: vec!["shop_paused".to_owned()],
        ..Filter::default()
    };
    ops.list(TargetQueue::Parked, &filter, 0)
        .await
        .unwrap()
        .matched
}

/// Sends customers of `shop` until one is parked (the worker has applied the pause); returns
/// the ids sent.
pub(super) async fn until_one_is_parked(app: &TestApp, ops: &QueueOps, shop: &str) -> Vec<u64> {
    let sent = std::sync::Mutex::new(Vec::new());
    eventually(Duration::from_secs(30), || {
        let id = {
            let mut sent = sent.lock().unwrap();
            let id = 500 + sent.len() as u64;
            sent.push(id);
            id
        };
        async move {
            assert_eq!(app.send(&customer(id, shop)).await.status(), 200);
            match parked_of(ops, shop).await {
                0 => Err("nothing parked yet".to_owned()),
                _ => Ok(()),
            }
        }
    })
    .await;
    sent.into_inner().unwrap()
}

/// `GET` an admin API path: independent evidence of what the console did.
pub(super) async fn admin_get(app: &TestApp, path: &str) -> serde_json::Value {
    app.client
        .get(format!("{}{path}", app.ops_address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
