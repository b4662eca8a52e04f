//! A shop connected only by OAuth install (no `[shops]` entry in the TOML
//! file) is reached by every command that talks to its Admin API: `run`
//! takes the install, then `webhooks sync` (for every shop, none named)
//! creates its subscriptions once and `send-profiles` sends its customers,
//! which the running worker pushes to Ometria. Counted at the fakes (the
//! subscription mutation log, the contacts received), on both store backends.

use std::path::Path;
use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_fake_shopify::{DEFAULT_SHOP, FakeShopify, InstallApp, MutationKind};
use so_testkit::database::{Backend, TestDatabase};
use so_testkit::eventually;

const APP_ID: &str = "oauth-only-app";
const APP_SECRET: &str = "shpss-oauth-only-app-secret";
const OMETRIA_KEY: &str = "omkey-oauth-only-1";
const SEALING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Every topic the worker handles but the three compliance ones.
const API_TOPICS: usize = 29;

fn binary(config: &Path, args: &[&str], env: &[(&str, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify-ometria"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true);
    command
}

async fn output(config: &Path, args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let out = binary(config, args, env).output().await.unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn oauth_only_shop_runs_webhooks_sync_and_send_profiles(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let shop = shopify.default_shop();
    shop.set_install_app(Some(InstallApp::new(APP_ID, APP_SECRET)));
    let data = shopify.seed_generated(DEFAULT_SHOP, 40, 0, 0.5);
    let ometria = FakeOmetria::start(FakeConfig {
        api_key: OMETRIA_KEY.to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    let database = TestDatabase::create(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("oauth.toml");
    // No [shops] table: the shop exists only once installed.
    std::fs::write(
        &config,
        format!(
            "[shopify]\npublic_url = \"https://so.example\"\nwebhook_secrets = [\"{APP_SECRET}\"]\n\
             [shopify.app]\nclient_id = \"{APP_ID}\"\nclient_secret = \"{APP_SECRET}\"\n\
             shop_url_template = \"{}/shops/{{shop}}\"\n",
            shopify.url()
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
        ("SO_OMETRIA__REQUESTS_PER_SECOND", "100".to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "oauth-only-email-key-01".to_owned(),
        ),
        ("SO_DATABASE__SECRETS_KEY", SEALING_KEY.to_owned()),
        ("SO_DATABASE__URL", database.url.clone()),
        ("SO_LOG__FILTER", "warn".to_owned()),
    ];
    let mut service = binary(&config, &["run"], &env).spawn().unwrap();

    // Install through the running ingress, as the merchant's browser would.
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
    let callback = callback.replacen("https://so.example", &ingress, 1);
    let connected = http.get(&callback).send().await.unwrap();
    assert_eq!(connected.status(), 200);

    // `webhooks sync` for every shop: the installed one is among them.
    let created = || {
        shop.subscription_mutations()
            .iter()
            .filter(|m| m.kind == MutationKind::Create && m.user_errors.is_empty())
            .count()
    };
    let sync = ["webhooks", "sync", "--shop-specific", "--json"];
    let (ok, text) = output(&config, &sync, &env).await;
    assert!(ok, "{text}");
    assert_eq!(created(), API_TOPICS, "{text}");
    let (ok, text) = output(&config, &sync, &env).await;
    assert!(ok, "{text}");
    assert_eq!(created(), API_TOPICS, "nothing twice: {text}");

    // `send-profiles` (profiles `all`): every customer reaches Ometria
    // through the running worker.
    let (ok, text) = output(
        &config,
        &["send-profiles", "--shop", DEFAULT_SHOP, "--json"],
        &env,
    )
    .await;
    assert!(ok, "{text}");
    let every = data.customers.len();
    eventually(Duration::from_secs(60), || async {
        let n = ometria.count(RecordType::Contact);
        if n == every {
            Ok(())
        } else {
            Err(format!("{n} of {every} contacts"))
        }
    })
    .await;

    service.kill().await.unwrap();
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }
    database.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_only_shop_commands_sqlite() {
    oauth_only_shop_runs_webhooks_sync_and_send_profiles(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_only_shop_commands_postgres() {
    oauth_only_shop_runs_webhooks_sync_and_send_profiles(Backend::Postgres).await;
}
