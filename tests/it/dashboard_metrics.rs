//! Every metric the Grafana dashboard and the alert rules under `deploy/`
//! query is exported on `/metrics` during a real run, and the ones this
//! run drives move.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use so_domain::ometria::RecordType;
use so_ops::{Filter, ReplayOptions, TargetQueue};
use so_testkit::{TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

fn deploy_file(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `so_*` metric names in a text, histogram suffixes stripped.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("so_") {
        let start = i + at;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        let name = &text[start..end];
        if boundary && !name.ends_with('_') && name.len() > 3 {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            out.insert(base.to_owned());
        }
        i = end.max(start + 3);
    }
    out
}

fn exported(metrics: &str) -> BTreeSet<String> {
    metric_names(
        &metrics
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

// so_shop_access_refused is set by the scheduled jobs of a shop with Admin
// API access (so-sync's access_report.rs, its unit test).
const ADMIN_API_ONLY: [&str; 4] = [
    "so_consent_sync_decisions_total",
    "so_reconcile_drift",
    "so_shop_access_refused",
    "so_webhook_subscriptions",
];

#[tokio::test]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported_and_moves() {
    let wanted: BTreeSet<String> = [
        "grafana/dashboards/shopify-ometria.json",
        "prometheus/alerts.yml",
    ]
    .iter()
    .flat_map(|f| metric_names(&deploy_file(f)))
    // Set by the consent write-back, the reconciliation and the webhook
    // subscription run, which need a shop's Admin API and are not driven
    // here: tests/it/backfill.rs and so-sync's consent tests check the first
    // two, so-sync's webhooks_metric test the third.
    .filter(|m| !ADMIN_API_ONLY.contains(&m.as_str()))
    .collect();
    assert!(wanted.len() >= 20, "the deploy files query {wanted:?}");

    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 2,
        admin_token: Some("admin-token-0123456789".to_owned()),
        // The rejection watcher reads Ometria's errors soon after a push.
        env: vec![("SO_REJECTIONS__AFTER_PUSH_SECS".into(), "1".into())],
        ..TestAppOptions::default()
    })
    .await;
    let fake = app.ometria();
    // Refused later by Ometria (asynchronous validation): counted by the
    // rejection watcher, its event dead-lettered as ometria_rejected.
    fake.reject_ids(["905"]);
    // Accepted and pushed (one Ometria 5xx outage on the way: retries).
    fake.fail_next(30, 503);
    for id in 900..906 {
        let body = payloads::customer(
            id,
            &format!("m{id}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        let hook = Webhook::new("customers/create", serde_json::to_vec(&body).unwrap());
        assert_eq!(app.send(&hook).await.status(), 200);
    }
    // Accepted and processed, counted as irregular: an API version this
    // build does not know; parked: Shopify's own test delivery.
    let mut future = Webhook::new("customers/create", r#"{"id":906}"#);
    future.api_version = "2099-01".to_owned();
    assert_eq!(app.send(&future).await.status(), 200);
    let test_delivery = Webhook::new("orders/create", r#"{"foo":"bar"}"#);
    assert_eq!(app.send(&test_delivery).await.status(), 200);
    // Rejected: a bad signature.
    let forged = Webhook::new("customers/create", r#"{"id":1}"#);
    assert_eq!(app.send_signed_with(&forged, "wrong").await.status(), 401);
    // Dead-lettered, then purged; parked by the worker.
    let poison = Webhook::new("orders/create", r#"{"id":42,"line_items":"not a list"}"#);
    assert_eq!(app.send(&poison).await.status(), 200);
    // Parked: an event of a shop that uninstalled the app, triggered before.
    let gone = "gone-shop.myshopify.com";
    let mut uninstalled = Webhook::new("app/uninstalled", r#"{"id":1,"name":"Gone"}"#).shop(gone);
    uninstalled.triggered_at = Some("2026-11-22T10:00:00.000Z".to_owned());
    assert_eq!(app.send(&uninstalled).await.status(), 200);
    app.wait_outcome("uninstalled", 1.0).await;
    let body = payloads::customer(7, "late@example.com", "2026-11-20T10:00:00+00:00");
    let mut late = Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(gone);
    late.triggered_at = Some("2026-11-21T10:00:00.000Z".to_owned());
    assert_eq!(app.send(&late).await.status(), 200);
    eventually(Duration::from_secs(60), || async {
        let n = (900..905)
            .filter(|id| fake.record(RecordType::Contact, &id.to_string()).is_some())
            .count();
        if n == 5 {
            Ok(())
        } else {
            Err(format!("{n} of 5 contacts"))
        }
    })
    .await;
    let ops = app.queue_ops().await;
    let dead = Filter {
        ids: vec![poison.webhook_id.clone()],
        ..Filter::default()
    };
    eventually(Duration::from_secs(30), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &dead, 1)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched == 1 {
            Ok(())
        } else {
            Err("no dead letter yet".to_owned())
        }
    })
    .await;
    let parked_redact = Filter {
        reasons: vec!["shop_uninstalled".into()],
        ..Filter::default()
    };
    let r = ops
        .replay(
            TargetQueue::Parked,
            &parked_redact,
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(r.done, 1);
    let p = ops
        .purge(TargetQueue::DeadLetter, &dead, false, false, "test")
        .await
        .unwrap();
    assert_eq!(p.done, 1);

    // The queue poller and the readiness ticker run every second or two.
    let text = eventually(Duration::from_secs(20), || async {
        let text = app.metrics().await;
        let missing: Vec<_> = wanted.difference(&exported(&text)).cloned().collect();
        if missing.is_empty() {
            Ok(text)
        } else {
            Err(format!("missing on /metrics: {missing:?}"))
        }
    })
    .await;

    let value = |line_start: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(line_start))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    for (series, why) in [
        ("so_webhooks_received_total", "webhooks arrived"),
        ("so_webhooks_accepted_total", "webhooks were queued"),
        (
            "so_webhooks_rejected_total{reason=\"invalid_hmac\"}",
            "a forged webhook was refused",
        ),
        ("so_events_processed_total", "events were processed"),
        ("so_events_retried_total", "Ometria's outage caused retries"),
        (
            "so_events_dead_lettered_total",
            "the poison was dead-lettered",
        ),
        (
            "so_events_parked_total",
            "the uninstalled shop's event was parked",
        ),
        ("so_ometria_requests_total", "pushes were made"),
        ("so_end_to_end_lag_seconds_count", "lag was measured"),
        (
            "so_publish_confirm_duration_seconds_count",
            "confirms were timed",
        ),
        (
            "so_dead_letters_replayed_total{queue=\"parked\"}",
            "a parked event was replayed",
        ),
        (
            "so_dead_letters_purged_total{queue=\"dead_letter\"}",
            "a dead letter was purged",
        ),
        ("so_ready", "the process is ready"),
        ("so_broker_up", "the broker is up"),
        ("so_ometria_request_budget", "the budget is exported"),
        (
            "so_ometria_records_rejected_total",
            "Ometria refused a record after accepting it",
        ),
        (
            "so_webhooks_irregular_total{reason=\"unknown_api_version\"}",
            "a webhook of an unknown API version arrived",
        ),
    ] {
        assert!(value(series) > 0.0, "{series} did not move ({why})");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("so_events_parked_total{")
                && l.contains("reason=\"missing_entity_id\"")
                && !l.ends_with(" 0")),
        "the test delivery was not counted as parked (missing_entity_id)"
    );
    app.teardown().await;
}
