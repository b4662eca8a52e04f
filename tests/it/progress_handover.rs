//! While worker processes change membership, the one joining records no
//! settled time for a partition the other still works through: as a standby
//! (single active consumer) it receives nothing and would take the partition
//! for quiet, letting abandonment checks decide too early. Here the first
//! worker holds a delivery of every partition (Ometria holds its answers)
//! while a second one joins.

use std::collections::BTreeSet;
use std::time::Duration;

use so_domain::ShopDomain;
use so_domain::routing::{EntityKey, partition_for};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads;

const PARTITIONS: u16 = 4;
const SHOP: &str = "test-shop.myshopify.com";

/// Customer ids, one routed to each partition.
fn one_customer_per_partition() -> Vec<u64> {
    let shop = ShopDomain::parse(SHOP).unwrap();
    let mut seen = BTreeSet::new();
    (1000u64..)
        .filter(|id| seen.insert(partition_for(&shop, &EntityKey::Customer(*id), PARTITIONS)))
        .take(usize::from(PARTITIONS))
        .collect()
}

async fn partition_times(app: &TestApp) -> Vec<(u16, chrono::DateTime<chrono::Utc>)> {
    let ops = app.queue_ops().await;
    ops.store().partition_times().await.unwrap()
}

#[tokio::test]
async fn a_joining_worker_records_no_time_for_partitions_the_other_still_holds() {
    let mut app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Postgres,
        partitions: PARTITIONS,
        env: vec![
            ("SO_WORKER__LEASE_SECS".into(), "3".into()),
            // The held pushes must not time out into retries (which settle them).
            ("SO_OMETRIA__REQUEST_TIMEOUT_MS".into(), "60000".into()),
        ],
        ..TestAppOptions::default()
    })
    .await;
    app.ometria().hold_responses(true);
    let sent = chrono::Utc::now();
    for id in one_customer_per_partition() {
        let body = payloads::customer(
            id,
            &format!("h{id}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        let hook = Webhook::new("customers/create", serde_json::to_vec(&body).unwrap()).shop(SHOP);
        assert_eq!(app.send(&hook).await.status(), 200);
    }
    // Every partition's delivery is in the first worker's hands: its pushes wait.
    eventually(Duration::from_secs(60), || async {
        let held = app.ometria().pushes_in_flight();
        if held.records >= usize::from(PARTITIONS) {
            Ok(())
        } else {
            Err(format!("in flight: {held:?}"))
        }
    })
    .await;
    app.start_extra_worker().await;
    eventually(Duration::from_secs(30), || async {
        let ops = app.queue_ops().await;
        let members = ops.store().worker_members().await.unwrap();
        if members.len() == 2 && members.iter().all(|(_, p)| !p.is_empty()) {
            Ok(())
        } else {
            Err(format!("members {members:?}"))
        }
    })
    .await;
    // Nothing can settle while the answers are held. Long enough for the
    // newcomer's idle seconds to pass the deliveries' received time (less
    // the ingress's 5 s skew), had it recorded times for these partitions.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let members = app
        .queue_ops()
        .await
        .store()
        .worker_members()
        .await
        .unwrap();
    let held = app.ometria().pushes_in_flight();
    for (part, time) in partition_times(&app).await {
        assert!(
            time < sent,
            "partition {part} recorded settled before {time}, yet its delivery received after {sent} is held; members {members:?}, in flight {held:?}"
        );
    }
    app.ometria().hold_responses(false);
    eventually(Duration::from_secs(60), || async {
        let times = partition_times(&app).await;
        if times.len() == usize::from(PARTITIONS) && times.iter().all(|(_, t)| *t > sent) {
            Ok(())
        } else {
            Err(format!("partition times {times:?}, sent at {sent}"))
        }
    })
    .await;
    app.teardown().await;
}
