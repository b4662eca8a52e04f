//! Shops held in the store, live: pausing and resuming through the admin API
//! on a running worker (no restart), a settings change applied to the next
//! event, and bad input refused with nothing changed. On SQLite and
//! PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_ops::{Filter, QueueOps, TargetQueue};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

const TOKEN: &str = "admin-token-0123456789";
const PAUSED: &str = "paused.myshopify.com";
const LIVE: &str = "live.myshopify.com";

const TWO_SHOPS: &str = r#"
[shops."paused.myshopify.com"]
webhook_secrets = ["test-secret"]

[shops."live.myshopify.com"]
webhook_secrets = ["test-secret"]
"#;

async fn app(backend: Backend, toml: Option<&str>) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 4,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        config_toml: toml.map(str::to_owned),
        env: vec![("SO_SHOPIFY__SHOPS_REFRESH_MS".to_owned(), "200".to_owned())],
        ..TestAppOptions::default()
    })
    .await
}

fn customer(id: u64, email: &str, at: &str, shop: &str) -> Webhook {
    let body = payloads::customer(id, email, &format!("2026-11-20T{at}+00:00"));
    Webhook::new("customers/update", serde_json::to_vec(&body).unwrap()).shop(shop)
}

async fn send(app: &TestApp, hook: &Webhook) {
    assert_eq!(app.send(hook).await.status(), 200);
}

async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", app.ops_address);
    let req = match method {
        "GET" => app.client.get(&url),
        "PUT" => app.client.put(&url),
        _ => app.client.post(&url),
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

async fn parked_of(ops: &QueueOps, shop: &str) -> u32 {
    let filter = Filter {
        shops: vec![shop.to_owned()],
        reasons: vec!["shop_paused".to_owned()],
        ..Filter::default()
    };
    ops.list_by_scan(TargetQueue::Parked, &filter, 0)
        .await
        .unwrap()
        .matched
}

/// Sends new customers of `shop` until one is parked: the running worker
/// has applied the pause. Returns the probes' ids (some may have been pushed
/// before it did).
async fn until_a_probe_is_parked(app: &TestApp, ops: &QueueOps, shop: &str) -> Vec<u64> {
    let sent = std::sync::Mutex::new(Vec::new());
    eventually(Duration::from_secs(30), || {
        let id = {
            let mut sent = sent.lock().unwrap();
            let id = 900 + sent.len() as u64;
            sent.push(id);
            id
        };
        async move {
            send(
                app,
                &customer(id, &format!("p{id}@example.com"), "09:00:00", shop),
            )
            .await;
            match parked_of(ops, shop).await {
                0 => Err("no probe parked yet".to_owned()),
                _ => Ok(()),
            }
        }
    })
    .await;
    sent.into_inner().unwrap()
}

async fn pause_and_resume_on_a_running_worker(backend: Backend) {
    let app = app(backend, Some(TWO_SHOPS)).await;
    let ops = app.queue_ops().await;
    let (status, body) = admin(&app, "POST", &format!("/admin/shops/{PAUSED}/pause"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["paused"], true);
    assert_eq!(body["changed"], true);
    let probes = until_a_probe_is_parked(&app, &ops, PAUSED).await;
    let fake = app.ometria();

    for (i, at) in ["10:00:00", "10:05:00", "10:10:00"].iter().enumerate() {
        send(
            &app,
            &customer(700, &format!("v{i}@example.com"), at, PAUSED),
        )
        .await;
    }
    for id in 701..705 {
        send(
            &app,
            &customer(id, &format!("c{id}@example.com"), "10:00:00", PAUSED),
        )
        .await;
    }
    // The other shop keeps flowing.
    send(&app, &customer(710, "c710@example.com", "10:00:00", LIVE)).await;
    app.contacts_arrive([710]).await;
    // Every probe settles either pushed (sent before the worker saw the
    // pause) or parked; the 7 events after it are all parked.
    let parked = eventually(Duration::from_secs(30), || async {
        let pushed = probes
            .iter()
            .filter(|id| fake.record(RecordType::Contact, &id.to_string()).is_some())
            .count();
        let want = probes.len() - pushed + 7;
        match parked_of(&ops, PAUSED).await {
            n if n as usize == want => Ok(n),
            n => Err(format!("{n} parked, want {want}")),
        }
    })
    .await;
    assert!(fake.record(RecordType::Contact, "700").is_none());

    let (status, body) = admin(&app, "POST", &format!("/admin/shops/{PAUSED}/resume"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["paused"], false);
    assert_eq!(body["released"]["done"], u64::from(parked), "{body}");
    app.contacts_arrive(700..705).await;
    eventually(Duration::from_secs(30), || async {
        let c = fake
            .record(RecordType::Contact, "700")
            .ok_or("no contact")?;
        match c["email"].as_str() {
            Some("v2@example.com") => Ok(()),
            other => Err(format!("email {other:?}")),
        }
    })
    .await;
    assert_eq!(parked_of(&ops, PAUSED).await, 0);
    // After the resume, new events go straight through.
    send(&app, &customer(720, "c720@example.com", "11:00:00", PAUSED)).await;
    app.contacts_arrive([720]).await;

    let (_, history) = admin(&app, "GET", &format!("/admin/shops/{PAUSED}/history"), None).await;
    let actors: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["admin-api:test", "admin-api:test", "config"]);
    app.teardown().await;
}

/// Sends a new customer of `shop` (ids from `from + 1`) until one, once at the fake Ometria,
/// passes `check`: the worker has applied the settings written before.
async fn until_a_contact(
    app: &TestApp,
    shop: &str,
    from: u64,
    check: impl Fn(u64) -> Result<(), String>,
) {
    let mut next = from;
    let check = &check;
    eventually(Duration::from_secs(30), || {
        next += 1;
        let id = next;
        async move {
            send(
                app,
                &customer(id, &format!("c{id}@example.com"), "10:00:00", shop),
            )
            .await;
            app.contacts_arrive([id]).await;
            check(id)
        }
    })
    .await;
}

async fn a_settings_change_applies_to_the_next_event(backend: Backend) {
    let owned = app(backend, None).await;
    let app = &owned;
    let shop = "new.myshopify.com";
    let put = |lists: Value| admin(app, "PUT", "/admin/shops/new.myshopify.com", Some(lists));
    let (status, body) = put(json!({"lists": {"every_contact": [41]}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    let fake = app.ometria();
    // The first contact after the worker saw version 1 joins list 41.
    until_a_contact(app, shop, 100, |id| {
        if fake.lists_of(&id.to_string()).contains(&"41".to_owned()) {
            Ok(())
        } else {
            Err(format!("contact {id} not on list 41"))
        }
    })
    .await;
    let (status, body) = put(json!({"lists": {"every_contact": [42]}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    until_a_contact(app, shop, 200, |id| {
        let lists = fake.lists_of(&id.to_string());
        if lists == ["42"] {
            Ok(())
        } else {
            Err(format!("contact {id} on {lists:?}"))
        }
    })
    .await;
    // A field mapping set through the API: the next contact carries the mapped property.
    let (status, body) = put(json!({
        "lists": {"every_contact": [42]},
        "mappings": {"contact": {"account_state": "state"}},
    }))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 3);
    until_a_contact(app, shop, 300, |id| {
        let record = fake.record(RecordType::Contact, &id.to_string());
        let mapped = record
            .as_ref()
            .map(|r| r["properties"]["account_state"].clone());
        if mapped == Some(json!("enabled")) {
            Ok(())
        } else {
            Err(format!("contact {id}: {record:?}"))
        }
    })
    .await;
    let (_, status_body) = admin(app, "GET", "/admin/shops/new.myshopify.com", None).await;
    assert_eq!(status_body["source"], "store");
    assert_eq!(status_body["version"], 3);
    assert!(
        status_body["detail"]["last_webhook_at"].is_string(),
        "{status_body}"
    );
    // No install and no profile send for this shop; its zone is the default.
    let detail = &status_body["detail"];
    assert_eq!(
        (
            &detail["timezone"],
            &detail["oauth"],
            &detail["last_profile_send"]
        ),
        (&json!("UTC"), &Value::Null, &Value::Null),
        "{status_body}"
    );
    assert_eq!(status_body["admin_access"], "none");
    owned.teardown().await;
}

async fn bad_input_is_refused_naming_the_field_and_changes_nothing(backend: Backend) {
    let app = app(backend, Some(TWO_SHOPS)).await;
    let store_shop = "/admin/shops/mine.myshopify.com";
    let (status, _) = admin(&app, "PUT", store_shop, Some(json!({"namespace": "uk:"}))).await;
    assert_eq!(status, 200);
    let cases = [
        (
            "PUT",
            "/admin/shops/acme.com",
            Some(json!({})),
            400,
            "invalid_input",
            "`shop`",
        ),
        (
            "POST",
            "/admin/shops/not a shop/pause",
            None,
            400,
            "invalid_input",
            "`shop`",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"namespace": "far-too-long-namespace-x"})),
            400,
            "invalid_settings",
            "settings.namespace",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"mappings": {"contact": {"tier": "metafield.custom.tier"}}})),
            400,
            "invalid_settings",
            "settings.mappings.contact.tier",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"timezone": "Mars/Olympus"})),
            400,
            "invalid_settings",
            "settings.timezone",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"profile_sends": {"daily": true, "at": "25:00"}})),
            400,
            "invalid_settings",
            "settings.profile_sends.at",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"lists": {"subscribers": [0]}})),
            400,
            "invalid_settings",
            "settings.lists.subscribers",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"lists": {"subscribers": "seven"}})),
            400,
            "invalid_settings",
            "settings.lists",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"nmespace": "uk"})),
            400,
            "invalid_settings",
            "nmespace",
        ),
        (
            "PUT",
            store_shop,
            Some(json!({"ometria": {"api_key": "k"}})),
            400,
            "invalid_settings",
            "settings.ometria",
        ),
        (
            "PUT",
            store_shop,
            Some(json!([1])),
            400,
            "invalid_settings",
            "JSON object",
        ),
        (
            "PUT",
            &format!("/admin/shops/{LIVE}"),
            Some(json!({"namespace": "x"})),
            409,
            "managed_as_code",
            LIVE,
        ),
        (
            "POST",
            "/admin/shops/nobody.myshopify.com/pause",
            None,
            404,
            "unknown_shop",
            "nobody",
        ),
        (
            "GET",
            "/admin/shops/nobody.myshopify.com",
            None,
            404,
            "unknown_shop",
            "nobody",
        ),
        (
            "GET",
            "/admin/shops/nobody.myshopify.com/history",
            None,
            404,
            "unknown_shop",
            "nobody",
        ),
    ];
    for (method, path, body, want, code, names) in cases {
        let (status, err) = admin(&app, method, path, body.clone()).await;
        assert_eq!(status, want, "{method} {path} {body:?}: {err}");
        assert_eq!(err["code"], code, "{err}");
        let detail = err["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{detail} should name {names}");
    }
    let (_, history) = admin(&app, "GET", &format!("{store_shop}/history"), None).await;
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );
    let (_, list) = admin(&app, "GET", "/admin/shops", None).await;
    let shops: Vec<(&str, &str)> = list["shops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["shop"].as_str().unwrap(), s["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shops,
        [
            (LIVE, "config"),
            ("mine.myshopify.com", "store"),
            (PAUSED, "config")
        ]
    );
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
    pause_and_resume_on_a_running_worker,
    a_settings_change_applies_to_the_next_event,
    bad_input_is_refused_naming_the_field_and_changes_nothing,
);

/// The ingress serves a shop added through the API within a refresh, and
/// refuses it before: no restart.
async fn the_ingress_serves_a_shop_added_in_the_store(backend: Backend) {
    let app = app(backend, Some(TWO_SHOPS)).await;
    let shop = "added.myshopify.com";
    let hook = || customer(1, "a1@example.com", "10:00:00", shop);
    assert_eq!(app.send(&hook()).await.status(), 401);
    let (status, body) = admin(
        &app,
        "PUT",
        &format!("/admin/shops/{shop}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eventually(Duration::from_secs(30), || async {
        match app.send(&hook()).await.status().as_u16() {
            200 => Ok(()),
            s => Err(format!("status {s}")),
        }
    })
    .await;
    app.contacts_arrive([1]).await;
    app.teardown().await;
}

on_both_backends!(the_ingress_serves_a_shop_added_in_the_store);
