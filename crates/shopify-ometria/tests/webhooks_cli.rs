//! `shopify-ometria webhooks check|sync` against the fake Shopify: what
//! changed is counted from the fake's own list and mutation log, not from
//! the command's report.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShop, FakeShopify,
    MutationKind, ProtectedData,
};

const PUBLIC: &str = "https://sync.example.com";
const URI: &str = "https://sync.example.com/webhooks/shopify";
/// Every topic the worker handles but the three compliance ones.
const API_TOPICS: usize = 29;

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn setup(fake: &FakeShopify, admin: &str, public_url: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("so.toml");
    let shopify = if public_url {
        format!("[shopify]\npublic_url = \"{PUBLIC}\"\n")
    } else {
        String::new()
    };
    // The command reads the shops held in the store too.
    let db = dir.path().join("store.db");
    let text = format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\n{shopify}[shops.\"{DEFAULT_SHOP}\".admin]\n{admin}\napi_url = \"{}\"\n",
        db.display(),
        fake.shop_base_url(DEFAULT_SHOP)
    );
    std::fs::write(&config, text).unwrap();
    Setup { _dir: dir, config }
}

fn static_token() -> String {
    format!("access_token = \"{DEFAULT_TOKEN}\"")
}

/// Runs the binary off the runtime's threads, so the fake keeps serving.
async fn cli(setup: &Setup, args: &[&str]) -> (i32, String, String) {
    let config = setup.config.clone();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("SO_LOG__FILTER", "warn")
            .output()
            .expect("the binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn count(shop: &FakeShop, kind: MutationKind) -> usize {
    shop.subscription_mutations()
        .iter()
        .filter(|m| m.kind == kind && m.user_errors.is_empty())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_creates_the_missing_fixes_the_wrong_removes_the_duplicate_and_then_does_nothing() {
    // Arrange: one topic in order, one doubled, one at an old address, one
    // foreign Pub/Sub subscription; everything else missing.
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.seed_subscription("ORDERS_CREATE", URI, "2026-07");
    shop.seed_subscription("ORDERS_PAID", URI, "2026-07");
    let doubled = shop.seed_subscription("ORDERS_PAID", URI, "2026-07");
    let old = shop.seed_subscription(
        "PRODUCTS_UPDATE",
        "https://old.example.net/webhooks/shopify",
        "2026-07",
    );
    shop.seed_subscription("ORDERS_CREATE", "pubsub://project:orders", "2026-07");
    let s = setup(&fake, &static_token(), true);

    // Act + Assert: check and a dry run change nothing and report drift.
    let (code, out, err) = cli(&s, &["webhooks", "check"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let (code, out, err) = cli(&s, &["webhooks", "sync", "--dry-run", "--json"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["shops"][0]["kind"], "shop_specific");
    assert!(shop.subscription_mutations().is_empty());
    // The check is kept for `shops show`: out of order, with what is missing.
    let kept = last_check(&s).await.expect("the check is kept");
    assert!(!kept.in_order);
    assert_eq!(kept.kind, "shop_specific");
    assert_eq!(kept.states["missing"], (API_TOPICS - 3) as u64);
    assert_eq!(kept.states["duplicate"], 1);

    let (code, out, err) = cli(&s, &["webhooks", "sync"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count(&shop, MutationKind::Create), API_TOPICS - 3);
    assert_eq!(count(&shop, MutationKind::Update), 1);
    assert_eq!(count(&shop, MutationKind::Delete), 1);
    let subs = shop.subscriptions();
    let ours: Vec<_> = subs.iter().filter(|s| s.uri == URI).collect();
    assert_eq!(ours.len(), API_TOPICS, "each topic once at the callback");
    let mut topics: Vec<&str> = ours.iter().map(|s| s.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    assert_eq!(topics.len(), API_TOPICS);
    assert!(ours.iter().all(|s| s.format == "JSON"));
    assert!(
        subs.iter().any(|s| s.uri == "pubsub://project:orders"),
        "foreign kept"
    );
    let id = |gid: &str| gid.rsplit('/').next().unwrap().parse::<u64>().unwrap();
    assert!(subs.iter().all(|s| s.id != id(&doubled)));
    assert!(subs.iter().any(|s| s.id == id(&old) && s.uri == URI));

    // A second run changes nothing.
    let before = shop.subscription_mutations().len();
    let (code, out, err) = cli(&s, &["webhooks", "sync"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(shop.subscription_mutations().len(), before);
    let (code, _, _) = cli(&s, &["webhooks", "check"]).await;
    assert_eq!(code, 0);
    let kept = last_check(&s).await.expect("the check is kept");
    assert!(kept.in_order, "{kept:?}");
    assert_eq!(kept.states["missing"], 0);
}

/// The last check the commands kept in the test's store.
async fn last_check(s: &Setup) -> Option<so_store::WebhookCheck> {
    let db = s.config.with_file_name("store.db");
    let store = so_store::Store::connect(&format!("sqlite://{}?mode=rw", db.display()), 1)
        .await
        .unwrap();
    let shop = so_domain::ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let kept = store.last_webhook_check(&shop).await.unwrap();
    store.close().await;
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_protected_data_approval_customer_and_order_topics_are_reported() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_protected_data(ProtectedData::NotApproved);
    let s = setup(&fake, &static_token(), true);

    let (code, out, err) = cli(&s, &["webhooks", "sync", "--json"]).await;

    assert_eq!(code, 1, "cannot-subscribe is drift: {out}{err}");
    let mut created: Vec<String> = shop.subscriptions().into_iter().map(|s| s.topic).collect();
    created.sort_unstable();
    assert_eq!(
        created,
        [
            "APP_UNINSTALLED",
            "PRODUCTS_CREATE",
            "PRODUCTS_DELETE",
            "PRODUCTS_UPDATE"
        ]
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    let blocked = report["shops"][0]["cannot_subscribe"].as_array().unwrap();
    assert_eq!(blocked.len(), API_TOPICS - 4);
    assert!(
        blocked
            .iter()
            .all(|b| b["reason"] == "protected customer data not approved"),
        "{blocked:?}"
    );
    assert!(blocked.iter().any(|b| b["topic"] == "ORDERS_CREATE"));
    assert_eq!(
        report["shops"][0]["states"]["cannot_subscribe"],
        API_TOPICS - 4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named_and_its_topic_not_attempted() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_granted_scopes(&[
        "read_customers",
        "read_orders",
        "read_products",
        "read_fulfillments",
    ]);
    let s = setup(&fake, &static_token(), true);

    let (code, out, err) = cli(&s, &["webhooks", "sync", "--json"]).await;

    assert_eq!(code, 1, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["shops"][0]["cannot_subscribe"],
        serde_json::json!([{"topic": "CUSTOMERS_MERGE", "reason": "cannot subscribe: missing scope read_customer_merge"}])
    );
    assert!(
        shop.subscription_mutations()
            .iter()
            .all(|m| m.topic.as_deref() != Some("CUSTOMERS_MERGE"))
    );
    assert_eq!(shop.subscriptions().len(), API_TOPICS - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_dashboard_app_with_none_listed_is_taken_as_app_specific_and_left_alone() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_app_specific_topics(&["ORDERS_CREATE", "CUSTOMERS_UPDATE"]);
    let admin =
        format!("client_id = \"{DEFAULT_CLIENT_ID}\"\nclient_secret = \"{DEFAULT_CLIENT_SECRET}\"");
    let s = setup(&fake, &admin, true);

    let (code, out, err) = cli(&s, &["webhooks", "sync", "--json"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["shops"][0]["kind"], "app_specific_or_none");
    assert_eq!(report["shops"][0]["states"]["app_specific"], 1);
    assert_eq!(report["shops"][0]["states"]["missing"], 0);
    assert!(shop.subscription_mutations().is_empty(), "nothing doubled");

    // Asked explicitly, it creates shop-specific ones.
    let (code, out, err) = cli(&s, &["webhooks", "sync", "--shop-specific"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(shop.subscriptions().len(), API_TOPICS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_exit_2_naming_the_setting() {
    let fake = FakeShopify::start().await;
    let s = setup(&fake, &static_token(), false);
    let (code, _, err) = cli(&s, &["webhooks", "check"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("shopify.public_url"), "{err}");

    let s = setup(&fake, "access_token = \"shpat_wrong\"", true);
    let (code, _, err) = cli(&s, &["webhooks", "check"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(fake.default_shop().subscription_mutations().is_empty());
}

/// Which payload version a created subscription gets is not documented
/// [U]: the request's (the other tests) or the app's setting (here). With
/// another setting, the drift is reported, not "fixed" by mutations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_payload_version_is_reported_and_not_mutated() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_webhook_api_version(Some("2025-10"));
    let s = setup(&fake, &static_token(), true);

    let (code, out, err) = cli(&s, &["webhooks", "sync", "--json"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(count(&shop, MutationKind::Create), API_TOPICS);
    let report: Value = serde_json::from_str(&out).unwrap();
    let wrong = report["shops"][0]["wrong_version"].as_array().unwrap();
    assert_eq!(wrong.len(), API_TOPICS);
    assert!(
        wrong[0]["fix"]
            .as_str()
            .unwrap()
            .contains("cannot change it")
    );

    let before = shop.subscription_mutations().len();
    let (code, _, _) = cli(&s, &["webhooks", "sync"]).await;
    assert_eq!(code, 1);
    assert_eq!(shop.subscription_mutations().len(), before);
}
