//! Ometria outages, worker crashes and poison messages: everything
//! acknowledged arrives once, the poison alone is dead-lettered.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_testkit::{TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

async fn app() -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 4,
        ..TestAppOptions::default()
    })
    .await
}

async fn send_customers(app: &TestApp, ids: std::ops::Range<u64>) {
    for id in ids {
        let body = payloads::customer(
            id,
            &format!("c{id}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        let res = app
            .send(&Webhook::new(
                "customers/create",
                serde_json::to_vec(&body).unwrap(),
            ))
            .await;
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn an_ometria_outage_then_a_429_storm_loses_nothing() {
    let app = app().await;
    let fake = app.ometria();
    // Down for longer than the in-process retry budget, so events go through
    // the broker retry tier too.
    fake.fail_next(40, 503);
    send_customers(&app, 1..21).await;
    eventually(Duration::from_secs(30), || async {
        let retried = app.counter("so_events_retried_total", &[]).await;
        if retried >= 1.0 {
            Ok(())
        } else {
            Err(format!("retried {retried}"))
        }
    })
    .await;
    fake.rate_limit_next(30);
    send_customers(&app, 21..41).await;
    app.contacts_arrive(1..41).await;
    assert!(
        app.take_dead_letters().await.is_empty(),
        "an outage is not a reason to dead-letter"
    );
    assert_eq!(fake.count(RecordType::Contact), 40);
    assert!(fake.rate_limited_responses() > 0, "the 429 storm happened");
    app.teardown().await;
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let mut app = app().await;
    let fake = app.ometria();
    // Pushes take effect but their answers are slow: the worker is killed
    // after Ometria applied a batch and before anything was acked.
    fake.delay_responses(Some(Duration::from_secs(3)));
    send_customers(&app, 100..130).await;
    eventually(Duration::from_secs(20), || async {
        let n = app.ometria().push_requests();
        if n >= 1 {
            Ok(())
        } else {
            Err("no push yet".to_owned())
        }
    })
    .await;
    app.kill_worker().await;
    app.ometria().delay_responses(None);
    app.start_worker().await;
    app.contacts_arrive(100..130).await;
    let fake = app.ometria();
    assert_eq!(
        fake.count(RecordType::Contact),
        30,
        "one contact per customer, none lost, none doubled"
    );
    assert!(app.take_dead_letters().await.is_empty());
    app.teardown().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_with_its_reason_while_the_rest_flows() {
    let app = app().await;
    // Valid for routing (it has an id) but not an order: line_items is a string.
    let poison = Webhook::new(
        "orders/create",
        r#"{"id":42,"line_items":"not a list","total_price":"x"}"#,
    );
    assert_eq!(app.send(&poison).await.status(), 200);
    send_customers(&app, 200..210).await;
    app.contacts_arrive(200..210).await;
    let dead = eventually(Duration::from_secs(20), || async {
        let d = app.take_dead_letters().await;
        if d.is_empty() {
            Err("no dead letter yet".to_owned())
        } else {
            Ok(d)
        }
    })
    .await;
    assert_eq!(dead.len(), 1);
    let m = &dead[0];
    assert_eq!(m.message_id(), Some(poison.webhook_id.as_str()));
    assert_eq!(m.header("x-death-reason"), Some("invalid_payload"));
    assert_eq!(m.header("x-death-stage"), Some("decode"));
    assert!(
        m.header("x-death-detail")
            .is_some_and(|d| d.contains("orders/create"))
    );
    assert_eq!(
        m.header("x-shopify-topic"),
        Some("orders/create"),
        "original metadata kept"
    );
    assert_eq!(m.body, poison.body, "original body kept");
    assert_eq!(
        app.counter(
            "so_events_dead_lettered_total",
            &[("reason", "invalid_payload")]
        )
        .await,
        1.0
    );
    app.teardown().await;
}
