//! What the ingress accepts, and exactly what it queues.

use std::collections::HashMap;

use so_domain::{EntityKey, ShopDomain, TopicName, partition_for, route_payload};
use so_queue::codec;
use so_testkit::fixtures;
use so_testkit::{TestApp, TestAppOptions, Webhook};

#[tokio::test]
async fn official_and_extra_hmac_vectors_verify_over_http() {
    for v in fixtures::hmac_vectors() {
        let body = v.body.as_bytes().to_vec();
        let computed = so_shopify::sign(&v.key, &body);
        if let Some(expected) = &v.expected_header_base64 {
            assert_eq!(&computed, expected, "vector: {}", v.source);
        }
        if let Some(not) = &v.must_not_equal {
            assert_ne!(&computed, not, "vector: {}", v.source);
        }
    }

    // Through the real endpoint: each vector's key is a configured secret and
    // its documented header must be accepted for its exact bytes.
    let vectors = fixtures::hmac_vectors();
    let secrets: Vec<String> = vectors.iter().map(|v| v.key.clone()).collect();
    let app = TestApp::spawn_with(TestAppOptions {
        secrets,
        ..TestAppOptions::default()
    })
    .await;
    for v in &vectors {
        // An unsupported topic needs no entity id, so any JSON object is accepted.
        let mut wh = Webhook::new("app/test_vector", v.body.clone());
        if let Some(expected) = &v.expected_header_base64 {
            wh.signature = Some(expected.clone());
            assert_eq!(app.send(&wh).await.status(), 200, "vector: {}", v.source);
        }
        if let Some(not) = &v.must_not_equal {
            wh.signature = Some(not.clone());
            assert_eq!(app.send(&wh).await.status(), 401, "vector: {}", v.source);
        }
    }
    let queued = app.take_queued().await;
    let expected = vectors
        .iter()
        .filter(|v| v.expected_header_base64.is_some())
        .count();
    assert_eq!(queued.len(), expected);
    // The exact bytes were queued: escapes and 64-bit ids survive untouched.
    for v in vectors
        .iter()
        .filter(|v| v.expected_header_base64.is_some())
    {
        assert!(
            queued.iter().any(|m| m.body == v.body.as_bytes()),
            "body of {} not queued verbatim",
            v.source
        );
    }
    app.teardown().await;
}

#[tokio::test]
async fn every_documented_sample_is_queued_in_its_partition_with_its_metadata() {
    let app = TestApp::spawn_with(TestAppOptions {
        partitions: 4,
        ..TestAppOptions::default()
    })
    .await;
    let shop = ShopDomain::parse("test-shop.myshopify.com").unwrap();
    let samples = fixtures::samples();
    assert!(samples.len() >= 30, "fixtures missing: {}", samples.len());
    let mut sent: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    for s in &samples {
        let wh = Webhook::new(&s.topic, s.body.clone());
        let res = app.send(&wh).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{} ({}) was refused: {text}", s.topic, s.file);
        sent.insert(wh.webhook_id.clone(), (s.topic.clone(), s.body.clone()));
    }

    let queued = app.take_queued().await;
    assert_eq!(
        queued.len(),
        samples.len(),
        "one message per accepted webhook"
    );
    for m in &queued {
        let id = m.message_id().expect("message_id is the webhook id");
        let (topic, body) = &sent[id];
        assert_eq!(&m.body, body, "body of {topic} is byte-identical");
        assert_eq!(m.header(codec::TOPIC), Some(topic.as_str()));
        assert_eq!(m.header(codec::SHOP), Some("test-shop.myshopify.com"));
        assert_eq!(m.header(codec::API_VERSION), Some("2026-07"));
        assert!(m.header(codec::EVENT_ID).is_some());
        assert_eq!(
            m.header(codec::TRIGGERED_AT),
            Some("2026-11-22T10:00:00.000Z")
        );
        assert!(m.header(codec::RECEIVED_AT).is_some());
        assert_eq!(m.delivery_mode(), Some(2), "persistent");
        let topic_name = TopicName::parse(topic).unwrap();
        let entity = route_payload(&topic_name, body).unwrap();
        assert_eq!(m.header(codec::ENTITY), Some(entity.to_string().as_str()));
        let expected_queue = match topic_name {
            TopicName::Known(_) => app.names().work_queue(partition_for(&shop, &entity, 4)),
            TopicName::Unsupported(_) => app.names().parked_queue(),
        };
        assert_eq!(m.queue, expected_queue, "{topic} landed in the wrong queue");
    }
    app.teardown().await;
}

#[tokio::test]
async fn one_orders_events_share_a_partition_and_keep_their_order() {
    let app = TestApp::spawn_with(TestAppOptions {
        partitions: 8,
        ..TestAppOptions::default()
    })
    .await;
    let order = 820_982_911_946_154_508_u64;
    let bodies = [
        (
            "orders/create",
            format!(r#"{{"id":{order},"name":"No1001"}}"#),
        ),
        (
            "orders/updated",
            format!(r#"{{"id":{order},"name":"No1001"}}"#),
        ),
        (
            "refunds/create",
            format!(r#"{{"id":5,"order_id":{order}}}"#),
        ),
        (
            "orders/edited",
            format!(r#"{{"order_edit":{{"id":6,"order_id":{order}}}}}"#),
        ),
        ("orders/delete", format!(r#"{{"id":{order}}}"#)),
    ];
    for (topic, body) in &bodies {
        assert_eq!(
            app.send(&Webhook::new(topic, body.clone())).await.status(),
            200
        );
    }
    let queued = app.take_queued().await;
    assert_eq!(queued.len(), bodies.len());
    let queues: std::collections::HashSet<_> = queued.iter().map(|m| m.queue.clone()).collect();
    assert_eq!(
        queues.len(),
        1,
        "all events of one order in one partition: {queues:?}"
    );
    let topics: Vec<_> = queued
        .iter()
        .map(|m| m.header(codec::TOPIC).unwrap().to_owned())
        .collect();
    assert_eq!(
        topics,
        bodies
            .iter()
            .map(|(t, _)| (*t).to_owned())
            .collect::<Vec<_>>()
    );
    assert!(
        queued
            .iter()
            .all(|m| m.header(codec::ENTITY) == Some(&*EntityKey::Order(order).to_string()))
    );
    app.teardown().await;
}

#[tokio::test]
async fn rotated_secrets_both_verify_and_a_revoked_one_does_not() {
    let opts = TestAppOptions {
        secrets: vec!["old-secret".into(), "new-secret".into()],
        ..TestAppOptions::default()
    };
    let app = TestApp::spawn_with(opts).await;
    let wh = || Webhook::new("customers/update", r#"{"id":42}"#);
    assert_eq!(
        app.send_signed_with(&wh(), "old-secret").await.status(),
        200
    );
    assert_eq!(
        app.send_signed_with(&wh(), "new-secret").await.status(),
        200
    );
    let res = app.send_signed_with(&wh(), "revoked-secret").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_hmac"
    );
    assert_eq!(app.take_queued().await.len(), 2);
    app.teardown().await;
}

#[tokio::test]
async fn events_header_set_without_x_prefix_is_accepted() {
    let app = TestApp::spawn().await;
    let mut wh = Webhook::new("products/update", r#"{"id":7}"#);
    wh.unprefixed = true;
    assert_eq!(app.send(&wh).await.status(), 200);
    let queued = app.take_queued().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].message_id(), Some(wh.webhook_id.as_str()));
    app.teardown().await;
}

#[tokio::test]
async fn unsupported_topics_are_parked_with_a_reason_not_refused() {
    let app = TestApp::spawn().await;
    let res = app
        .send(&Webhook::new("carts/create", r#"{"token":"abc"}"#))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["route"],
        "parked"
    );
    let queued = app.take_queued().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].queue, app.names().parked_queue());
    assert_eq!(
        queued[0].header(codec::PARK_REASON),
        Some("unsupported_topic")
    );
    let page = app.metrics().await;
    let parked =
        so_testkit::metrics::value(&page, "so_webhooks_accepted_total", &[("route", "parked")]);
    assert_eq!(parked, 1.0);
    app.teardown().await;
}

#[tokio::test]
async fn per_shop_secrets_and_unknown_shops() {
    let toml = r#"
[shops."uk-store.myshopify.com"]
webhook_secrets = ["uk-secret"]
namespace = "uk:"
[shops."paused.myshopify.com"]
webhook_secrets = ["paused-secret"]
enabled = false
"#;
    let opts = TestAppOptions {
        secrets: vec![],
        config_toml: Some(toml.into()),
        ..TestAppOptions::default()
    };
    let app = TestApp::spawn_with(opts).await;
    let uk = Webhook::new("customers/create", r#"{"id":1}"#).shop("uk-store.myshopify.com");
    assert_eq!(app.send_signed_with(&uk, "uk-secret").await.status(), 200);
    assert_eq!(
        app.send_signed_with(&uk, "paused-secret").await.status(),
        401,
        "secrets are per shop"
    );
    // A disabled shop's webhooks are still received and queued (nothing lost).
    let paused = Webhook::new("customers/create", r#"{"id":2}"#).shop("paused.myshopify.com");
    assert_eq!(
        app.send_signed_with(&paused, "paused-secret")
            .await
            .status(),
        200
    );
    let stranger = Webhook::new("customers/create", r#"{"id":3}"#).shop("stranger.myshopify.com");
    let res = app.send_signed_with(&stranger, "uk-secret").await;
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unknown_shop");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("stranger.myshopify.com")
    );
    assert_eq!(app.take_queued().await.len(), 2);
    app.teardown().await;
}

#[tokio::test]
async fn a_concurrent_burst_queues_exactly_as_many_messages_as_it_acknowledged() {
    let app = TestApp::spawn_with(TestAppOptions {
        partitions: 4,
        ..TestAppOptions::default()
    })
    .await;
    let total = 400;
    let sends = (0..total).map(|i| {
        let app = &app;
        async move {
            let wh = Webhook::new("orders/create", format!(r#"{{"id":{}}}"#, 1_000_000 + i));
            (wh.webhook_id.clone(), app.send(&wh).await.status())
        }
    });
    let results = futures::future::join_all(sends).await;
    let acked: std::collections::HashSet<_> = results
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        acked.len(),
        total,
        "every request of a healthy burst is acknowledged"
    );
    let queued = app.take_queued().await;
    let ids: std::collections::HashSet<_> = queued
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    assert_eq!(queued.len(), total);
    assert_eq!(ids, acked);
    app.teardown().await;
}
