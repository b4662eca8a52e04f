use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;
use so_fake_ometria::{
    Drain, FakeConfig, FakeOmetria, QUEUE_LIMIT_HEADER, QUEUE_REMAINING_HEADER, RateLimit,
};

use crate::support::{contact, eventually, push};

#[tokio::test]
async fn requests_beyond_the_token_bucket_get_429_with_queue_headers() {
    // A slow refill keeps the outcome independent of test timing.
    let config = FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 0.01,
            burst: 2,
        },
        ..FakeConfig::default()
    };
    let fake = FakeOmetria::start(config).await;
    let body = json!([contact("c1", "a@example.com")]);

    let statuses = [
        push(&fake, &body).await,
        push(&fake, &body).await,
        push(&fake, &body).await,
    ];

    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 429]
    );
    let limited = &statuses[2];
    assert_eq!(limited.body["status"], "ERROR");
    assert_eq!(limited.header(QUEUE_LIMIT_HEADER), Some(50_000));
    assert!(limited.header(QUEUE_REMAINING_HEADER).is_some());
    assert_eq!(fake.rate_limited_responses(), 1);

    fake.set_rate_limit(RateLimit::Unlimited);
    assert_eq!(push(&fake, &body).await.status, 200);
}

#[tokio::test]
async fn default_config_allows_four_requests_back_to_back() {
    let fake = FakeOmetria::start(FakeConfig::default()).await;
    let body = json!([contact("c1", "a@example.com")]);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(push(&fake, &body).await.status);
    }
    assert_eq!(statuses, [200; 4]);
}

#[tokio::test]
async fn full_backlog_gets_429_until_it_drains() {
    let config = FakeConfig {
        backlog_limit: 5,
        drain: Drain::Manual,
        ..FakeConfig::unlimited()
    };
    let fake = FakeOmetria::start(config).await;
    let three = json!([
        contact("a", "a@x.io"),
        contact("b", "b@x.io"),
        contact("c", "c@x.io")
    ]);

    let first = push(&fake, &three).await;
    let second = push(&fake, &three).await;

    assert_eq!(first.status, 200);
    assert_eq!(first.header(QUEUE_LIMIT_HEADER), Some(5));
    assert_eq!(first.header(QUEUE_REMAINING_HEADER), Some(2));
    assert_eq!(second.status, 429);
    assert_eq!(second.header(QUEUE_REMAINING_HEADER), Some(2));
    assert_eq!(
        fake.count(RecordType::Contact),
        0,
        "queued, not yet applied"
    );

    assert_eq!(fake.process_backlog(), 3);
    assert_eq!(fake.count(RecordType::Contact), 3);
    assert_eq!(push(&fake, &three).await.status, 200);
}

#[tokio::test]
async fn background_drain_applies_queued_records() {
    let config = FakeConfig {
        drain: Drain::PerSecond(500.0),
        ..FakeConfig::unlimited()
    };
    let fake = FakeOmetria::start(config).await;
    let many: Vec<_> = (0..20)
        .map(|i| contact(&format!("c{i}"), "a@x.io"))
        .collect();

    let r = push(&fake, &json!(many)).await;
    assert_eq!(r.status, 200);

    eventually(Duration::from_secs(5), || {
        fake.count(RecordType::Contact) == 20
    })
    .await;
    assert_eq!(fake.backlog_len(), 0);
}
