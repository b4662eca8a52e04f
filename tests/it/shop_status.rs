//! A shop's status (`GET /admin/shops/{shop}`, as `shops show` prints it)
//! against what happened, on both store backends: the last push Ometria
//! accepted is empty until the fake has received the shop's record and set
//! after, for that shop only; an asynchronous rejection is counted for the
//! shop with a masked reason; events waiting are the queues' (all shops);
//! the next daily profile send shows when daily sends are on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use so_domain::ometria::RecordType;
use so_fake_ometria::{ErrorShape, Validation};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

const TOKEN: &str = "admin-token-0123456789";
const SENDING: &str = "sending.myshopify.com";
const QUIET: &str = "quiet.myshopify.com";

const SHOPS: &str = r#"
[shops."sending.myshopify.com"]
webhook_secrets = ["test-secret"]
timezone = "Europe/London"

[shops."sending.myshopify.com".profile_sends]
daily = true
at = "06:30"

[shops."quiet.myshopify.com"]
webhook_secrets = ["test-secret"]
"#;

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        config_toml: Some(SHOPS.to_owned()),
        env: vec![
            ("SO_REJECTIONS__POLL_SECS".into(), "2".into()),
            ("SO_REJECTIONS__AFTER_PUSH_SECS".into(), "1".into()),
            ("SO_REJECTIONS__JOURNAL_SECS".into(), "120".into()),
        ],
        ..TestAppOptions::default()
    })
    .await
}

async fn status(app: &TestApp, shop: &str) -> Value {
    let url = format!("{}/admin/shops/{shop}", app.ops_address);
    let res = app
        .client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn customer(id: u64, last_name: &str) -> Webhook {
    let mut body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    body["last_name"] = serde_json::json!(last_name);
    Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(SENDING)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .unwrap()
        .with_timezone(&Utc)
}

async fn the_last_push_is_set_once_ometria_accepted_one(backend: Backend) {
    let app = app(backend).await;
    let before = status(&app, SENDING).await;
    let d = &before["detail"];
    assert!(d["last_push_at"].is_null(), "{before}");
    assert_eq!(d["rejections_last_day"]["count"], 0);
    assert!(d["subscriptions"].is_null(), "never checked: {before}");
    assert_eq!(d["waiting"]["scope"], "all_shops");
    assert!(d["waiting"]["error"].is_null(), "{before}");
    let next = time(&d["next_profile_send_at"]);
    assert!(next >= Utc::now() - chrono::TimeDelta::minutes(1), "{next}");
    let local = d["next_profile_send_at_local"].as_str().unwrap();
    assert!(local.ends_with("(Europe/London)"), "{local}");

    let sent_at = Utc::now() - chrono::TimeDelta::seconds(1);
    assert_eq!(app.send(&customer(501, "Ok")).await.status(), 200);
    // Independent evidence: the fake holds the record.
    app.contacts_arrive([501]).await;
    let after = eventually(Duration::from_secs(30), || async {
        let s = status(&app, SENDING).await;
        // The ledger (last webhook) is written as the event settles, just
        // after the push.
        let d = &s["detail"];
        match d["last_push_at"].is_null() || d["last_webhook_at"].is_null() {
            true => Err(format!("no last push or webhook yet: {s}")),
            false => Ok(s),
        }
    })
    .await;
    let pushed = time(&after["detail"]["last_push_at"]);
    assert!(pushed >= sent_at, "{pushed} before the webhook was sent");

    // Another shop's status is its own: nothing pushed, no daily send.
    let quiet = status(&app, QUIET).await;
    assert!(quiet["detail"]["last_push_at"].is_null(), "{quiet}");
    assert!(quiet["detail"]["next_profile_send_at"].is_null(), "{quiet}");
    // The list stays the cheap summary.
    let url = format!("{}/admin/shops", app.ops_address);
    let list: Value = app
        .client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["shops"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("detail").is_none()),
        "{list}"
    );
    app.teardown().await;
}

async fn an_asynchronous_rejection_is_counted_for_the_shop(backend: Backend) {
    let app = app(backend).await;
    let fake = app.ometria();
    fake.set_validation(Validation {
        shape: ErrorShape::Rich,
        visible_after: Duration::from_millis(500),
        ..Validation::default()
    });
    fake.reject_path(Some(RecordType::Contact), "lastname");
    assert_eq!(app.send(&customer(700, "Snow")).await.status(), 200);
    // The fake refused the record (its own list), after accepting the push.
    eventually(Duration::from_secs(30), || async {
        match fake.push_errors().len() {
            1 => Ok(()),
            n => Err(format!("{n} refusals listed")),
        }
    })
    .await;
    let s = eventually(Duration::from_secs(60), || async {
        let s = status(&app, SENDING).await;
        match s["detail"]["rejections_last_day"]["count"].as_u64() {
            Some(1) => Ok(s),
            n => Err(format!("{n:?} rejections: {s}")),
        }
    })
    .await;
    let r = &s["detail"]["rejections_last_day"];
    let reason = r["latest_reason"].as_str().unwrap();
    assert!(reason.starts_with("contact at "), "{reason}");
    assert!(
        !reason.contains("Snow") && !reason.contains("c700@"),
        "{reason}"
    );
    assert!(r["latest_at"].is_string());
    let quiet = status(&app, QUIET).await;
    assert_eq!(quiet["detail"]["rejections_last_day"]["count"], 0);
    app.teardown().await;
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(so_testkit::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(so_testkit::Backend::Postgres).await;
            }
        }
    )+};
}

on_both_backends!(
    the_last_push_is_set_once_ometria_accepted_one,
    an_asynchronous_rejection_is_counted_for_the_shop,
);
