//! Ometria's asynchronous validation, watched: the fake answers every push
//! `OK` with `rejected: 0` and lists refused records only in `_errors`. The
//! worker's watcher must surface each refusal as a counter, a log line and
//! a `dlq list` entry (reason `ometria_rejected`, with the error path)
//! within a minute, and a replay after the fake stops refusing must bring
//! the record to Ometria. Counts come from the fake (what it refused and
//! what it holds) and from the dead-letter queue, not from the worker's
//! report of itself.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_ometria::{ErrorShape, Validation};
use so_ops::{Filter, QueueOps, ReplayOptions, TargetQueue};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

const SHOP: &str = "shop-a.myshopify.com";

async fn app(backend: Backend, shape: ErrorShape) -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        // A configured shop: its domain is the metric's `shop` label.
        config_toml: Some(format!(
            "[shops.\"{SHOP}\"]\nwebhook_secrets = [\"test-secret\"]\n"
        )),
        env: vec![
            ("SO_REJECTIONS__POLL_SECS".into(), "2".into()),
            ("SO_REJECTIONS__AFTER_PUSH_SECS".into(), "1".into()),
            ("SO_REJECTIONS__JOURNAL_SECS".into(), "120".into()),
        ],
        ..TestAppOptions::default()
    })
    .await;
    app.ometria().set_validation(Validation {
        shape,
        // Ometria validates from a queue: the error is not there at once.
        visible_after: Duration::from_millis(500),
        ..Validation::default()
    });
    app
}

fn customer(id: u64, last_name: Option<&str>) -> Webhook {
    let mut body = payloads::customer(
        id,
        &format!("c{id}@example.com"),
        "2026-11-20T10:00:00+00:00",
    );
    body["last_name"] = serde_json::json!(last_name);
    Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(SHOP)
}

fn rejected() -> Filter {
    Filter {
        reasons: vec!["ometria_rejected".into()],
        ..Filter::default()
    }
}

/// The `ometria_rejected` dead letters, once there are `n`.
async fn rejections(ops: &QueueOps, n: u32) -> Vec<so_ops::LetterSummary> {
    eventually(Duration::from_secs(60), || async {
        let l = ops
            .list(TargetQueue::DeadLetter, &rejected(), 100)
            .await
            .map_err(|e| e.to_string())?;
        if l.matched == n {
            Ok(l.items)
        } else {
            Err(format!(
                "{} ometria_rejected dead letters, want {n}",
                l.matched
            ))
        }
    })
    .await
}

/// Waits (up to a minute) for `so_ometria_records_rejected_total` of the
/// shop's contacts to read `n` (it is counted just after the dead letter
/// is confirmed), and returns it.
async fn rejected_counter(app: &TestApp, n: f64) -> f64 {
    eventually(Duration::from_secs(60), || async {
        let have = app
            .counter(
                "so_ometria_records_rejected_total",
                &[("shop", SHOP), ("record_type", "contact")],
            )
            .await;
        if have == n {
            Ok(have)
        } else {
            Err(format!("{have} rejections counted, want {n}"))
        }
    })
    .await
}

async fn refused_then_replayed(backend: Backend) {
    let app = app(backend, ErrorShape::Rich).await;
    let fake = app.ometria();
    let ops = app.queue_ops().await;
    fake.reject_path(Some(RecordType::Contact), "lastname");
    let (refused, fine) = (customer(700, Some("Snow")), customer(701, None));
    for hook in [&refused, &fine] {
        assert_eq!(app.send(hook).await.status(), 200);
    }
    app.contacts_arrive([701]).await;

    // The fake refused exactly one record, and said nothing at push time.
    let listed = fake.push_errors();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["record_id"], "700");
    assert!(fake.record(RecordType::Contact, "700").is_none());

    let letters = rejections(&ops, 1).await;
    let letter = &letters[0];
    assert!(
        letter
            .id
            .starts_with(&format!("{}.rejected.", refused.webhook_id)),
        "the dead letter names the refused event: {}",
        letter.id
    );
    assert_eq!(letter.topic.as_deref(), Some("customers/create"));
    assert_eq!(letter.shop.as_deref(), Some(SHOP));
    assert_eq!(letter.entity.as_deref(), Some("customer:700"));
    assert_eq!(letter.stage.as_deref(), Some("push"));
    let detail = letter.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("root > lastname") && detail.contains("contact record 700"),
        "{detail}"
    );
    assert!(
        !detail.contains("example.com") && !detail.contains("Snow"),
        "{detail}"
    );
    assert_eq!(rejected_counter(&app, 1.0).await, 1.0);

    // Polled again and again: still one dead letter, one count.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rejections(&ops, 1).await.len(), 1);
    assert_eq!(rejected_counter(&app, 1.0).await, 1.0);

    // The mapping is "fixed" (Ometria accepts it now): the replay sends it.
    fake.stop_rejecting();
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &rejected(),
            &ReplayOptions::default(),
            "test",
        )
        .await
        .unwrap();
    assert_eq!((report.matched, report.done), (1, 1));
    app.contacts_arrive([700]).await;
    let stored = fake.record(RecordType::Contact, "700").unwrap();
    assert_eq!(stored["lastname"], "Snow");
    assert_eq!(fake.push_errors().len(), 1, "nothing refused since");
    app.teardown().await;
}

#[tokio::test]
async fn an_asynchronous_rejection_is_dead_lettered_and_replayed_sqlite() {
    refused_then_replayed(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_asynchronous_rejection_is_dead_lettered_and_replayed_postgres() {
    refused_then_replayed(Backend::Postgres).await;
}

#[tokio::test]
async fn the_documented_shape_is_tied_only_when_one_record_can_be_meant() {
    let app = app(Backend::Sqlite, ErrorShape::Documented).await;
    let fake = app.ometria();
    let ops = app.queue_ops().await;
    fake.reject_path(Some(RecordType::Contact), "lastname");

    // Only one remembered record has a lastname: that one is meant.
    let first = customer(710, Some("Stark"));
    assert_eq!(app.send(&first).await.status(), 200);
    assert_eq!(app.send(&customer(711, None)).await.status(), 200);
    app.contacts_arrive([711]).await;
    let letters = rejections(&ops, 1).await;
    assert!(letters[0].id.starts_with(&first.webhook_id));
    assert_eq!(rejected_counter(&app, 1.0).await, 1.0);

    // Now two remembered records have one: the next error is not guessed.
    assert_eq!(
        app.send(&customer(712, Some("Lannister"))).await.status(),
        200
    );
    eventually(Duration::from_secs(60), || async {
        let n = app
            .counter(
                "so_ometria_rejections_unattributed_total",
                &[("reason", "no_request_id")],
            )
            .await;
        if n == 1.0 {
            Ok(())
        } else {
            Err(format!("{n} unattributed"))
        }
    })
    .await;
    assert_eq!(fake.push_errors().len(), 2, "the fake refused two records");
    assert_eq!(
        rejections(&ops, 1).await.len(),
        1,
        "no dead letter for a guess"
    );
    assert_eq!(rejected_counter(&app, 1.0).await, 1.0);
    app.teardown().await;
}

#[tokio::test]
async fn two_workers_watching_one_account_dead_letter_each_refusal_once() {
    let mut app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Postgres,
        partitions: 4,
        config_toml: Some(format!(
            "[shops.\"{SHOP}\"]\nwebhook_secrets = [\"test-secret\"]\n"
        )),
        env: vec![
            ("SO_WORKER__LEASE_SECS".into(), "3".into()),
            ("SO_REJECTIONS__POLL_SECS".into(), "2".into()),
            ("SO_REJECTIONS__AFTER_PUSH_SECS".into(), "1".into()),
            ("SO_REJECTIONS__JOURNAL_SECS".into(), "120".into()),
        ],
        ..TestAppOptions::default()
    })
    .await;
    app.start_extra_worker().await;
    let store = app.store().await;
    eventually(Duration::from_secs(30), || async {
        let members = store.worker_members().await.map_err(|e| e.to_string())?;
        // Both members consume a share, so both push.
        if members.len() == 2 && members.iter().all(|(_, p)| !p.is_empty()) {
            Ok(())
        } else {
            Err(format!("members {members:?}"))
        }
    })
    .await;
    let fake = app.ometria();
    let ops = app.queue_ops().await;
    let ids: Vec<u64> = (720..728).collect();
    fake.reject_ids(ids.iter().map(u64::to_string));
    let mut sent = Vec::new();
    for id in &ids {
        let hook = customer(*id, Some("Snow"));
        assert_eq!(app.send(&hook).await.status(), 200);
        sent.push(hook.webhook_id);
    }

    // Both workers read every error; each refusal is dead-lettered once,
    // by the worker that pushed it, and counted once.
    let letters = rejections(&ops, 8).await;
    assert_eq!(
        fake.push_errors().len(),
        8,
        "the fake refused eight records"
    );
    assert_eq!(rejected_counter(&app, 8.0).await, 8.0);
    let mut originals: Vec<String> = letters
        .iter()
        .map(|l| {
            l.id.split(".rejected.")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    originals.sort();
    sent.sort();
    assert_eq!(originals, sent);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(rejections(&ops, 8).await.len(), 8, "no second copy");
    assert_eq!(rejected_counter(&app, 8.0).await, 8.0);
    app.teardown().await;
}
