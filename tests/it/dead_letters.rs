//! Dead-letter operations against the real broker: reasons, filters,
//! replay after the cause is fixed, purge, order of what stays, a replay
//! killed halfway, the admin API's authentication, and pausing a shop.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_ops::{Filter, QueueOps, ReplayOptions, TargetQueue};
use so_queue::Broker;
use so_testkit::{TestApp, TestAppOptions, Webhook, eventually};
use tokio_util::sync::CancellationToken;

use crate::payloads;

const PAUSED_CONFIG: &str = r#"
[shops."paused.myshopify.com"]
webhook_secrets = ["test-secret"]
enabled = false

[shops."live.myshopify.com"]
webhook_secrets = ["test-secret"]
"#;

const TOKEN: &str = "admin-token-0123456789";

async fn app() -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 4,
        admin_token: Some(TOKEN.to_owned()),
        ..TestAppOptions::default()
    })
    .await
}

fn customer_hook(id: u64, shop: &str) -> Webhook {
    let body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(shop)
}

async fn send(app: &TestApp, hook: &Webhook) {
    assert_eq!(app.send(hook).await.status(), 200);
}

async fn dlq_depth_reaches(ops: &QueueOps, n: u32) {
    eventually(Duration::from_secs(30), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &Filter::default(), 0)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched == n {
            Ok(())
        } else {
            Err(format!("{} dead letters, want {n}", l.matched))
        }
    })
    .await;
}

fn ids_in_order(l: &so_ops::actions::Listing) -> Vec<String> {
    l.items.iter().map(|m| m.id.clone()).collect()
}

#[tokio::test]
async fn dead_letters_are_listed_by_reason_replayed_once_after_the_fix_and_purged() {
    let app = app().await;
    let ops = app.queue_ops().await;
    let fake = app.ometria();
    // About the push-time path: refusals counted in the push's `rejected`.
    fake.set_validation(so_fake_ometria::Validation {
        mode: so_fake_ometria::ValidationMode::Synchronous,
        ..Default::default()
    });
    fake.reject_ids(["301", "302", "303"]);
    let poison = Webhook::new("orders/create", r#"{"id":42,"line_items":"not a list"}"#);
    send(&app, &poison).await;
    for id in 300..306 {
        send(&app, &customer_hook(id, "shop-a.myshopify.com")).await;
    }
    app.contacts_arrive([300, 304, 305].into_iter()).await;
    dlq_depth_reaches(&ops, 4).await;

    let rejected = Filter {
        reasons: vec!["ometria_record_rejected".into()],
        ..Filter::default()
    };
    let l = ops
        .list(TargetQueue::DeadLetter, &rejected, 100)
        .await
        .unwrap();
    assert_eq!(l.matched, 3);
    assert!(l.items.iter().all(|m| m.stage.as_deref() == Some("push")
        && m.topic.as_deref() == Some("customers/create")
        && m.shop.as_deref() == Some("shop-a.myshopify.com")
        && m.attempts == Some(1)
        && m.at.is_some()));
    let by_topic = Filter {
        topics: vec!["orders/create".into()],
        stages: vec!["decode".into()],
        ..Filter::default()
    };
    let l = ops
        .list(TargetQueue::DeadLetter, &by_topic, 100)
        .await
        .unwrap();
    assert_eq!(ids_in_order(&l), vec![poison.webhook_id.clone()]);
    assert_eq!(l.items[0].reason.as_deref(), Some("invalid_payload"));

    // Inspecting masks the customer's data unless revealed.
    let one = &ops
        .list(TargetQueue::DeadLetter, &rejected, 1)
        .await
        .unwrap()
        .items[0];
    let masked = ops
        .show(TargetQueue::DeadLetter, &one.id, false)
        .await
        .unwrap();
    let text = masked.payload.to_string();
    assert!(masked.payload_masked);
    assert!(
        !text.contains("@example.com") && !text.contains("Snow"),
        "{text}"
    );
    assert!(masked.headers.contains_key("x-death-reason"));
    let revealed = ops
        .show(TargetQueue::DeadLetter, &one.id, true)
        .await
        .unwrap();
    assert!(revealed.payload.to_string().contains("@example.com"));

    // A dry run changes nothing.
    let dry = ops
        .replay(
            TargetQueue::DeadLetter,
            &rejected,
            &ReplayOptions {
                dry_run: true,
                ..ReplayOptions::default()
            },
            "test",
        )
        .await
        .unwrap();
    assert_eq!((dry.matched, dry.done, dry.sample.len()), (3, 0, 3));
    dlq_depth_reaches(&ops, 4).await;
    // Without a filter nothing is replayed unless asked for all.
    assert!(matches!(
        ops.replay(
            TargetQueue::DeadLetter,
            &Filter::default(),
            &ReplayOptions::default(),
            "test"
        )
        .await,
        Err(so_ops::OpsError::NoFilter)
    ));

    // The cause is fixed; the replay goes through dedupe and the budget.
    fake.clear_faults();
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &rejected,
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(
        (report.matched, report.done, report.status),
        (3, 3, "completed")
    );
    app.contacts_arrive(300..306).await;
    for id in 301..304 {
        assert_eq!(
            fake.write_count(RecordType::Contact, &id.to_string()),
            1,
            "contact {id} reached Ometria once"
        );
    }
    let left = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 100)
        .await
        .unwrap();
    assert_eq!(ids_in_order(&left), vec![poison.webhook_id.clone()]);

    // Purge: a dry run first, then for good.
    let dry = ops
        .purge(TargetQueue::DeadLetter, &by_topic, true, false, "test")
        .await
        .unwrap();
    assert_eq!((dry.matched, dry.done), (1, 0));
    let purged = ops
        .purge(TargetQueue::DeadLetter, &by_topic, false, false, "test")
        .await
        .unwrap();
    assert_eq!((purged.matched, purged.done), (1, 1));
    dlq_depth_reaches(&ops, 0).await;

    let history = ops.history(10).await.unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| (h.operation.as_str(), h.done, h.status.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![("purge", 1, "completed"), ("replay", 3, "completed")]
    );
    assert!(history.iter().all(|h| h.actor == "test"));
    assert!(history[1].filter.contains("ometria_record_rejected"));
    assert_eq!(
        app.counter(
            "so_dead_letters_replayed_total",
            &[("queue", "dead_letter")]
        )
        .await,
        3.0
    );
    app.teardown().await;
}

/// Dead letters for two shops, interleaved, published straight to the DLQ.
async fn dead_letters_for(app: &TestApp, ids: std::ops::Range<u64>) -> Vec<(String, String)> {
    let publisher = so_queue::Publisher::new(app.broker.clone());
    let mut sent = Vec::new();
    for id in ids {
        let shop = if id % 2 == 0 {
            "even.myshopify.com"
        } else {
            "odd.myshopify.com"
        };
        let hook = customer_hook(id, shop);
        let meta = so_domain::EventMeta {
            webhook_id: so_domain::WebhookId::parse(&hook.webhook_id).unwrap(),
            topic: so_domain::TopicName::parse("customers/create").unwrap(),
            shop: so_domain::ShopDomain::parse(shop).unwrap(),
            api_version: so_domain::ApiVersion::parse("2026-07").unwrap(),
            event_id: None,
            triggered_at: None,
            received_at: chrono_now(),
            entity: so_domain::EntityKey::Customer(id),
        };
        let envelope = so_queue::Envelope::event(&meta);
        let note = so_queue::DeathNote {
            stage: "push",
            reason: "ometria_record_rejected",
            detail: "test",
            attempts: 1,
        };
        publisher
            .dead_letter("work.0", &envelope, &hook.body, &note)
            .await
            .unwrap();
        sent.push((hook.webhook_id.clone(), shop.to_owned()));
    }
    // The letter index follows the queue shortly after: wait for it, so
    // listings see what was just put in.
    let ops = app.queue_ops().await;
    eventually(Duration::from_secs(30), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &Filter::default(), 0)
            .await
            .map_err(|e| e.to_string())?;
        if l.indexed == u64::from(l.depth) {
            Ok(())
        } else {
            Err(format!("{} indexed of {}", l.indexed, l.depth))
        }
    })
    .await;
    sent
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[tokio::test]
async fn a_replay_killed_halfway_and_rerun_loses_and_duplicates_nothing() {
    let app = app().await;
    let sent = dead_letters_for(&app, 500..540).await;
    let odd_shop = Filter {
        shops: vec!["odd.myshopify.com".into()],
        ..Filter::default()
    };
    let even_ids: Vec<String> = sent
        .iter()
        .filter(|(_, s)| s.starts_with("even"))
        .map(|(id, _)| id.clone())
        .collect();

    // A replay on its own connection, paced, killed after a few messages.
    let stop = CancellationToken::new();
    let broker = Broker::start(app.config.amqp.clone(), stop.clone());
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let doomed = QueueOps::new(broker, app.queue_ops().await.store().clone());
    let filter = odd_shop.clone();
    let run = tokio::spawn(async move {
        doomed
            .replay(
                TargetQueue::DeadLetter,
                &filter,
                &ReplayOptions {
                    rate: Some(20.0),
                    ..ReplayOptions::default()
                },
                "doomed",
            )
            .await
    });
    let fake = app.ometria();
    eventually(Duration::from_secs(30), || async {
        let n = (501..540)
            .step_by(2)
            .filter(|id| fake.record(RecordType::Contact, &id.to_string()).is_some())
            .count();
        if n >= 4 {
            Ok(())
        } else {
            Err(format!("{n} replayed so far"))
        }
    })
    .await;
    stop.cancel();
    let _ended = run.await;

    // Nothing was lost: every even one is still there, once, and every odd
    // one is either still there or was moved. (The few messages the killed
    // scan held are returned by RabbitMQ at the back of the queue; a scan
    // that finishes returns them in place, see the test below.)
    let ops = app.queue_ops().await;
    let left = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 1000)
        .await
        .unwrap();
    let left_ids = ids_in_order(&left);
    let mut unique = left_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), left_ids.len(), "no copy in the DLQ");
    assert!(even_ids.iter().all(|id| left_ids.contains(id)));
    assert!(
        left_ids.len() < 40 && left_ids.len() >= 20,
        "{} left",
        left_ids.len()
    );

    // Re-run: everything of that shop arrives, once.
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &odd_shop,
            &ReplayOptions::default(),
            "rerun",
        )
        .await
        .unwrap();
    assert_eq!(report.status, "completed");
    app.contacts_arrive((501..540).step_by(2)).await;
    for id in (501..540).step_by(2) {
        assert_eq!(
            fake.write_count(RecordType::Contact, &id.to_string()),
            1,
            "contact {id}"
        );
    }
    for id in (500..540).step_by(2) {
        assert!(fake.record(RecordType::Contact, &id.to_string()).is_none());
    }
    let left = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 1000)
        .await
        .unwrap();
    let mut have = ids_in_order(&left);
    have.sort();
    let mut want = even_ids.clone();
    want.sort();
    assert_eq!(have, want, "exactly the other shop's dead letters stay");
    let history = ops.history(10).await.unwrap();
    assert_eq!(history[0].actor, "rerun");
    assert_eq!(history[1].actor, "doomed");
    assert_ne!(
        history[1].status, "completed",
        "the killed replay is not recorded as complete"
    );
    app.teardown().await;
}

#[tokio::test]
async fn the_admin_api_refuses_a_wrong_or_missing_token_and_changes_nothing() {
    let app = app().await;
    dead_letters_for(&app, 600..604).await;
    let url = format!("{}/admin/dead-letters/purge", app.ops_address);
    let body = serde_json::json!({"all": true});
    for auth in [None, Some("Bearer wrong-token-0123456789"), Some(TOKEN)] {
        let mut req = app.client.post(&url).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["code"], "unauthorized");
    }
    let list = format!(
        "{}/admin/dead-letters?shop=even.myshopify.com",
        app.ops_address
    );
    let res = app
        .client
        .get(&list)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let l: serde_json::Value = res.json().await.unwrap();
    assert_eq!(l["matched"], 2, "nothing was purged: {l}");
    assert_eq!(l["depth"], 4);

    let bad = app
        .client
        .get(format!(
            "{}/admin/dead-letters?since=yesterday",
            app.ops_address
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let err: serde_json::Value = bad.json().await.unwrap();
    assert!(err["detail"].as_str().unwrap().contains("`since`"), "{err}");

    // Numbers outside their documented range are refused naming the field;
    // a subnormal rate once overflowed the pacing interval and dropped the
    // connection.
    for (path, body) in [
        (
            "dead-letters/replay",
            Some(serde_json::json!({"all": true, "rate": 5e-324})),
        ),
        ("dead-letters?limit=10001", None),
        ("history?limit=-1", None),
        ("exports?limit=1001", None),
    ] {
        let url = format!("{}/admin/{path}", app.ops_address);
        let req = match &body {
            Some(b) => app.client.post(url).json(b),
            None => app.client.get(url),
        };
        let res = req.bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["code"], "invalid_input", "{path}: {err}");
        let named = if body.is_some() { "`rate`" } else { "`limit`" };
        assert!(
            err["detail"].as_str().unwrap().contains(named),
            "{path}: {err}"
        );
    }

    let replay = app
        .client
        .post(format!("{}/admin/dead-letters/replay", app.ops_address))
        .bearer_auth(TOKEN)
        .header("X-Actor", "alice")
        .json(&serde_json::json!({"filter": {"shops": ["odd.myshopify.com"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    let r: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(
        (r["matched"].as_u64(), r["done"].as_u64()),
        (Some(2), Some(2))
    );
    app.contacts_arrive([601, 603].into_iter()).await;
    let history: serde_json::Value = app
        .client
        .get(format!("{}/admin/history", app.ops_address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["operations"][0]["actor"], "admin-api:alice");
    app.teardown().await;
}

#[tokio::test]
async fn a_paused_shop_keeps_its_events_parked_and_gets_them_back_in_order_when_enabled() {
    let mut app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 4,
        config_toml: Some(PAUSED_CONFIG.to_owned()),
        ..TestAppOptions::default()
    })
    .await;
    // Several versions of one customer while paused, and other customers.
    for (i, at) in ["10:00:00", "10:05:00", "10:10:00"].iter().enumerate() {
        let body = payloads::customer(
            700,
            &format!("v{i}@example.com"),
            &format!("2026-11-20T{at}+00:00"),
        );
        send(
            &app,
            &Webhook::new("customers/update", serde_json::to_vec(&body).unwrap())
                .shop("paused.myshopify.com"),
        )
        .await;
    }
    for id in 701..705 {
        send(&app, &customer_hook(id, "paused.myshopify.com")).await;
    }
    send(&app, &customer_hook(710, "live.myshopify.com")).await;
    app.contacts_arrive([710].into_iter()).await;
    let ops = app.queue_ops().await;
    eventually(Duration::from_secs(30), || async {
        let l = ops
            .list(TargetQueue::Parked, &Filter::default(), 0)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched == 7 {
            Ok(())
        } else {
            Err(format!("{} parked", l.matched))
        }
    })
    .await;
    assert!(
        app.ometria().record(RecordType::Contact, "700").is_none(),
        "nothing pushed while paused"
    );

    // Enabled again: the worker restarts with the new configuration and
    // releases the shop's parked events (the binary does this at start).
    app.stop_worker().await;
    let mut config = (*app.config).clone();
    if let Some(shop) = config.shops.get_mut("paused.myshopify.com") {
        shop.enabled = true;
    }
    app.config = std::sync::Arc::new(config);
    app.start_worker().await;
    let report = ops.release_paused_shops(&|_| true, "worker").await.unwrap();
    assert_eq!(report.done, 7);
    app.contacts_arrive(700..705).await;
    let fake = app.ometria();
    eventually(Duration::from_secs(30), || async {
        let c = fake
            .record(RecordType::Contact, "700")
            .ok_or("no contact")?;
        let email = c["email"].as_str().unwrap_or_default().to_owned();
        if email == "v2@example.com" {
            Ok(())
        } else {
            Err(format!("email {email}"))
        }
    })
    .await;
    let parked = ops
        .list(TargetQueue::Parked, &Filter::default(), 0)
        .await
        .unwrap();
    assert_eq!(parked.matched, 0);
    app.teardown().await;
}

#[tokio::test]
async fn listing_and_replaying_leave_every_other_message_where_it_was() {
    let app = app().await;
    let sent: Vec<String> = dead_letters_for(&app, 800..840)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let ops = app.queue_ops().await;
    for round in 0..3 {
        let l = ops
            .list_by_scan(TargetQueue::DeadLetter, &Filter::default(), 1000)
            .await
            .unwrap();
        let got = ids_in_order(&l);
        let pos: Vec<usize> = got
            .iter()
            .map(|id| sent.iter().position(|s| s == id).unwrap())
            .collect();
        assert_eq!(got, sent, "round {round}: {pos:?}");
    }
    // A completed replay of one shop leaves the other's in their order.
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &Filter {
                shops: vec!["odd.myshopify.com".into()],
                ..Filter::default()
            },
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(report.done, 20);
    let evens: Vec<String> = sent.iter().step_by(2).cloned().collect();
    let l = ops
        .list_by_scan(TargetQueue::DeadLetter, &Filter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(ids_in_order(&l), evens);
    app.teardown().await;
}
