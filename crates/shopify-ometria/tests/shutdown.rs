//! SIGTERM ends the real binary within `ops.shutdown_grace_secs` whatever
//! it is doing, and what it had not acknowledged is back on its queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use so_testkit::{ServiceProcess, Webhook, eventually};

const SECRET: &str = "shutdown-test-secret";

/// An "Ometria" that accepts connections and never answers: a push to it
/// holds its batch for the whole request timeout.
async fn silent_ometria() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

fn base_env(prefix: &str, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("SO_AMQP__PREFIX", prefix.to_owned()),
        ("SO_AMQP__PARTITIONS", "2".to_owned()),
        ("SO_SHOPIFY__WEBHOOK_SECRETS", SECRET.to_owned()),
        ("SO_OMETRIA__API_KEY", "shutdown-test-key".to_owned()),
        (
            "SO_DATABASE__EMAIL_KEY",
            "shutdown-test-email-key".to_owned(),
        ),
        (
            "SO_DATABASE__URL",
            format!("sqlite://{}/so.db?mode=rwc", dir.display()),
        ),
        ("SO_WORKER__BATCH_WINDOW_MS", "30".to_owned()),
        ("SO_OPS__SHUTDOWN_GRACE_SECS", "2".to_owned()),
    ]
}

#[tokio::test]
async fn sigterm_while_a_push_hangs_exits_within_the_grace_and_leaves_the_message_queued() {
    let (ometria, accepted) = silent_ometria().await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = so_testkit::broker::unique_prefix();
    let mut env = base_env(&prefix, dir.path());
    env.push(("SO_AMQP__URL", so_testkit::broker::amqp_url()));
    env.push(("SO_OMETRIA__API_URL", ometria));
    // Without the grace period, the hung push would hold the drain this long.
    env.push(("SO_OMETRIA__REQUEST_TIMEOUT_MS", "300000".to_owned()));
    env.push(("SO_OMETRIA__RETRY__MAX_ELAPSED_MS", "600000".to_owned()));
    let mut service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_shopify-ometria"), "run", &env);
    service.wait_ready(Duration::from_secs(60)).await;

    let hook = Webhook::new(
        "customers/create",
        r#"{"id":8100001,"email":"hang@example.com","updated_at":"2026-11-20T10:00:00+00:00"}"#,
    );
    let webhook_id = hook.webhook_id.clone();
    let client = reqwest::Client::new();
    let mut req = client.post(&service.webhook_url).body(hook.body.clone());
    for (k, v) in hook.headers(SECRET) {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), 200);
    // The fault touched the traffic: the worker is inside a push.
    eventually(Duration::from_secs(30), || async {
        match accepted.load(Ordering::SeqCst) {
            0 => Err("no push reached the silent Ometria".to_owned()),
            _ => Ok(()),
        }
    })
    .await;

    service.signal("TERM").await;
    let status = service
        .wait(Duration::from_secs(60))
        .await
        .expect("exits within a minute of SIGTERM, not after the 300 s push");
    assert!(status.success(), "exit status {status}");
    let logs = service.output().await;
    assert!(
        logs.contains("did not drain within ops.shutdown_grace_secs"),
        "the cut-short drain is logged"
    );

    let probe = so_testkit::broker::BrokerProbe::connect().await.unwrap();
    let names = so_queue::Names::new(&prefix, 2, &[5, 30, 120, 600, 3600]);
    let left = probe.drain_all(&names).await.unwrap();
    let _deleted = probe.delete_topology(&names).await;
    probe.close().await;
    let back: Vec<_> = left
        .iter()
        .filter(|m| m.message_id() == Some(webhook_id.as_str()))
        .collect();
    assert_eq!(
        back.len(),
        1,
        "the unacknowledged webhook is back on a queue exactly once: {:?}",
        left.iter().map(|m| &m.queue).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn sigterm_while_the_broker_is_unreachable_exits() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = so_testkit::broker::unique_prefix();
    let mut env = base_env(&prefix, dir.path());
    // Nothing listens there: the broker link keeps reconnecting.
    let closed = so_testkit::free_port();
    env.push((
        "SO_AMQP__URL",
        format!("amqp://guest:guest@127.0.0.1:{closed}/%2f"),
    ));
    env.push(("SO_OMETRIA__API_URL", "http://127.0.0.1:9".to_owned()));
    let mut service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_shopify-ometria"), "run", &env);
    let client = reqwest::Client::new();
    let health = format!("{}/healthz", service.ops_url);
    eventually(Duration::from_secs(60), || async {
        match client.get(&health).send().await {
            Ok(r) if r.status() == 200 => Ok(()),
            Ok(r) => Err(format!("healthz {}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    let ready = client
        .get(format!("{}/readyz", service.ops_url))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(ready, 503, "not ready without a broker");

    service.signal("TERM").await;
    let status = service
        .wait(Duration::from_secs(60))
        .await
        .expect("exits within a minute of SIGTERM while reconnecting");
    assert!(status.success(), "exit status {status}");
}
