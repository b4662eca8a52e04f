//! A store-managed shop's own Ometria account set through the admin API on a
//! running worker: the next event reaches the other account (a second fake
//! Ometria that takes only its own key), nothing is lost; a bad key is refused
//! naming the field with nothing changed; the key is stored sealed and never
//! shown by `shops show` or `shops history`. On SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};
use sqlx::{AnyConnection, Connection, Row};

use crate::payloads;

const TOKEN: &str = "admin-token-secrets-0123";
const SHOP: &str = "own-account.myshopify.com";
const OWN_KEY: &str = "omkey-own-account-7f3e9a";
const HOOK_SECRET: &str = "whsec-own-shop-5d2c81";
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        env: vec![
            ("SO_SHOPIFY__SHOPS_REFRESH_MS".to_owned(), "200".to_owned()),
            (
                "SO_DATABASE__SECRETS_KEY".to_owned(),
                SECRETS_KEY.to_owned(),
            ),
        ],
        ..TestAppOptions::default()
    })
    .await
}

async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", app.ops_address);
    let req = match method {
        "GET" => app.client.get(&url),
        _ => app.client.put(&url),
    };
    let req = req.bearer_auth(TOKEN).header("X-Actor", "test");
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn customer(id: u64, email: &str) -> Webhook {
    let body = payloads::customer(id, email, "2026-11-20T10:00:00+00:00");
    Webhook::new("customers/update", serde_json::to_vec(&body).unwrap()).shop(SHOP)
}

async fn arrives(fake: &FakeOmetria, n: usize) {
    eventually(Duration::from_secs(30), || async {
        let got = fake.count(RecordType::Contact);
        if got == n {
            Ok(())
        } else {
            Err(format!("{got} of {n} contacts"))
        }
    })
    .await;
}

async fn raw_settings(app: &TestApp) -> String {
    let url = &app.database.as_ref().unwrap().url;
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let row = sqlx::query("SELECT settings FROM shop WHERE domain = $1")
        .bind(SHOP)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.get::<String, _>(0)
}

async fn own_account_set_live(backend: Backend) {
    let app = app(backend).await;
    let own = FakeOmetria::start(FakeConfig {
        api_key: OWN_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    // The shop starts on the deployment's account.
    let (status, body) = admin(
        &app,
        "PUT",
        &format!("/admin/shops/{SHOP}"),
        Some(json!({"namespace": ""})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.send(&customer(1, "first@example.com")).await.status(),
        200
    );
    arrives(app.ometria(), 1).await;

    // Its own account (endpoint and key), on the running worker.
    let settings = json!({"ometria": {"api_url": own.url(), "api_key": OWN_KEY}});
    let (status, body) = admin(&app, "PUT", &format!("/admin/shops/{SHOP}"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let version = body["version"].as_i64().unwrap();
    // Sent until one reaches the new account: the worker applied the revision.
    let mut sent = 1;
    for _ in 0..100 {
        sent += 1;
        let hook = customer(sent, &format!("c{sent}@example.com"));
        assert_eq!(app.send(&hook).await.status(), 200);
        if own.count(RecordType::Contact) > 0 {
            break;
        }
        // A new probe after the registry's refresh interval, not a timing assertion.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        own.count(RecordType::Contact) > 0,
        "nothing at the shop's own account"
    );
    // Nothing lost: every customer sent is at one account or the other.
    eventually(Duration::from_secs(30), || async {
        let total = app.ometria().count(RecordType::Contact) + own.count(RecordType::Contact);
        if total == sent as usize {
            Ok(())
        } else {
            Err(format!("{total} of {sent}"))
        }
    })
    .await;
    // And the next one goes to the new account only.
    let before_default = app.ometria().count(RecordType::Contact);
    let at_own = own.count(RecordType::Contact);
    assert_eq!(
        app.send(&customer(900, "next@example.com")).await.status(),
        200
    );
    arrives(&own, at_own + 1).await;
    assert_eq!(app.ometria().count(RecordType::Contact), before_default);

    // A bad key is refused naming the field; nothing is written.
    let bad = json!({"ometria": {"api_url": own.url(), "api_key": "has a space"}});
    let (status, body) = admin(&app, "PUT", &format!("/admin/shops/{SHOP}"), Some(bad)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("settings.ometria.api_key"),
        "{body}"
    );
    let (_, history) = admin(&app, "GET", &format!("/admin/shops/{SHOP}/history"), None).await;
    assert_eq!(history["versions"][0]["version"].as_i64(), Some(version));

    // Never shown, stored sealed.
    let (_, shown) = admin(&app, "GET", &format!("/admin/shops/{SHOP}"), None).await;
    for (what, text) in [
        ("show", shown.to_string()),
        ("history", history.to_string()),
        ("the stored row", raw_settings(&app).await),
    ] {
        assert!(!text.contains(OWN_KEY), "the key is in {what}: {text}");
    }
    assert!(
        history.to_string().contains("ometria.api_key"),
        "the change is audited: {history}"
    );

    // Its own webhook secret: the ingress verifies with it from its next refresh.
    let settings = json!({
        "ometria": {"api_url": own.url()},
        "webhook_secrets": [HOOK_SECRET],
    });
    let (status, body) = admin(&app, "PUT", &format!("/admin/shops/{SHOP}"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    eventually(Duration::from_secs(30), || async {
        let hook = customer(950, "own-secret@example.com");
        match app
            .send_signed_with(&hook, HOOK_SECRET)
            .await
            .status()
            .as_u16()
        {
            200 => Ok(()),
            s => Err(format!("signed with the shop's own secret: {s}")),
        }
    })
    .await;
    let deployment = customer(951, "deployment-secret@example.com");
    assert_eq!(app.send(&deployment).await.status(), 401);
    // The key was left out of that write: kept, so the contact reaches the own account.
    arrives(&own, at_own + 2).await;
    let (_, shown) = admin(&app, "GET", &format!("/admin/shops/{SHOP}"), None).await;
    assert!(!shown.to_string().contains(HOOK_SECRET), "{shown}");
    app.teardown().await;
}

#[tokio::test]
async fn a_shops_own_ometria_account_set_live_sqlite() {
    own_account_set_live(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_shops_own_ometria_account_set_live_postgres() {
    own_account_set_live(Backend::Postgres).await;
}

const CLIENT_SECRET: &str = "shpss-own-app-91b0c4";

/// Admin API credentials of a store-managed shop: set sealed, kept when a later write leaves
/// the secret out (the client id alone changes), two ways at once refused naming the key, and
/// the secret never shown or stored in the clear.
async fn admin_credentials_set(backend: Backend) {
    let app = app(backend).await;
    let path = format!("/admin/shops/{SHOP}");
    let put = |body: Value| admin(&app, "PUT", &path, Some(body));
    let (status, body) = put(json!({"admin": {
        "client_id": "app-id-1",
        "client_secret": CLIENT_SECRET,
        "api_url": "http://127.0.0.1:9/admin",
    }}))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    // The client id alone: the sealed secret is kept, so the pair is still whole.
    let (status, body) = put(json!({"admin": {"client_id": "app-id-2"}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let raw = raw_settings(&app).await;
    assert!(
        raw.contains("app-id-2") && raw.contains("admin.client_secret"),
        "{raw}"
    );
    assert!(!raw.contains(CLIENT_SECRET), "sealed, never in the clear");
    // Removing the secret leaves the id without its secret: refused, nothing written.
    let (status, err) =
        put(json!({"admin": {"client_id": "app-id-2", "client_secret": null}})).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("settings.admin.client_secret"),
        "{err}"
    );
    // Two ways to the Admin API at once: refused naming the key.
    let (status, err) =
        put(json!({"admin": {"client_id": "app-id-2", "access_token": "shpat_x"}})).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("settings.admin.access_token"),
        "{err}"
    );
    let (status, err) = put(json!({"admin": "shpat_x"})).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["detail"].as_str().unwrap().contains("settings.admin"),
        "{err}"
    );
    // The registry opens the sealed pair: the shop reaches the Admin API by client credentials.
    eventually(Duration::from_secs(10), || async {
        let (_, shown) = admin(&app, "GET", &path, None).await;
        match (shown["version"].as_i64(), shown["admin_access"].as_str()) {
            (Some(2), Some("client_credentials")) => Ok(()),
            _ => Err(format!("{shown}")),
        }
    })
    .await;
    let (_, shown) = admin(&app, "GET", &path, None).await;
    let (_, history) = admin(&app, "GET", &format!("{path}/history"), None).await;
    for text in [shown.to_string(), history.to_string()] {
        assert!(!text.contains(CLIENT_SECRET), "{text}");
    }
    app.teardown().await;
}

#[tokio::test]
async fn admin_api_credentials_set_sealed_and_kept_sqlite() {
    admin_credentials_set(Backend::Sqlite).await;
}

#[tokio::test]
async fn admin_api_credentials_set_sealed_and_kept_postgres() {
    admin_credentials_set(Backend::Postgres).await;
}

/// An Ometria account built on the running worker (the shop's own, set through the API) has
/// its asynchronous rejections watched, as the accounts built at start have: a record its
/// Ometria refuses after accepting the push is dead-lettered `ometria_rejected`.
async fn late_account_rejections_watched(backend: Backend) {
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        env: vec![
            ("SO_SHOPIFY__SHOPS_REFRESH_MS".to_owned(), "200".to_owned()),
            (
                "SO_DATABASE__SECRETS_KEY".to_owned(),
                SECRETS_KEY.to_owned(),
            ),
            ("SO_REJECTIONS__POLL_SECS".into(), "2".into()),
            ("SO_REJECTIONS__AFTER_PUSH_SECS".into(), "1".into()),
            ("SO_REJECTIONS__JOURNAL_SECS".into(), "120".into()),
        ],
        ..TestAppOptions::default()
    })
    .await;
    let own = FakeOmetria::start(FakeConfig {
        api_key: OWN_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    own.set_validation(so_fake_ometria::Validation {
        visible_after: Duration::from_millis(500),
        ..so_fake_ometria::Validation::default()
    });
    own.reject_path(Some(RecordType::Contact), "lastname");
    let settings = json!({"ometria": {"api_url": own.url(), "api_key": OWN_KEY}});
    let (status, body) = admin(&app, "PUT", &format!("/admin/shops/{SHOP}"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    // Sent until one reaches the new account (the worker applied the revision).
    let mut sent = 0;
    while own.push_errors().is_empty() && sent < 100 {
        sent += 1;
        let hook = customer(sent, &format!("c{sent}@example.com"));
        assert_eq!(app.send(&hook).await.status(), 200);
        // A new probe after the registry's refresh interval, not a timing assertion.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused: Vec<String> = own
        .push_errors()
        .iter()
        .map(|e| e["record_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !refused.is_empty(),
        "the shop's own account refused nothing"
    );
    let ops = app.queue_ops().await;
    let filter = so_ops::Filter {
        reasons: vec!["ometria_rejected".into()],
        ..so_ops::Filter::default()
    };
    eventually(Duration::from_secs(60), || async {
        let l = ops
            .list(so_ops::TargetQueue::DeadLetter, &filter, 100)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched >= 1 {
            Ok(())
        } else {
            Err(format!(
                "no ometria_rejected dead letter; the fake refused {refused:?}"
            ))
        }
    })
    .await;
    app.teardown().await;
}

#[tokio::test]
async fn a_late_accounts_rejections_are_watched_sqlite() {
    late_account_rejections_watched(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_late_accounts_rejections_are_watched_postgres() {
    late_account_rejections_watched(Backend::Postgres).await;
}
