use std::time::Duration;

use so_domain::ometria::RecordType;
use so_fake_ometria::{Drain, FakeConfig, FakeOmetria, RateLimit};
use so_ometria::Verdict;

use crate::support::{client, contact, settings};

#[tokio::test]
async fn shared_limiter_keeps_concurrent_callers_within_the_server_budget() {
    // The fake enforces 10 req/s with a burst of 2; the client paces at
    // 8 req/s with no burst, so no request may be refused. (At exactly the
    // server's rate, scheduling jitter on a loaded machine could bunch three
    // requests into the server's bucket and draw a 429 that says nothing
    // about the limiter.)
    let config = FakeConfig {
        rate_limit: RateLimit::PerSecond {
            rate: 10.0,
            burst: 2,
        },
        ..FakeConfig::default()
    };
    let fake = FakeOmetria::start(config).await;
    let mut s = settings(&fake);
    s.requests_per_second = 8.0;
    let client = client(&s);

    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..3 {
                    let id = format!("c{t}-{i}");
                    client
                        .push(RecordType::Contact, &[contact(&id)])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    assert_eq!(fake.push_requests(), 12);
    assert_eq!(fake.rate_limited_responses(), 0);
    assert_eq!(fake.count(RecordType::Contact), 12);
    // A lower bound only: 12 evenly spaced requests span at least 11 gaps.
    let log = fake.requests();
    let span = log[11].at - log[0].at;
    assert!(span >= Duration::from_millis(1_000), "span {span:?}");
    assert!(client.rate_limiter().total_wait() > Duration::ZERO);
}

#[tokio::test]
async fn low_queue_remaining_slows_the_client_until_the_backlog_drains() {
    let config = FakeConfig {
        backlog_limit: 10,
        drain: Drain::Manual,
        ..FakeConfig::unlimited()
    };
    let fake = FakeOmetria::start(config).await;
    let mut s = settings(&fake);
    s.queue_low_watermark = 5;
    let client = client(&s);
    let six: Vec<_> = (0..6).map(|i| contact(&format!("c{i}"))).collect();

    let outcome = client.push(RecordType::Contact, &six).await.unwrap();
    assert_eq!(outcome.queue.and_then(|q| q.remaining), Some(4));
    assert!(client.rate_limiter().is_slowed());

    fake.process_backlog();
    client
        .push(RecordType::Contact, &[contact("c9")])
        .await
        .unwrap();
    assert!(!client.rate_limiter().is_slowed());
}

#[tokio::test]
async fn full_backlog_429_is_rate_limited_and_pauses_every_clone() {
    let config = FakeConfig {
        backlog_limit: 3,
        drain: Drain::Manual,
        ..FakeConfig::unlimited()
    };
    let fake = FakeOmetria::start(config).await;
    let mut s = settings(&fake);
    s.rate_limit_pause = Duration::from_secs(30);
    let client = client(&s);
    let other = client.clone();
    let four: Vec<_> = (0..4).map(|i| contact(&format!("c{i}"))).collect();

    let err = client.push(RecordType::Contact, &four).await.unwrap_err();

    assert_eq!(err.status(), Some(429));
    assert!(matches!(
        err.verdict(),
        Verdict::Transient {
            reason: so_domain::ReasonCode::OmetriaRateLimited,
            ..
        }
    ));
    assert!(other.rate_limiter().is_paused());
}
