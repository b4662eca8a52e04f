//! The real binary (`run`, debug logging) takes every documented Shopify
//! sample, customer data of our own, a forged webhook, a poison message and
//! admin API calls (including a payload reveal); its whole log output is then
//! scanned for secrets and customer email addresses, and must hold none.
//! The same for `backfill` runs with client credentials (the app secret,
//! every token issued, a refused secret).

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_testkit::{ServiceProcess, Webhook, eventually, fixtures};

const WEBHOOK_SECRET: &str = "whsec-SECRET-9f2a61c0";
const OLD_SECRET: &str = "whsec-OLDSECRET-77aa0b1e";
const OMETRIA_KEY: &str = "omkey-SECRET-4c1d83e2";
const ADMIN_TOKEN: &str = "admin-SECRET-1234567890";
const AMQP_PASSWORD_IN_URL: &str = ":guest@";
/// A store-managed shop's own Ometria key and webhook secret, set through the admin API.
const STORED_OMETRIA_KEY: &str = "omkey-STORED-SECRET-0b7c55d1";
const STORED_WEBHOOK_SECRET: &str = "whsec-STORED-SECRET-a41f0e92";
const SEALING_KEY_RUN: &str = "bG9nLXNjYW4tcnVuLXNlYWxpbmcta2V5LTAwMDAwMDA=";

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
            ("SO_DATABASE__SECRETS_KEY", SEALING_KEY_RUN.to_owned()),
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
    // A store-managed shop's secrets through the admin API, then its show and
    // history (and a refused write): the secrets are in no answer and no log.
    let stored_shop = "log-scan-stored.myshopify.com";
    let put = |body: serde_json::Value| {
        let client = client.clone();
        let url = format!("{ops_url}/admin/shops/{stored_shop}");
        async move {
            client
                .put(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let secrets = serde_json::json!({
        "ometria": {"api_key": STORED_OMETRIA_KEY},
        "webhook_secrets": [STORED_WEBHOOK_SECRET],
    });
    assert_eq!(put(secrets).await, 200);
    assert_eq!(
        put(serde_json::json!({"ometria": {"api_key": format!("{STORED_OMETRIA_KEY} x")}})).await,
        400
    );
    for path in ["", "/history"] {
        let answer = client
            .get(format!("{ops_url}/admin/shops/{stored_shop}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(answer.contains(stored_shop), "{answer}");
        for secret in [STORED_OMETRIA_KEY, STORED_WEBHOOK_SECRET] {
            assert!(
                !answer.contains(secret),
                "a stored secret is shown: {answer}"
            );
        }
    }

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
        STORED_OMETRIA_KEY,
        STORED_WEBHOOK_SECRET,
        SEALING_KEY_RUN,
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

const CLIENT_SECRET: &str = "shpss-SECRET-5be0c7d1";
const OTHER_ORG_SECRET: &str = "shpss-SECRET-OTHERORG-0d2e";
const WRONG_SECRET: &str = "shpss-SECRET-WRONG-71c9";
const RIGHT_SECRET: &str = "shpss-SECRET-RIGHT-a4f0";
const OTHER_ORG: &str = "other-org.myshopify.com";
const WRONG: &str = "wrong-secret.myshopify.com";

/// `[shops]` with client credentials for each `(domain, client id,
/// secret)`, pointed at the fake.
fn client_credentials_shops(
    fake: &so_fake_shopify::FakeShopify,
    shops: &[(&str, &str, &str)],
) -> String {
    let mut config = String::new();
    for (domain, id, secret) in shops {
        config.push_str(&format!(
            "[shops.\"{domain}\"]\nwebhook_secrets = [\"{secret}\"]\n[shops.\"{domain}\".admin]\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\napi_url = \"{}\"\n",
            fake.shop_base_url(domain)
        ));
    }
    config
}

/// The binary with `--config` and `args`, only `env` (and `PATH`) in its
/// environment, its output into `log` (a file: a pipe nobody reads would
/// fill up and stop it).
fn binary(
    config: &std::path::Path,
    args: &[&str],
    env: &[(&str, String)],
    log: &std::path::Path,
) -> tokio::process::Command {
    let file = std::fs::File::create(log).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify-ometria"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true);
    command
}

/// `run` with shops connected by client credentials, debug logging: the
/// scheduler's reconciliation obtains a token, meets a 401 halfway (the
/// fake expires it) and renews it; a shop of another organization is
/// refused (`shop_not_permitted`) and one with a wrong secret too; then a
/// `backfill` of that shop prints its error. Neither a client secret nor
/// any token the fake issued may appear in the output.
#[tokio::test]
async fn client_credentials_runs_log_no_client_secret_and_no_token() {
    use so_fake_shopify::{ClientApp, DEFAULT_CLIENT_ID, DEFAULT_SHOP, FakeShopify, ShopConfig};

    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.edit_client_app(|a| a.client_secret = CLIENT_SECRET.to_owned());
    shop.seed_generated(50, 1, 0.5);
    // Refused after one answer: the reconciliation's second page.
    shop.expire_tokens_after(1);
    let mut other_org = ClientApp::new("other-org-client", OTHER_ORG_SECRET);
    other_org.same_organization = false;
    let other =
        fake.add_shop(ShopConfig::new(OTHER_ORG, "shpat_unused").with_client_app(other_org));
    let wrong = fake.add_shop(
        ShopConfig::new(WRONG, "shpat_unused")
            .with_client_app(ClientApp::new("wrong-client", RIGHT_SECRET)),
    );
    let ometria = FakeOmetria::start(FakeConfig {
        api_key: OMETRIA_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shops.toml");
    std::fs::write(
        &config,
        client_credentials_shops(
            &fake,
            &[
                (DEFAULT_SHOP, DEFAULT_CLIENT_ID, CLIENT_SECRET),
                (OTHER_ORG, "other-org-client", OTHER_ORG_SECRET),
                (WRONG, "wrong-client", WRONG_SECRET),
            ],
        ),
    )
    .unwrap();
    let prefix = so_testkit::broker::unique_prefix();
    let env = [
        ("SO_AMQP__URL", so_testkit::broker::amqp_url()),
        ("SO_AMQP__PREFIX", prefix.clone()),
        ("SO_AMQP__PARTITIONS", "2".to_owned()),
        (
            "SO_INGRESS__LISTEN",
            format!("127.0.0.1:{}", so_testkit::free_port()),
        ),
        (
            "SO_OPS__LISTEN",
            format!("127.0.0.1:{}", so_testkit::free_port()),
        ),
        ("SO_OMETRIA__API_URL", ometria.url()),
        ("SO_OMETRIA__API_KEY", OMETRIA_KEY.to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "log-scan-email-key-0123".to_owned(),
        ),
        (
            "SO_DATABASE__URL",
            format!("sqlite://{}/so.db?mode=rwc", dir.path().display()),
        ),
        (
            "SO_LOG__FILTER",
            format!(
                "debug,hyper=info,h2=info,reqwest=info,sqlx=info,{}",
                so_queue::link::client_log_directives("info")
            ),
        ),
    ];

    let run_log = dir.path().join("run.log");
    let mut service = binary(&config, &["run"], &env, &run_log).spawn().unwrap();
    eventually(Duration::from_secs(90), || async {
        let seen = (
            shop.issued_tokens().len(),
            shop.stats().unauthorized,
            other.token_requests().len(),
            wrong.token_requests().len(),
        );
        if seen.0 >= 2 && seen.1 >= 1 && seen.2 >= 1 && seen.3 >= 1 {
            Ok(())
        } else {
            Err(format!(
                "(tokens, 401s, other-org requests, wrong-secret requests) = {seen:?}"
            ))
        }
    })
    .await;
    let pid = service.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await;
    assert!(killed.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(60), service.wait()).await;
    assert!(status.unwrap().unwrap().success());
    let backfill_log = dir.path().join("backfill.log");
    let refused_backfill = binary(
        &config,
        &[
            "backfill",
            "--shop",
            WRONG,
            "--entities",
            "customers",
            "--json",
        ],
        &env,
        &backfill_log,
    )
    .status()
    .await
    .unwrap();
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }
    let logs = std::fs::read_to_string(&run_log).unwrap();
    let printed = std::fs::read_to_string(&backfill_log).unwrap();

    // The logs saw what they are scanned for.
    for wanted in [
        "Shopify Admin API token obtained",
        "Shopify refused the Admin API token (HTTP 401); renewing it.",
        "shop_not_permitted",
        "invalid_client",
        OTHER_ORG,
        WRONG,
    ] {
        assert!(logs.contains(wanted), "{wanted:?} is not in the logs");
    }
    assert!(!refused_backfill.success());
    assert!(
        printed.contains("invalid_client") && printed.contains(WRONG),
        "{printed}"
    );
    let tokens = shop.issued_tokens();
    let all = format!("{logs}{printed}");
    for secret in [CLIENT_SECRET, OTHER_ORG_SECRET, WRONG_SECRET, RIGHT_SECRET]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!all.contains(secret), "a secret is in the logs: {secret}");
    }
    let found = emails(&all);
    assert!(found.is_empty(), "customer emails in the logs: {found:?}");
}

const APP_SECRET: &str = "shpss-SECRET-OAUTHAPP-5be1";
const SEALING_KEY: &str = "bG9nLXNjYW4tc2VhbGluZy1rZXktMDAwMDAwMDAwMDA=";

/// `run` with an OAuth app, debug logging: a shop installs through
/// `/shopify/install` and the callback, a `backfill` uses its token, which
/// expires halfway and is refreshed (the refresh token rotated), then a
/// refused refresh token marks the shop and a second `backfill` fails. No
/// client secret, access or refresh token, code or sealing key may appear
/// in the output.
#[tokio::test]
async fn oauth_installs_log_no_secret_token_code_or_key() {
    use so_fake_shopify::{DEFAULT_SHOP, FakeShopify, InstallApp};

    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_install_app(Some(InstallApp::new("oauth-app-client", APP_SECRET)));
    shop.seed_generated(60, 0, 0.5);
    let ometria = FakeOmetria::start(FakeConfig {
        api_key: OMETRIA_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("oauth.toml");
    std::fs::write(
        &config,
        format!(
            "[shopify]\npublic_url = \"https://so.example\"\n[shopify.app]\nclient_id = \"oauth-app-client\"\nclient_secret = \"{APP_SECRET}\"\nshop_url_template = \"{}/shops/{{shop}}\"\n[shops.\"{DEFAULT_SHOP}\"]\nwebhook_secrets = [\"{APP_SECRET}\"]\n",
            fake.url()
        ),
    )
    .unwrap();
    let prefix = so_testkit::broker::unique_prefix();
    let ingress_port = so_testkit::free_port();
    let env = [
        ("SO_AMQP__URL", so_testkit::broker::amqp_url()),
        ("SO_AMQP__PREFIX", prefix.clone()),
        ("SO_AMQP__PARTITIONS", "2".to_owned()),
        ("SO_INGRESS__LISTEN", format!("127.0.0.1:{ingress_port}")),
        (
            "SO_OPS__LISTEN",
            format!("127.0.0.1:{}", so_testkit::free_port()),
        ),
        ("SO_OMETRIA__API_URL", ometria.url()),
        ("SO_OMETRIA__API_KEY", OMETRIA_KEY.to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "log-scan-email-key-0123".to_owned(),
        ),
        ("SO_DATABASE__SECRETS_KEY", SEALING_KEY.to_owned()),
        (
            "SO_DATABASE__URL",
            format!("sqlite://{}/so.db?mode=rwc", dir.path().display()),
        ),
        (
            "SO_LOG__FILTER",
            format!(
                "debug,hyper=info,h2=info,reqwest=info,sqlx=info,{}",
                so_queue::link::client_log_directives("info")
            ),
        ),
    ];
    let run_log = dir.path().join("run.log");
    let mut service = binary(&config, &["run"], &env, &run_log).spawn().unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let ingress = format!("http://127.0.0.1:{ingress_port}");
    let install = format!("{ingress}/shopify/install?shop={DEFAULT_SHOP}");
    let authorize = eventually(Duration::from_secs(60), || async {
        match http.get(&install).send().await {
            Ok(r) if r.status() == 302 => Ok(r.headers()["location"].to_str().unwrap().to_owned()),
            Ok(r) => Err(format!("install answered {}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    let approved = http.get(&authorize).send().await.unwrap();
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    // Shopify would call the public URL; the proxy in front forwards it here.
    let callback = callback.replacen("https://so.example", &ingress, 1);
    let connected = http.get(&callback).send().await.unwrap();
    assert_eq!(
        connected.status(),
        200,
        "{}",
        connected.text().await.unwrap()
    );

    // The token expires after the first page: the backfill refreshes it.
    shop.expire_tokens_after(1);
    let backfill = |log: &str| {
        binary(
            &config,
            &[
                "backfill",
                "--shop",
                DEFAULT_SHOP,
                "--entities",
                "customers",
                "--json",
            ],
            &env,
            &dir.path().join(log),
        )
    };
    let ok = backfill("backfill.log").status().await.unwrap();
    assert!(ok.success());
    assert!(shop.refreshes() >= 1, "the token was refreshed");
    shop.revoke_refresh_tokens();
    shop.expire_issued_tokens();
    let refused = backfill("refused.log").status().await.unwrap();
    assert!(!refused.success());

    let pid = service.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await;
    assert!(killed.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(60), service.wait()).await;
    assert!(status.unwrap().unwrap().success());
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }
    let mut all = String::new();
    for log in ["run.log", "backfill.log", "refused.log"] {
        all.push_str(&std::fs::read_to_string(dir.path().join(log)).unwrap());
    }
    for wanted in [
        "Shop connected through OAuth install.",
        // The refused backfill's error (the CLI prints errors, not logs).
        "invalid_grant",
    ] {
        assert!(all.contains(wanted), "{wanted:?} is not in the logs");
    }
    let secrets: Vec<String> = [APP_SECRET.to_owned(), SEALING_KEY.to_owned()]
        .into_iter()
        .chain(shop.issued_tokens())
        .chain(shop.refresh_tokens())
        .chain(shop.codes())
        .collect();
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "a secret is in the logs: {secret}"
        );
    }
    let found = emails(&all);
    assert!(found.is_empty(), "customer emails in the logs: {found:?}");
}
