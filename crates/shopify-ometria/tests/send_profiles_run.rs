//! `send-profiles` end to end: the binary reads the fake Shopify, publishes
//! to the real RabbitMQ, a worker pushes to the fake Ometria; its `--json`
//! report is checked against what the fake Ometria received.

use std::process::Command;
use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions, eventually};

#[tokio::test]
async fn subscribers_are_sent_to_the_chosen_list_with_a_json_report() {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 60, 0, 0.5);
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Sqlite,
        fake: FakeConfig::unlimited(),
        env: vec![("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into())],
        ..TestAppOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.toml");
    let toml = format!(
        "[shops.\"{DEFAULT_SHOP}\"]\ntimezone = \"Europe/London\"\n\
         profile_sends = {{ allowed_lists = [31] }}\n\
         admin = {{ access_token = \"{DEFAULT_TOKEN}\", api_url = \"{}\" }}\n",
        shopify.base_url()
    );
    std::fs::write(&path, toml).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"));
    command
        .args(["send-profiles", "--shop", DEFAULT_SHOP])
        .args(["--profiles", "subscribers", "--list", "31", "--json"])
        .arg("--config")
        .arg(&path)
        .envs(app.env.iter().cloned());
    // The fake Shopify serves on this test's runtime: wait off it.
    let out = tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("published"), "progress on stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let subscribed: Vec<String> = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .map(|c| c.id.to_string())
        .collect();
    assert!(!subscribed.is_empty() && subscribed.len() < data.customers.len());
    let fake = app.ometria();
    eventually(Duration::from_secs(60), || async {
        let n = fake.count(RecordType::Contact);
        if n == subscribed.len() {
            Ok(())
        } else {
            Err(format!("{n} of {} contacts", subscribed.len()))
        }
    })
    .await;
    for id in &subscribed {
        assert_eq!(fake.lists_of(id), ["31"], "contact {id}");
    }
    assert_eq!(report["customers_read"], subscribed.len());
    assert_eq!(report["published"], subscribed.len());
    assert_eq!(report["outcome"], "completed");
    assert_eq!(report["timezone"], "Europe/London");
    assert!(
        report["finished_local"]
            .as_str()
            .is_some_and(|t| t.ends_with("(Europe/London)")),
        "{report}"
    );
    app.teardown().await;
}

/// While another process's send of the shop holds its claim (here the console's), the
/// command is refused, saying who started it, and records and sends nothing.
#[tokio::test]
async fn a_send_is_refused_while_another_process_sends_the_shop() {
    let shopify = FakeShopify::start().await;
    shopify.seed_generated(DEFAULT_SHOP, 10, 0, 0.5);
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Sqlite,
        fake: FakeConfig::unlimited(),
        ..TestAppOptions::default()
    })
    .await;
    let store = app.store().await;
    let shop = so_domain::ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let console = so_sync::profiles::Claimant::new("console", "console:ana");
    console.claim(&store, &shop).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.toml");
    let toml = format!(
        "[shops.\"{DEFAULT_SHOP}\"]\nadmin = {{ access_token = \"{DEFAULT_TOKEN}\", api_url = \"{}\" }}\n",
        shopify.base_url()
    );
    std::fs::write(&path, toml).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"));
    command
        .args(["send-profiles", "--shop", DEFAULT_SHOP, "--profiles", "all"])
        .arg("--config")
        .arg(&path)
        .envs(app.env.iter().cloned());
    let out = tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "a send of {DEFAULT_SHOP} is running (started by console:ana at"
        )),
        "{stderr}"
    );
    assert_eq!(
        store.last_profile_send(&shop, None, false).await.unwrap(),
        None
    );
    assert_eq!(app.ometria().count(RecordType::Contact), 0);
    assert_eq!(
        store.send_claim(&shop).await.unwrap().map(|c| c.holder),
        Some(console.holder.clone()),
        "the console's claim is untouched"
    );
    app.teardown().await;
}
