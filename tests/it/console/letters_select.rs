//! Dead letters in a real browser, by time and by hand: three dead letters a second apart; a
//! time range holding the last two lists two; one of them ticked and replayed reaches the fake
//! Ometria, the other two stay in the queue (counted at the broker); a pace out of bounds is
//! refused inline and nothing moves; the history shows the pace. On both store backends: the
//! list is read from the letter index in the store.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use so_domain::ometria::RecordType;
use so_ops::{Filter, QueueOps, TargetQueue};
use so_testkit::{Backend, TestApp, eventually};

use super::browser::Browser;
use super::{SHOP, TOKEN, app, customer};

const CUSTOMERS: [u64; 3] = [701, 702, 703];

/// Ready messages in the dead-letter queue, as RabbitMQ counts them (not the index).
async fn broker_depth(app: &TestApp) -> u32 {
    so_queue::stats::queue_depth(&app.broker, &app.names().dead_letter_queue())
        .await
        .unwrap()
}

/// The dead letter of customer `id` (webhook id and when it died), once indexed.
async fn letter_of(ops: &QueueOps, id: u64) -> (String, DateTime<Utc>) {
    let entity = format!(":{id}");
    eventually(Duration::from_secs(30), || async {
        let listing = ops
            .list(TargetQueue::DeadLetter, &Filter::default(), 100)
            .await
            .unwrap();
        listing
            .items
            .iter()
            .find(|l| l.entity.as_deref().is_some_and(|e| e.ends_with(&entity)))
            .and_then(|l| Some((l.id.clone(), l.at?)))
            .ok_or_else(|| format!("no dead letter of customer {id} yet"))
    })
    .await
}

/// Three dead letters, each in a later second than the one before (the time filter's inputs
/// have seconds at most).
async fn three_dead_letters(app: &TestApp, ops: &QueueOps) -> Vec<(String, DateTime<Utc>)> {
    let mut letters: Vec<(String, DateTime<Utc>)> = Vec::new();
    for id in CUSTOMERS {
        if let Some((_, last)) = letters.last() {
            let last = last.timestamp();
            eventually(Duration::from_secs(5), || async {
                if Utc::now().timestamp() > last {
                    Ok(())
                } else {
                    Err("still the previous letter's second".to_owned())
                }
            })
            .await;
        }
        assert_eq!(app.send(&customer(id, SHOP)).await.status(), 200);
        letters.push(letter_of(ops, id).await);
    }
    for pair in letters.windows(2) {
        assert!(pair[0].1.timestamp() < pair[1].1.timestamp(), "{letters:?}");
    }
    letters
}

/// As a `datetime-local` input holds it: Chromium drops the seconds when they are `:00`, so a
/// value set as `…T12:54:00` is sent (and shown again) as `…T12:54`.
fn local(at: DateTime<Utc>) -> String {
    let format = if at.second() == 0 {
        "%Y-%m-%dT%H:%M"
    } else {
        "%Y-%m-%dT%H:%M:%S"
    };
    at.with_nanosecond(0).unwrap().format(format).to_string()
}

async fn select_and_replay(backend: Backend) {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = app(backend, Vec::new()).await;
    let ops = app.queue_ops().await;
    let fake = app.ometria();
    fake.set_validation(so_fake_ometria::Validation {
        mode: so_fake_ometria::ValidationMode::Synchronous,
        ..Default::default()
    });
    fake.reject_ids(CUSTOMERS.map(|c| c.to_string()));
    let letters = three_dead_letters(&app, &ops).await;
    assert_eq!(broker_depth(&app).await, 3);
    // From now on Ometria takes them: whatever moves is counted there.
    fake.clear_faults();
    let console = &app.ops_address;

    // The last two, by time: from the second's start, before the next second.
    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/dead-letters")).await;
    assert_eq!(b.text("#matched-count").await, "3");
    let since = local(letters[1].1);
    let until = local(letters[2].1 + chrono::Duration::seconds(1));
    b.js(&format!(
        "document.querySelector('#since').value = '{since}'; \
         document.querySelector('#until').value = '{until}';"
    ))
    .await;
    b.click("#filter").await;
    b.find(&format!("#since[value='{since}']")).await;
    assert_eq!(b.text("#matched-count").await, "2");
    let listed = b.js(
        "return [...document.querySelectorAll('table.letters tbody tr')].map(r => r.dataset.id);",
    )
    .await;
    assert_eq!(
        listed,
        serde_json::json!([letters[1].0, letters[2].0]),
        "{letters:?}"
    );

    // A pace out of bounds: refused inline, naming `rate`; nothing moves.
    let picked = &letters[1].0;
    b.click(&format!("#pick-{picked}")).await;
    b.fill("#selection-rate", "0").await;
    b.click("#replay-selected").await;
    assert_eq!(
        b.find("#form-error")
            .await
            .attr("data-field")
            .await
            .unwrap()
            .as_deref(),
        Some("rate")
    );
    assert_eq!(b.text("#matched-count").await, "2", "the filter is kept");
    assert_eq!(broker_depth(&app).await, 3);
    assert_eq!(fake.write_count(RecordType::Contact, "702"), 0);

    // The same one, paced: exactly it reaches Ometria; the other two stay.
    b.click(&format!("#pick-{picked}")).await;
    b.fill("#selection-rate", "5").await;
    b.screenshot("dead-letters").await;
    b.click("#replay-selected").await;
    assert_eq!(b.text("#selected").await, "1");
    assert_eq!(b.text("#done").await, "1");
    b.screenshot("replayed-selection").await;
    app.contacts_arrive([702]).await;
    eventually(Duration::from_secs(30), || async {
        match broker_depth(&app).await {
            2 => Ok(()),
            n => Err(format!("{n} dead letters at the broker, want 2")),
        }
    })
    .await;
    let counts: Vec<u32> = CUSTOMERS
        .iter()
        .map(|c| fake.write_count(RecordType::Contact, &c.to_string()))
        .collect();
    assert_eq!(counts, [0, 1, 0]);

    // The history says who replayed what, and how fast.
    b.goto(&format!("{console}/console/dead-letters")).await;
    let operations = b.text("table.operations").await;
    assert!(
        operations.contains("5/s") && operations.contains(picked.as_str()),
        "{operations}"
    );

    // The two left are the two not picked.
    let mut left: Vec<String> = app
        .take_dead_letters()
        .await
        .iter()
        .filter_map(|m| m.envelope.event_meta().ok())
        .map(|meta| meta.webhook_id.to_string())
        .collect();
    left.sort();
    let mut want = vec![letters[0].0.clone(), letters[2].0.clone()];
    want.sort();
    assert_eq!(left, want);
    b.close().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_by_time_and_replay_paced_sqlite() {
    select_and_replay(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_by_time_and_replay_paced_postgres() {
    select_and_replay(Backend::Postgres).await;
}
