//! `ops.console_listen`: the web console served on a listener of its own, and only there, so an
//! embedded app's public address need not expose the admin API or `/metrics`.

use std::time::Duration;

use so_testkit::{ServiceProcess, free_port};

const ADMIN_TOKEN: &str = "console-listener-admin-token";

fn env(prefix: &str, db_url: &str, console: Option<u16>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("SO_AMQP__URL", so_testkit::broker::amqp_url()),
        ("SO_AMQP__PREFIX", prefix.to_owned()),
        ("SO_AMQP__PARTITIONS", "2".to_owned()),
        (
            "SO_SHOPIFY__WEBHOOK_SECRETS",
            "console-listener-hook".to_owned(),
        ),
        ("SO_DATABASE__URL", db_url.to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "console-listener-email".to_owned(),
        ),
        ("SO_OPS__ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
    ];
    if let Some(port) = console {
        env.push(("SO_OPS__CONSOLE_LISTEN", format!("127.0.0.1:{port}")));
    }
    env
}

/// The status of `GET base + path`, with the admin token as a bearer.
async fn status(base: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"))
}

async fn statuses(console_port: Option<u16>) -> [u16; 4] {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/so.db?mode=rwc", dir.path().display());
    let prefix = so_testkit::broker::unique_prefix();
    let mut service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_shopify-ometria"),
        "ingress",
        &env(&prefix, &db_url, console_port),
    );
    service.wait_ready(Duration::from_secs(60)).await;
    let ops = service.ops_url.clone();
    let console = console_port.map(|p| format!("http://127.0.0.1:{p}"));
    let answers = [
        status(&ops, "/console/login").await,
        status(&ops, "/admin/shops").await,
        match &console {
            Some(c) => status(c, "/console/login").await,
            None => 0,
        },
        match &console {
            Some(c) => status(c, "/admin/shops").await,
            None => 0,
        },
    ];
    service.signal("TERM").await;
    let exited = service.wait(Duration::from_secs(30)).await;
    let output = service.output().await;
    assert!(exited.is_some_and(|s| s.success()), "exit: {output}");
    if let Ok(probe) = so_testkit::broker::BrokerProbe::connect().await {
        let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
        let _deleted = probe.delete_topology(&names).await;
        probe.close().await;
    }
    answers
}

#[tokio::test]
async fn the_console_is_served_on_its_own_listener_only_when_one_is_set() {
    // Unset: the console beside the admin API on the ops listener.
    assert_eq!(statuses(None).await, [200, 200, 0, 0]);
    // Set: the console only on its own listener, the admin API only on the ops listener.
    assert_eq!(statuses(Some(free_port())).await, [404, 200, 200, 404]);
}
