//! SIGTERM to the real binary while a profile send started from the console runs: the send
//! stops at its next page (the fake Shopify answers every page after 2 s), its record ends
//! `interrupted` with its checkpoint, its claim on the shop is released, and the process exits
//! within `ops.shutdown_grace_secs`; its logs hold no secret.

use std::time::Duration;

use so_console::id_token::{claims_for, sign};
use so_domain::ShopDomain;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_testkit::{ServiceProcess, eventually};

const ADMIN_TOKEN: &str = "console-shutdown-admin-token";
const CLIENT_ID: &str = "console-shutdown-app";
const CLIENT_SECRET: &str = "console-shutdown-secret";

fn env(prefix: &str, db_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SO_AMQP__URL", so_testkit::broker::amqp_url()),
        ("SO_AMQP__PREFIX", prefix.to_owned()),
        ("SO_AMQP__PARTITIONS", "2".to_owned()),
        (
            "SO_SHOPIFY__WEBHOOK_SECRETS",
            "console-shutdown-hook".to_owned(),
        ),
        ("SO_DATABASE__URL", db_url.to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "console-shutdown-email-key".to_owned(),
        ),
        (
            "SO_DATABASE__SECRETS_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
        ("SO_OPS__ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("SO_OPS__SHUTDOWN_GRACE_SECS", "20".to_owned()),
        ("SO_SHOPIFY__APP__CLIENT_ID", CLIENT_ID.to_owned()),
        ("SO_SHOPIFY__APP__CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("SO_SHOPIFY__PUBLIC_URL", "https://so.example".to_owned()),
    ]
}

#[tokio::test]
async fn sigterm_stops_a_console_send_at_its_checkpoint_and_releases_its_claim() {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 1_500, 0, 0.5);
    let subscribers = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .count() as u64;
    assert!(subscribers > 500, "three pages of subscribers");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shop.toml");
    std::fs::write(
        &config,
        format!(
            "[shops.\"{DEFAULT_SHOP}\"]\nprofile_sends = {{ allowed_lists = [31] }}\n\
             admin = {{ access_token = \"{DEFAULT_TOKEN}\", api_url = \"{}\" }}\n",
            shopify.base_url()
        ),
    )
    .unwrap();
    let db_url = format!("sqlite://{}/so.db?mode=rwc", dir.path().display());
    let prefix = so_testkit::broker::unique_prefix();
    let env = env(&prefix, &db_url);
    let config_arg = config.display().to_string();
    let mut service = ServiceProcess::spawn_args(
        env!("CARGO_BIN_EXE_shopify-ometria"),
        &["ingress", "--config", &config_arg],
        &env,
    );
    service.wait_ready(Duration::from_secs(60)).await;

    shopify
        .shop(DEFAULT_SHOP)
        .delay_next(1_000, Duration::from_secs(2));
    let id_token = sign(
        &claims_for(DEFAULT_SHOP, CLIENT_ID, chrono::Utc::now().timestamp()),
        CLIENT_SECRET.as_bytes(),
    );
    let res = reqwest::Client::new()
        .post(format!(
            "{}/console/shops/{DEFAULT_SHOP}/sync/send",
            service.ops_url
        ))
        .bearer_auth(id_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("profiles=subscribers&list=31")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let store = so_store::Store::connect(&db_url, 2).await.unwrap();
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    assert!(
        store.send_claim(&shop).await.unwrap().is_some(),
        "claimed while it runs"
    );
    eventually(Duration::from_secs(60), || async {
        match store.last_profile_send(&shop, None, false).await.unwrap() {
            Some(r) if r.counts.read > 0 => Ok(()),
            other => Err(format!("no page read yet: {other:?}")),
        }
    })
    .await;

    service.signal("TERM").await;
    let status = service
        .wait(Duration::from_secs(60))
        .await
        .expect("exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let logs = service.output().await;
    let row = store
        .last_profile_send(&shop, None, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.outcome, "interrupted", "{row:?}\n{logs}");
    assert!(
        row.counts.read > 0 && row.counts.read < subscribers,
        "{row:?}"
    );
    let checkpoint = store
        .backfill_checkpoint(&shop, &format!("profile_send:{}", row.id))
        .await
        .unwrap()
        .expect("its checkpoint");
    assert_eq!(checkpoint.lines_done, row.counts.read);
    assert!(checkpoint.operation_id.is_some());
    assert_eq!(
        store.send_claim(&shop).await.unwrap(),
        None,
        "claim released"
    );
    for secret in [ADMIN_TOKEN, CLIENT_SECRET, DEFAULT_TOKEN] {
        assert!(!logs.contains(secret), "a secret in the logs");
    }

    let probe = so_testkit::broker::BrokerProbe::connect().await.unwrap();
    let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
    let _deleted = probe.delete_topology(&names).await;
    probe.close().await;
}
