//! The letter index (issue 17): dead letters and parked events reach it
//! through the index queue and the indexer; listings read it with filters
//! and pages; replay and purge remove the rows of what they moved; a reindex
//! repairs a damaged or missed index. Each count is checked against what the
//! test put into the queues, on both store backends.

use std::collections::BTreeSet;
use std::time::Duration;

use so_domain::ometria::RecordType;
use so_domain::{ApiVersion, EntityKey, EventMeta, ShopDomain, TopicName, WebhookId};
use so_ops::{Filter, QueueOps, ReplayOptions, TargetQueue};
use so_testkit::broker::BrokerProbe;
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

const TOKEN: &str = "admin-token-0123456789";

async fn app(backend: Backend, indexer: bool) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 2,
        backend,
        indexer,
        admin_token: Some(TOKEN.to_owned()),
        ..TestAppOptions::default()
    })
    .await
}

fn shop_of(id: u64) -> &'static str {
    if id.is_multiple_of(2) {
        "even.myshopify.com"
    } else {
        "odd.myshopify.com"
    }
}

fn meta(id: u64, hook: &Webhook, topic: &str) -> EventMeta {
    EventMeta {
        webhook_id: WebhookId::parse(&hook.webhook_id).unwrap(),
        topic: TopicName::parse(topic).unwrap(),
        shop: ShopDomain::parse(shop_of(id)).unwrap(),
        api_version: ApiVersion::parse("2026-07").unwrap(),
        event_id: None,
        triggered_at: None,
        received_at: chrono::Utc::now(),
        entity: EntityKey::Customer(id),
    }
}

fn customer_hook(id: u64) -> Webhook {
    let body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(shop_of(id))
}

/// Puts one dead letter per id straight into the DLQ (as the worker does
/// when Ometria refuses a record); returns the webhook ids, in order.
async fn dead_letters(app: &TestApp, ids: std::ops::Range<u64>) -> Vec<String> {
    let publisher = so_queue::Publisher::new(app.broker.clone());
    let mut sent = Vec::new();
    for id in ids {
        let hook = customer_hook(id);
        let envelope = so_queue::Envelope::event(&meta(id, &hook, "customers/create"));
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
        sent.push(hook.webhook_id.clone());
    }
    sent
}

/// Parks one event per id (as the ingress does); returns the webhook ids.
async fn parked(app: &TestApp, ids: std::ops::Range<u64>) -> Vec<String> {
    let publisher = so_queue::Publisher::new(app.broker.clone());
    let mut sent = Vec::new();
    for id in ids {
        let hook = customer_hook(id);
        publisher
            .publish_parked(
                &meta(id, &hook, "customers/create"),
                &hook.body,
                "shop_paused",
                "test",
                true,
            )
            .await
            .unwrap();
        sent.push(hook.webhook_id.clone());
    }
    sent
}

fn ids(l: &so_ops::actions::Listing) -> Vec<String> {
    l.items.iter().map(|m| m.id.clone()).collect()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

/// Waits until the index lists exactly `want` (as a set) for `filter`.
async fn listed(ops: &QueueOps, queue: TargetQueue, filter: &Filter, want: &[String]) {
    let want = set(want);
    eventually(Duration::from_secs(30), || async {
        let l = ops
            .list(queue, filter, 10_000)
            .await
            .map_err(|e| e.to_string())?;
        let got = set(&ids(&l));
        if got == want && l.matched as usize == want.len() {
            Ok(())
        } else {
            Err(format!("{} listed, want {}", got.len(), want.len()))
        }
    })
    .await;
}

/// The queue's own contents, by a scan (independent of the index).
async fn in_queue(ops: &QueueOps, queue: TargetQueue) -> BTreeSet<String> {
    set(&ids(&ops
        .list_by_scan(queue, &Filter::default(), 10_000)
        .await
        .unwrap()))
}

async fn indexed_listed_filtered_replayed_and_purged(backend: Backend) {
    let app = app(backend, true).await;
    let ops = app.queue_ops().await;
    let dead = dead_letters(&app, 100..110).await;
    let park = parked(&app, 200..203).await;
    // A real dead letter: the worker cannot decode this order.
    let poison = Webhook::new("orders/create", r#"{"id":42,"line_items":"not a list"}"#);
    assert_eq!(app.send(&poison).await.status(), 200);
    let mut all_dead = dead.clone();
    all_dead.push(poison.webhook_id.clone());

    listed(&ops, TargetQueue::DeadLetter, &Filter::default(), &all_dead).await;
    listed(&ops, TargetQueue::Parked, &Filter::default(), &park).await;
    assert_eq!(
        in_queue(&ops, TargetQueue::DeadLetter).await,
        set(&all_dead)
    );

    // Each filter.
    let f = |f: Filter| f;
    let odd: Vec<String> = dead.iter().skip(1).step_by(2).cloned().collect();
    let even: Vec<String> = dead.iter().step_by(2).cloned().collect();
    let by_shop = f(Filter {
        shops: vec!["ODD.myshopify.com".into()],
        ..Filter::default()
    });
    listed(&ops, TargetQueue::DeadLetter, &by_shop, &odd).await;
    let by_reason = f(Filter {
        reasons: vec!["invalid_payload".into()],
        ..Filter::default()
    });
    listed(
        &ops,
        TargetQueue::DeadLetter,
        &by_reason,
        std::slice::from_ref(&poison.webhook_id),
    )
    .await;
    let by_topic = f(Filter {
        topics: vec!["customers/create".into()],
        ..Filter::default()
    });
    listed(&ops, TargetQueue::DeadLetter, &by_topic, &dead).await;
    let by_stage = f(Filter {
        stages: vec!["decode".into()],
        ..Filter::default()
    });
    listed(
        &ops,
        TargetQueue::DeadLetter,
        &by_stage,
        std::slice::from_ref(&poison.webhook_id),
    )
    .await;
    let by_id = f(Filter {
        ids: vec![dead[3].clone()],
        ..Filter::default()
    });
    listed(&ops, TargetQueue::DeadLetter, &by_id, &[dead[3].clone()]).await;
    let parked_reason = f(Filter {
        reasons: vec!["shop_paused".into()],
        ..Filter::default()
    });
    listed(&ops, TargetQueue::Parked, &parked_reason, &park).await;
    let now = chrono::Utc::now();
    let later = f(Filter {
        since: Some(now + chrono::Duration::hours(1)),
        ..Filter::default()
    });
    listed(&ops, TargetQueue::DeadLetter, &later, &[]).await;
    let range = f(Filter {
        since: Some(now - chrono::Duration::hours(1)),
        until: Some(now + chrono::Duration::hours(1)),
        ..Filter::default()
    });
    listed(&ops, TargetQueue::DeadLetter, &range, &all_dead).await;

    // Pages: in index order, together the whole listing.
    let whole = ids(&ops
        .list(TargetQueue::DeadLetter, &by_topic, 100)
        .await
        .unwrap());
    let first = ops
        .list_page(TargetQueue::DeadLetter, &by_topic, 0, 4)
        .await
        .unwrap();
    assert_eq!(first.next_offset, Some(4));
    let second = ops
        .list_page(TargetQueue::DeadLetter, &by_topic, 8, 4)
        .await
        .unwrap();
    assert_eq!((second.items.len(), second.next_offset), (2, None));
    assert_eq!(ids(&first), whole[..4].to_vec());
    assert_eq!(ids(&second), whole[8..].to_vec());
    assert_eq!(second.items[0].position, 8);

    // Opening one from the index: masked.
    let one = ops
        .show(TargetQueue::DeadLetter, &dead[0], false)
        .await
        .unwrap();
    assert!(one.payload_masked);
    let text = one.payload.to_string();
    assert!(!text.contains("@example.com"), "{text}");
    assert_eq!(
        one.summary.reason.as_deref(),
        Some("ometria_record_rejected")
    );

    // Replay the odd shop: rows gone at once, each event reaches Ometria once.
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &by_shop,
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(report.done, 5);
    let left = ops
        .list(TargetQueue::DeadLetter, &by_shop, 100)
        .await
        .unwrap();
    assert_eq!(left.matched, 0);
    app.contacts_arrive((101..110).step_by(2)).await;
    for id in (101..110).step_by(2) {
        assert_eq!(
            app.ometria()
                .write_count(RecordType::Contact, &id.to_string()),
            1,
            "contact {id} reached Ometria once"
        );
    }
    // A late copy cannot bring a replayed row back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut rest = even.clone();
    rest.push(poison.webhook_id.clone());
    listed(&ops, TargetQueue::DeadLetter, &Filter::default(), &rest).await;
    assert_eq!(in_queue(&ops, TargetQueue::DeadLetter).await, set(&rest));

    // Purge the even shop: rows gone.
    let even_shop = Filter {
        shops: vec!["even.myshopify.com".into()],
        ..Filter::default()
    };
    let purged = ops
        .purge(TargetQueue::DeadLetter, &even_shop, false, false, "test")
        .await
        .unwrap();
    assert_eq!(purged.done, 5);
    let l = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 100)
        .await
        .unwrap();
    assert_eq!(ids(&l), vec![poison.webhook_id.clone()]);
    assert_eq!((l.depth, l.indexed), (1, 1));
    app.teardown().await;
}

#[tokio::test]
async fn dead_letters_and_parked_events_are_indexed_filtered_and_follow_replay_and_purge_sqlite() {
    indexed_listed_filtered_replayed_and_purged(Backend::Sqlite).await;
}

#[tokio::test]
async fn dead_letters_and_parked_events_are_indexed_filtered_and_follow_replay_and_purge_postgres()
{
    indexed_listed_filtered_replayed_and_purged(Backend::Postgres).await;
}

async fn reindex_repairs(backend: Backend) {
    // No indexer: the copies of these messages are never written, as when
    // the store was down and the copies were lost meanwhile.
    let app = app(backend, false).await;
    let ops = app.queue_ops().await;
    let dead = dead_letters(&app, 300..306).await;
    let park = parked(&app, 400..402).await;
    let probe = BrokerProbe::connect().await.unwrap();
    let _lost = probe.drain(&app.names().index_queue()).await.unwrap();
    let l = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 10)
        .await
        .unwrap();
    assert_eq!((l.depth, l.indexed, l.matched), (6, 0, 0), "drift shows");
    assert_eq!(in_queue(&ops, TargetQueue::DeadLetter).await, set(&dead));

    let r = ops.reindex(TargetQueue::DeadLetter).await.unwrap();
    assert_eq!((r.scanned, r.added, r.dropped, r.indexed), (6, 6, 0, 6));
    let l = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 10)
        .await
        .unwrap();
    assert_eq!(ids(&l), dead, "in queue order");
    assert_eq!(in_queue(&ops, TargetQueue::DeadLetter).await, set(&dead));
    ops.reindex(TargetQueue::Parked).await.unwrap();
    listed(&ops, TargetQueue::Parked, &Filter::default(), &park).await;

    // Rows deleted from the index come back with a reindex.
    let store = app.store().await;
    let rows = store
        .letters(&so_store::LetterQuery {
            queue: "dead_letter".into(),
            limit: 2,
            ..so_store::LetterQuery::default()
        })
        .await
        .unwrap();
    let keys: Vec<String> = rows.items.iter().map(|r| r.copy_key.clone()).collect();
    store.letters_removed("dead_letter", &keys).await.unwrap();
    let l = ops
        .list(TargetQueue::DeadLetter, &Filter::default(), 10)
        .await
        .unwrap();
    assert_eq!(l.matched, 4);
    let r = ops.reindex(TargetQueue::DeadLetter).await.unwrap();
    assert_eq!((r.added, r.indexed), (2, 6));
    listed(&ops, TargetQueue::DeadLetter, &Filter::default(), &dead).await;

    // Messages gone from the queue behind the index's back are dropped.
    let drained = probe.drain(&app.names().dead_letter_queue()).await.unwrap();
    assert_eq!(drained.len(), 6);
    let r = ops.reindex(TargetQueue::DeadLetter).await.unwrap();
    assert_eq!((r.scanned, r.dropped, r.indexed), (0, 6, 0));
    probe.close().await;
    app.teardown().await;
}

#[tokio::test]
async fn a_reindex_restores_what_the_index_missed_or_lost_sqlite() {
    reindex_repairs(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_reindex_restores_what_the_index_missed_or_lost_postgres() {
    reindex_repairs(Backend::Postgres).await;
}

/// The admin API's list pages and its reindex route.
#[tokio::test]
async fn the_admin_api_pages_through_the_index_and_reindexes() {
    let app = app(Backend::Sqlite, true).await;
    let dead = dead_letters(&app, 500..505).await;
    let ops = app.queue_ops().await;
    listed(&ops, TargetQueue::DeadLetter, &Filter::default(), &dead).await;
    let get = |q: &str| {
        app.client
            .get(format!("{}/admin/dead-letters?{q}", app.ops_address))
            .bearer_auth(TOKEN)
            .send()
    };
    let res = get("limit=2&offset=2").await.unwrap();
    assert_eq!(res.status(), 200);
    let l: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (l["matched"].as_u64(), l["indexed"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(l["next_offset"], 4);
    let got: Vec<&str> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(got.len(), 2);
    assert!(dead.iter().any(|d| d == got[0]));
    let res = get("offset=-1").await.unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .client
        .post(format!("{}/admin/dead-letters/reindex", app.ops_address))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"queue": "dlq"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (r["scanned"].as_u64(), r["indexed"].as_u64()),
        (Some(5), Some(5))
    );
    app.teardown().await;
}

/// The store goes down while dead letters arrive: they are in the queue all
/// along, and once the store is back the indexer writes them (it held their
/// copies instead of dropping them). A private server: the shared one is
/// never stopped.
#[tokio::test]
async fn dead_letters_arriving_while_the_store_is_down_are_indexed_when_it_is_back() {
    let pg = so_testkit::PrivatePostgres::start()
        .await
        .expect("private PostgreSQL");
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 2,
        backend: Backend::Postgres,
        postgres_admin_url: Some(pg.admin_url()),
        ..TestAppOptions::default()
    })
    .await;
    let ops = app.queue_ops().await;
    pg.stop_server(so_testkit::StopMode::Fast).await.unwrap();
    let dead = dead_letters(&app, 600..604).await;
    // In the queue while the index cannot be written.
    assert_eq!(in_queue(&ops, TargetQueue::DeadLetter).await, set(&dead));
    assert!(
        ops.list(TargetQueue::DeadLetter, &Filter::default(), 10)
            .await
            .is_err(),
        "the store is down"
    );
    pg.start_server().await.unwrap();
    let want = set(&dead);
    eventually(Duration::from_secs(90), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &Filter::default(), 100)
            .await
            .map_err(|e| e.to_string())?;
        if set(&ids(&l)) == want {
            Ok(())
        } else {
            Err(format!("{} indexed", l.matched))
        }
    })
    .await;
    assert_eq!(in_queue(&ops, TargetQueue::DeadLetter).await, want);
    app.teardown().await;
}
