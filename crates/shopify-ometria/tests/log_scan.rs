//! The real binary (`run`, debug logging) takes every documented Shopify
//! sample, customer data of our own, a forged webhook, a poison message and
//! admin API calls (including a payload reveal); its whole log output is then
//! scanned for secrets and customer email addresses, and must hold none.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_testkit::{ServiceProcess, Webhook, eventually, fixtures};

const WEBHOOK_SECRET: &str = "whsec-SECRET-9f2a61c0";
const OLD_SECRET: &str = "whsec-OLDSECRET-77aa0b1e";
const OMETRIA_KEY: &str = "omkey-SECRET-4c1d83e2";
const ADMIN_TOKEN: &str = "admin-SECRET-1234567890";
const AMQP_PASSWORD_IN_URL: &str = ":guest@";

/// Every `local@domain.tld` in `text`.
fn emails(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let is_domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let local: String = text[..at]
            .chars()
            .rev()
            .take_while(|c| is_local(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let domain: String = text[at + 1..]
            .chars()
            .take_while(|c| is_domain(*c))
            .collect();
        if !local.is_empty() && domain.contains('.') && !domain.ends_with('.') {
            out.push(format!("{local}@{domain}"));
        }
    }
    out
}

#[tokio::test]
async fn a_full_run_logs_no_secret_and_no_customer_email() {
    let fake = FakeOmetria::start(FakeConfig {
        api_key: OMETRIA_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    let dir = std::env::temp_dir().join(format!("so-logscan-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = so_testkit::broker::unique_prefix();
    let mut service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_shopify-ometria"),
        "run",
        &[
            ("SO_AMQP__URL", so_testkit::broker::amqp_url()),
            ("SO_AMQP__PREFIX", prefix.clone()),
            ("SO_AMQP__PARTITIONS", "2".to_owned()),
            (
                "SO_SHOPIFY__WEBHOOK_SECRETS",
                format!("{WEBHOOK_SECRET},{OLD_SECRET}"),
            ),
            ("SO_OMETRIA__API_URL", fake.url()),
            ("SO_OMETRIA__API_KEY", OMETRIA_KEY.to_owned()),
            (
                "SO_DATABASE__EMAIL_KEY",
                "log-scan-email-key-0123".to_owned(),
            ),
            ("SO_OPS__ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            (
                "SO_DATABASE__URL",
                format!("sqlite://{}/so.db?mode=rwc", dir.display()),
            ),
            ("SO_WORKER__BATCH_WINDOW_MS", "30".to_owned()),
            ("SO_REJECTIONS__POLL_SECS", "2".to_owned()),
            ("SO_REJECTIONS__AFTER_PUSH_SECS", "1".to_owned()),
            (
                "SO_LOG__FILTER",
                format!(
                    "debug,hyper=info,h2=info,reqwest=info,sqlx=info,{}",
                    so_queue::link::client_log_directives("info")
                ),
            ),
        ],
    );
    service.wait_ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::new();
    let ops_url = service.ops_url.clone();
    let url = service.webhook_url.clone();
    let send = |hook: Webhook, secret: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut req = client.post(&url).body(hook.body.clone());
            for (k, v) in hook.headers(secret) {
                req = req.header(k, v);
            }
            req.send().await.unwrap().status().as_u16()
        }
    };

    let mut planted: Vec<String> = Vec::new();
    for sample in fixtures::samples() {
        planted.extend(emails(&String::from_utf8_lossy(&sample.body)));
        // Lifecycle samples to a shop of their own: after them a shop's
        // older events are parked.
        let hook = Webhook::new(&sample.topic, sample.body);
        let hook = if matches!(sample.topic.as_str(), "app/uninstalled" | "shop/redact") {
            hook.shop("gone-shop.myshopify.com")
        } else {
            hook
        };
        send(hook, WEBHOOK_SECRET).await;
    }
    let customer = r#"{"id":5550001,"email":"leak.check+7@example.net","first_name":"Ada","last_name":"Lovelace","phone":"+447700900999","state":"enabled","created_at":"2026-11-19T10:00:00+00:00","updated_at":"2026-11-20T10:00:00+00:00","addresses":[]}"#;
    planted.push("leak.check+7@example.net".to_owned());
    assert_eq!(
        send(Webhook::new("customers/create", customer), OLD_SECRET).await,
        200
    );
    let poison = Webhook::new(
        "orders/create",
        r#"{"id":777,"email":"poison.pill@example.org","line_items":"nope"}"#,
    );
    planted.push("poison.pill@example.org".to_owned());
    let poison_id = poison.webhook_id.clone();
    assert_eq!(send(poison, WEBHOOK_SECRET).await, 200);
    // Refused later by Ometria: the rejection watcher logs it.
    fake.reject_ids(["5550002"]);
    let refused = r#"{"id":5550002,"email":"refused.check@example.net","first_name":"Charles","last_name":"Babbage","state":"enabled","created_at":"2026-11-19T10:00:00+00:00","updated_at":"2026-11-20T10:00:00+00:00","addresses":[]}"#;
    planted.push("refused.check@example.net".to_owned());
    assert_eq!(
        send(Webhook::new("customers/create", refused), WEBHOOK_SECRET).await,
        200
    );
    let forged = Webhook::new("customers/create", customer);
    assert_eq!(send(forged, "not-the-secret").await, 401);

    eventually(Duration::from_secs(60), || async {
        if fake.record(RecordType::Contact, "5550001").is_some() {
            Ok(())
        } else {
            Err("the customer has not reached Ometria".to_owned())
        }
    })
    .await;
    // The admin API: a list, a masked show, a reveal, a wrong token.
    let admin = |path: String, token: &'static str| {
        let client = client.clone();
        let ops_url = ops_url.clone();
        async move {
            client
                .get(format!("{ops_url}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    eventually(Duration::from_secs(30), || async {
        match admin(format!("/admin/dead-letters/{poison_id}"), ADMIN_TOKEN).await {
            200 => Ok(()),
            s => Err(format!("show answered {s}")),
        }
    })
    .await;
    assert_eq!(
        admin(
            format!("/admin/dead-letters/{poison_id}?reveal=true"),
            ADMIN_TOKEN
        )
        .await,
        200
    );
    assert_eq!(
        admin("/admin/dead-letters".to_owned(), "wrong-token-000000000").await,
        401
    );
    eventually(Duration::from_secs(60), || async {
        let listed = client
            .get(format!(
                "{ops_url}/admin/dead-letters?reason=ometria_rejected"
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        if listed.contains("5550002") {
            Ok(())
        } else {
            Err("the refusal is not dead-lettered yet".to_owned())
        }
    })
    .await;

    service.signal("TERM").await;
    let status = service
        .wait(Duration::from_secs(60))
        .await
        .expect("stops after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let logs = service.output().await;
    let _removed = std::fs::remove_dir_all(&dir);
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }

    // The logs are real: they saw the run.
    assert!(
        logs.lines().count() > 50,
        "only {} log lines",
        logs.lines().count()
    );
    assert!(
        logs.contains(&poison_id),
        "the dead letter's webhook id is logged"
    );
    assert!(
        logs.contains("Webhook rejected"),
        "the forged webhook is logged"
    );
    assert!(logs.contains("revealed"), "the reveal is logged");
    assert!(
        logs.contains("Ometria rejected a record after accepting its push"),
        "the asynchronous refusal is logged"
    );
    assert!(planted.len() >= 5, "planted {planted:?}");
    for secret in [
        WEBHOOK_SECRET,
        OLD_SECRET,
        OMETRIA_KEY,
        ADMIN_TOKEN,
        AMQP_PASSWORD_IN_URL,
    ] {
        assert!(!logs.contains(secret), "a secret is in the logs: {secret}");
    }
    let found = emails(&logs);
    assert!(found.is_empty(), "customer emails in the logs: {found:?}");
    for name in ["Lovelace", "+447700900999", "Babbage"] {
        assert!(!logs.contains(name), "customer data in the logs: {name}");
    }
}
