use std::time::Duration;

use so_domain::ometria::RecordType;
use so_domain::{Disposition, ReasonCode};
use so_ometria::{Error, Verdict, classify};

use crate::support::{client, contact, fake, settings};

#[tokio::test]
async fn storm_of_429s_is_ridden_out_and_pauses_the_client() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    fake.rate_limit_next(3);

    let outcome = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap();

    assert_eq!(outcome.attempts, 4);
    assert_eq!(fake.rate_limited_responses(), 3);
    assert_eq!(fake.push_requests(), 4);
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 1);
    // The 50 ms pause after a 429 outlasts the 5 ms first backoff, so the
    // retry waited on the shared limiter.
    assert!(outcome.rate_limit_wait > Duration::ZERO);
    assert!(client.rate_limiter().total_wait() >= outcome.rate_limit_wait);
}

#[tokio::test]
async fn endless_429s_end_at_the_deadline_as_a_retry_for_the_broker() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.retry.max_elapsed = Duration::from_millis(300);
    let client = client(&s);
    fake.rate_limit_next(u32::MAX);

    let failure = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap_err();

    assert!(failure.attempts >= 2, "retried at least once");
    assert_eq!(u64::from(failure.attempts), fake.push_requests());
    assert!(matches!(
        failure.disposition,
        Disposition::Retry {
            reason: ReasonCode::OmetriaRateLimited,
            ..
        }
    ));
    assert_eq!(fake.count(RecordType::Contact), 0);
}

#[tokio::test]
async fn server_errors_then_success_applies_once() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    fake.fail_next(2, 503);

    let outcome = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap();

    assert_eq!(outcome.attempts, 3);
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 1);
}

#[tokio::test]
async fn persistent_server_errors_become_a_broker_retry() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.retry.max_elapsed = Duration::from_millis(100);
    let client = client(&s);
    fake.fail_next(u32::MAX, 500);

    let failure = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap_err();

    assert!(failure.attempts >= 2);
    assert_eq!(failure.error.status(), Some(500));
    assert!(matches!(
        failure.disposition,
        Disposition::Retry {
            reason: ReasonCode::OmetriaServerError,
            after: None,
            ..
        }
    ));
}

#[tokio::test]
async fn slow_response_is_a_transient_timeout() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.request_timeout = Duration::from_millis(100);
    let client = client(&s);
    fake.delay_responses(Some(Duration::from_secs(3)));

    let err = client
        .push(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(
        classify(&err),
        Verdict::Transient {
            reason: ReasonCode::OmetriaTimeout,
            after: None
        }
    );
}

#[tokio::test]
async fn timeout_then_success_may_write_twice_which_upsert_makes_harmless() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.request_timeout = Duration::from_millis(100);
    let client = client(&s);
    fake.delay_next(1, Duration::from_secs(3));

    let outcome = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap();

    assert_eq!(outcome.attempts, 2);
    // The first attempt took effect although its answer never arrived.
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 2);
    assert_eq!(fake.count(RecordType::Contact), 1);
}

#[tokio::test]
async fn unreachable_ometria_is_a_transient_transport_error() {
    let mut fake = fake().await;
    let client = client(&settings(&fake));
    fake.stop().await;

    let err = client
        .push(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        err.verdict(),
        Verdict::Transient {
            reason: ReasonCode::OmetriaTransport,
            after: None
        }
    );
}
