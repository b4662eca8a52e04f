//! Several worker processes on one PostgreSQL store split the partitions
//! (one consumer per partition, no idle standbys) and take over the
//! partitions of one that dies.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

async fn send_and_see(app: &TestApp, ids: std::ops::Range<u64>) {
    for id in ids.clone() {
        let body = payloads::customer(
            id,
            &format!("s{id}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        let hook = Webhook::new("customers/create", serde_json::to_vec(&body).unwrap());
        assert_eq!(app.send(&hook).await.status(), 200);
    }
    let fake = app.ometria();
    eventually(Duration::from_secs(60), || async {
        let n = ids
            .clone()
            .filter(|id| fake.record(RecordType::Contact, &id.to_string()).is_some())
            .count();
        if n == ids.clone().count() {
            Ok(())
        } else {
            Err(format!("{n} contacts arrived"))
        }
    })
    .await;
}

/// The partitions each live worker process consumes, as it reports them.
async fn members(app: &TestApp) -> Vec<Vec<u16>> {
    let ops = app.queue_ops().await;
    ops.store()
        .worker_members()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p)| {
            p.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect()
        })
        .collect()
}

async fn partitions_are_split(app: &TestApp, workers: usize) {
    eventually(Duration::from_secs(30), || async {
        let m = members(app).await;
        let mut all: Vec<u16> = m.iter().flatten().copied().collect();
        all.sort_unstable();
        if m.len() == workers && m.iter().all(|p| !p.is_empty()) && all == vec![0, 1, 2, 3] {
            Ok(())
        } else {
            Err(format!("members consume {m:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn two_workers_split_the_partitions_and_one_takes_over_when_the_other_dies() {
    let mut app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Postgres,
        partitions: 4,
        env: vec![("SO_WORKER__LEASE_SECS".into(), "3".into())],
        ..TestAppOptions::default()
    })
    .await;
    partitions_are_split(&app, 1).await;
    let extra = app.start_extra_worker().await;
    // Each process consumes its own share: no partition twice, none missing
    // (without the split both would subscribe to all four).
    partitions_are_split(&app, 2).await;
    send_and_see(&app, 1000..1020).await;

    // The extra worker dies without leaving: its lease expires and the
    // other takes its partitions.
    app.kill_extra_worker(extra).await;
    partitions_are_split(&app, 1).await;
    send_and_see(&app, 1020..1040).await;
    assert_eq!(app.ometria().count(RecordType::Contact), 40);

    // A worker that stops cleanly leaves at once.
    let extra = app.start_extra_worker().await;
    partitions_are_split(&app, 2).await;
    app.stop_extra_worker(extra).await;
    partitions_are_split(&app, 1).await;
    app.teardown().await;
}
