//! An authentic Shopify webhook is never refused: once the HMAC matched and
//! the body is a JSON object, the answer is 200 and the event is queued for
//! work or kept on the parked queue with a specific reason, where ops list
//! and replay it. Every check reads the broker (or the fake Ometria), not
//! the ingress's own answer alone.

use so_domain::ometria::RecordType;
use so_domain::{
    ApiVersion, EntityKey, EventMeta, ShopDomain, Topic, TopicName, WebhookId, partition_for,
};
use so_ops::{Filter, ReplayOptions, TargetQueue};
use so_queue::codec;
use so_testkit::metrics::value;
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, fixtures};

fn order_sample() -> Vec<u8> {
    fixtures::samples()
        .into_iter()
        .find(|s| s.topic == "orders/create")
        .expect("an orders/create sample")
        .body
}

/// The fixture's order id (Shopify's documented sample, as written there).
const SAMPLE_ORDER_ID: &str = "820982911946154500";

#[tokio::test]
async fn shopifys_own_hmac_test_vector_on_orders_create_is_parked_not_refused() {
    let vector = fixtures::hmac_vectors()
        .into_iter()
        .find(|v| v.body == r#"{"foo": "bar"}"#)
        .expect("the official vector");
    let app = TestApp::spawn_with(TestAppOptions {
        secrets: vec![vector.key.clone()],
        ..TestAppOptions::default()
    })
    .await;
    let mut wh = Webhook::new("orders/create", vector.body.clone());
    wh.signature = vector.expected_header_base64.clone();
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["route"],
        "parked"
    );

    let queued = app.take_queued().await;
    assert_eq!(
        queued.len(),
        1,
        "exactly the one accepted webhook is stored"
    );
    let m = &queued[0];
    assert_eq!(m.queue, app.names().parked_queue());
    assert_eq!(
        m.body,
        vector.body.as_bytes(),
        "the signed bytes, untouched"
    );
    assert_eq!(m.message_id(), Some(wh.webhook_id.as_str()));
    assert_eq!(m.header(codec::PARK_REASON), Some("missing_entity_id"));
    assert!(m.header(codec::PARK_DETAIL).unwrap().contains("field `id`"));
    assert_eq!(m.header(codec::ENTITY), None, "no entity was derived");
    let page = app.metrics().await;
    let parked = value(
        &page,
        "so_events_parked_total",
        &[("reason", "missing_entity_id")],
    );
    assert_eq!(parked, 1.0);
    assert_eq!(value(&page, "so_webhooks_rejected_total", &[]), 0.0);
    app.teardown().await;
}

/// (name, edit, park reason) for authentic webhooks that cannot be routed.
type Case = (&'static str, fn(&mut Webhook), &'static str);

fn parked_cases() -> Vec<Case> {
    vec![
        (
            "non-numeric id",
            |w| w.body = br#"{"id":"abc"}"#.to_vec(),
            "invalid_entity_id",
        ),
        (
            "id beyond 64 bits",
            |w| w.body = br#"{"id":123456789012345678901234567890}"#.to_vec(),
            "invalid_entity_id",
        ),
        (
            "negative id",
            |w| w.body = br#"{"id":-1}"#.to_vec(),
            "invalid_entity_id",
        ),
        (
            "fractional id",
            |w| w.body = br#"{"id":1.5}"#.to_vec(),
            "invalid_entity_id",
        ),
        (
            "duplicate ids",
            |w| w.body = br#"{"id":1,"id":2}"#.to_vec(),
            "invalid_entity_id",
        ),
        (
            "order without id",
            |w| w.body = br#"{"name":"No1001"}"#.to_vec(),
            "missing_entity_id",
        ),
        (
            "malformed api version",
            |w| w.api_version = "2026-13".into(),
            "malformed_api_version",
        ),
        (
            "api version garbage",
            |w| w.api_version = "latest".into(),
            "malformed_api_version",
        ),
        (
            "malformed topic",
            |w| w.topic = "orders create;drop".into(),
            "malformed_header",
        ),
        (
            "topic list",
            |w| w.topic = "orders/create, orders/paid".into(),
            "malformed_header",
        ),
        (
            "webhook id too long",
            |w| w.webhook_id = "x".repeat(300),
            "malformed_header",
        ),
    ]
}

#[tokio::test]
async fn unroutable_ids_and_malformed_headers_are_parked_with_a_specific_reason() {
    let app = TestApp::spawn().await;
    let cases = parked_cases();
    for (name, edit, _) in &cases {
        let mut wh = Webhook::new("orders/create", r#"{"id":820982911946154508}"#);
        edit(&mut wh);
        let res = app.send(&wh).await;
        assert_eq!(res.status(), 200, "{name}: {}", res.text().await.unwrap());
    }
    let queued = app.take_queued().await;
    assert_eq!(queued.len(), cases.len(), "one stored message per 200");
    let parked = app.names().parked_queue();
    for (m, (name, _, reason)) in queued.iter().zip(&cases) {
        assert_eq!(m.queue, parked, "{name}");
        assert_eq!(m.header(codec::PARK_REASON), Some(*reason), "{name}");
        assert!(
            m.header(codec::PARK_DETAIL).is_some(),
            "{name}: a detail for ops"
        );
    }
    // The stand-in webhook id is derived from the header, so Shopify's
    // retries of that delivery share it.
    let long = &queued[cases.len() - 1];
    assert!(long.message_id().unwrap().starts_with("malformed-"));
    let page = app.metrics().await;
    for reason in [
        "invalid_entity_id",
        "missing_entity_id",
        "malformed_api_version",
    ] {
        let want = cases.iter().filter(|c| c.2 == reason).count() as f64;
        let have = value(&page, "so_events_parked_total", &[("reason", reason)]);
        assert_eq!(have, want, "{reason}");
    }
    assert_eq!(value(&page, "so_webhooks_rejected_total", &[]), 0.0);
    app.teardown().await;
}

#[tokio::test]
async fn a_header_section_just_under_the_limit_is_accepted() {
    let app = TestApp::spawn().await;
    let mut wh = Webhook::new("orders/create", r#"{"id":1}"#);
    // ~31 KiB of headers in all (the default limit is 32 KiB).
    wh.extra_headers
        .push(("X-Padding".into(), "p".repeat(31 * 1024 - 600)));
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let queued = app.take_queued().await;
    assert_eq!(queued.len(), 1);
    app.teardown().await;
}

async fn worker_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        ..TestAppOptions::default()
    })
    .await
}

/// A malformed optional header and an API version newer than the code
/// knows: both answered 200 and the orders delivered to Ometria.
async fn irregular_but_usable_headers_reach_ometria(backend: Backend) {
    let app = worker_app(backend).await;
    let mut late = Webhook::new("orders/create", order_sample());
    late.triggered_at = Some("yesterday".into());
    late.event_id = Some("a b".into());
    assert_eq!(app.send(&late).await.status(), 200);
    let body = serde_json::json!({
        "id": 42_424_242,
        "name": "No1042",
        "email": "new-version@example.com",
        "created_at": "2026-11-20T10:00:00+00:00",
        "updated_at": "2026-11-20T10:00:00+00:00",
        "currency": "GBP",
        "total_price": "10.00",
        "financial_status": "paid",
        "line_items": []
    });
    let mut newer = Webhook::new("orders/create", serde_json::to_vec(&body).unwrap());
    newer.api_version = "2027-04".into();
    assert_eq!(app.send(&newer).await.status(), 200);

    so_testkit::eventually(std::time::Duration::from_secs(30), || async {
        let fake = app.ometria();
        let have = [SAMPLE_ORDER_ID, "42424242"]
            .iter()
            .filter(|id| fake.record(RecordType::Order, id).is_some())
            .count();
        if have == 2 {
            Ok(())
        } else {
            Err(format!("{have} of 2 orders in Ometria"))
        }
    })
    .await;
    let page = app.metrics().await;
    for reason in [
        "malformed_triggered_at",
        "malformed_event_id",
        "unknown_api_version",
    ] {
        let n = value(&page, "so_webhooks_irregular_total", &[("reason", reason)]);
        assert_eq!(n, 1.0, "{reason}");
    }
    assert_eq!(value(&page, "so_events_parked_total", &[]), 0.0);
    assert!(app.take_dead_letters().await.is_empty());
    app.teardown().await;
}

#[tokio::test]
async fn irregular_but_usable_headers_reach_ometria_sqlite() {
    irregular_but_usable_headers_reach_ometria(Backend::Sqlite).await;
}

#[tokio::test]
async fn irregular_but_usable_headers_reach_ometria_postgres() {
    irregular_but_usable_headers_reach_ometria(Backend::Postgres).await;
}

/// A parked webhook whose entity could not be derived is routed anew from
/// its payload when replayed: the ingress parked `{"foo": "bar"}` (still
/// unroutable: it stays), and a message parked the same way by an earlier
/// code that could not read its id (now readable: it goes to its order's
/// partition, with the entity header the replay derived).
#[tokio::test]
async fn a_replayed_unroutable_webhook_is_routed_from_its_payload() {
    let mut app = worker_app(Backend::Sqlite).await;
    app.stop_worker().await;
    let foo = Webhook::new("orders/create", r#"{"foo": "bar"}"#);
    assert_eq!(app.send(&foo).await.status(), 200);

    let shop = ShopDomain::parse("test-shop.myshopify.com").unwrap();
    let meta = EventMeta {
        webhook_id: WebhookId::parse("parked-by-older-code").unwrap(),
        topic: TopicName::Known(Topic::OrdersCreate),
        shop: shop.clone(),
        api_version: ApiVersion::parse("2026-07").unwrap(),
        event_id: None,
        triggered_at: None,
        received_at: chrono::Utc::now(),
        entity: EntityKey::Shop,
    };
    let publisher = so_queue::Publisher::new(app.broker.clone());
    let body = br#"{"id":"gid://shopify/Order/4242","name":"No4242"}"#;
    publisher
        .publish_parked(&meta, body, "missing_entity_id", "older code", false)
        .await
        .unwrap();

    let ops = app.queue_ops().await;
    let filter = Filter {
        reasons: vec!["missing_entity_id".into()],
        ..Filter::default()
    };
    let listed = ops
        .list_by_scan(TargetQueue::Parked, &filter, 10)
        .await
        .unwrap();
    assert_eq!(listed.matched, 2, "both listed under their reason");
    assert!(listed.items.iter().all(|i| i.detail.is_some()));
    let report = ops
        .replay(
            TargetQueue::Parked,
            &filter,
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!((report.done, report.unroutable), (1, 1), "{report:?}");

    let queued = app.take_queued().await;
    assert_eq!(queued.len(), 2);
    let names = app.names();
    let routed = queued
        .iter()
        .find(|m| m.message_id() == Some("parked-by-older-code"))
        .unwrap();
    let partition = partition_for(&shop, &EntityKey::Order(4242), names.partitions());
    assert_eq!(routed.queue, names.work_queue(partition));
    assert_eq!(routed.header(codec::ENTITY), Some("order:4242"));
    assert_eq!(routed.header(codec::PARK_REASON), None);
    let kept = queued
        .iter()
        .find(|m| m.message_id() == Some(foo.webhook_id.as_str()))
        .unwrap();
    assert_eq!(
        kept.queue,
        names.parked_queue(),
        "still unroutable: left parked"
    );
    app.teardown().await;
}

/// A webhook parked for a malformed API version and replayed before the
/// code reads such versions is not lost: the worker dead-letters it with
/// its reason, where `dlq list` shows it.
#[tokio::test]
async fn a_replayed_malformed_version_is_dead_lettered_not_lost() {
    let app = worker_app(Backend::Sqlite).await;
    let mut wh = Webhook::new("orders/create", order_sample());
    wh.api_version = "2026-13".into();
    assert_eq!(app.send(&wh).await.status(), 200);
    let ops = app.queue_ops().await;
    let filter = Filter {
        reasons: vec!["malformed_api_version".into()],
        ..Filter::default()
    };
    let report = ops
        .replay(
            TargetQueue::Parked,
            &filter,
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(report.done, 1, "{report:?}");
    let listed = so_testkit::eventually(std::time::Duration::from_secs(30), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &Filter::default(), 10)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched == 1 {
            Ok(l)
        } else {
            Err(format!("{} dead letters", l.matched))
        }
    })
    .await;
    let item = &listed.items[0];
    assert_eq!(item.id, wh.webhook_id);
    assert_eq!(item.reason.as_deref(), Some("invalid_payload"));
    assert_eq!(item.stage.as_deref(), Some("decode"));
    assert!(
        item.detail.as_deref().unwrap().contains("api-version"),
        "{item:?}"
    );
    assert!(
        app.ometria()
            .record(RecordType::Order, SAMPLE_ORDER_ID)
            .is_none()
    );
    app.teardown().await;
}
