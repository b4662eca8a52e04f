//! A retried message goes to its own delay tier only and comes back to its
//! partition once. (A headers exchange ignores `x-` headers when matching;
//! with the tier in an `x-` header every retry went to every tier.)

use std::collections::BTreeMap;
use std::time::Duration;

use so_testkit::{TestApp, TestAppOptions, eventually};

fn meta(i: u64) -> so_domain::EventMeta {
    so_domain::EventMeta {
        webhook_id: so_domain::WebhookId::parse(&format!("w-{i}")).unwrap(),
        topic: so_domain::TopicName::parse("customers/create").unwrap(),
        shop: so_domain::ShopDomain::parse("a.myshopify.com").unwrap(),
        api_version: so_domain::ApiVersion::parse("2026-07").unwrap(),
        event_id: None,
        triggered_at: None,
        received_at: chrono::Utc::now(),
        entity: so_domain::EntityKey::Customer(i),
    }
}

#[tokio::test]
async fn a_retried_message_goes_to_its_tier_only_and_comes_back_once() {
    // Tiers of 1 s and 5 s (the testkit's).
    let app = TestApp::spawn_with(TestAppOptions::default()).await;
    let publisher = so_queue::Publisher::new(app.broker.clone());
    for i in 0..50u64 {
        let envelope = so_queue::Envelope::event(&meta(i));
        let tier = if i % 2 == 0 { 1 } else { 5 };
        publisher
            .retry_later("work.0", &envelope, b"{}", tier, 1, "test")
            .await
            .unwrap();
    }
    let names = app.names().clone();
    let depth = |q: String| {
        let broker = app.broker.clone();
        async move {
            so_queue::stats::queue_stats(&broker)
                .await
                .unwrap()
                .into_iter()
                .find(|s| s.queue == q)
                .map_or(0, |s| s.messages)
        }
    };
    // Right after publishing: 25 in each tier, none twice.
    let (t1, t5) = (
        depth(names.retry_queue(1)).await,
        depth(names.retry_queue(5)).await,
    );
    assert!(
        t1 <= 25 && t5 == 25,
        "tier 1 s holds {t1}, tier 5 s holds {t5}"
    );
    // All 50 come back to the work partition, each once.
    eventually(Duration::from_secs(30), || async {
        let n = depth(names.work_queue(0)).await;
        if n >= 50 {
            Ok(())
        } else {
            Err(format!("{n} back in work.0"))
        }
    })
    .await;
    let all = app.take_queued().await;
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for m in &all {
        *by.entry(m.message_id().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by.len(), 50, "{by:?}");
    assert!(by.values().all(|n| *n == 1), "copies: {by:?}");
    assert!(all.iter().all(|m| m.queue == names.work_queue(0)));
    app.teardown().await;
}
