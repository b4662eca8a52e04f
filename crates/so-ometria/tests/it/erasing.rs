use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;
use so_domain::{Disposition, ReasonCode};
use so_fake_ometria::{ErasureCompletion, FakeConfig, FakeOmetria};
use so_ometria::{ErasureError, Error, InvalidRequest, OmetriaSettings, Verdict};

use crate::support::{client, fake, rec, settings};

/// Settings whose GDPR lane never says busy (a slot every 10 ns), for tests
/// not about it.
fn fast(fake: &FakeOmetria) -> OmetriaSettings {
    OmetriaSettings {
        gdpr_requests_per_minute: 6e9,
        ..settings(fake)
    }
}

#[tokio::test]
async fn a_request_is_pending_until_ometria_completes_it() {
    let fake = fake().await;
    let client = client(&fast(&fake));
    client
        .push(
            RecordType::Contact,
            &[rec(
                RecordType::Contact,
                "42",
                json!({"customer_id": "42", "email": "ann@example.com", "firstname": "Ann"}),
            )],
        )
        .await
        .unwrap();

    let created = client.request_erasure(" ann@example.com ").await.unwrap();

    assert!(!created.completed());
    assert_eq!(created.action.as_deref(), Some("anonymise"));
    assert_eq!(created.origin.as_deref(), Some("api"));
    assert!(created.timestamp_created.is_some());
    assert_eq!(created.hashed_emails.len(), 1);
    assert!(created.hashed_emails[0].ends_with("@anonymous.ometria"));
    let seen = fake.erasure_requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["id"], created.id.as_str());
    let pending = client.erasure_request(&created.id).await.unwrap().unwrap();
    assert_eq!(pending, created);

    assert_eq!(fake.complete_erasures(), 1);
    let done = client.erasure_request(&created.id).await.unwrap().unwrap();
    assert!(done.completed());
    assert!(done.timestamp_completed >= done.timestamp_created);
    assert_eq!(done.summary.as_deref(), Some("1 contact record anonymised"));
    assert!(
        !fake
            .record(RecordType::Contact, "42")
            .unwrap()
            .contains_key("email")
    );

    let all = client.erasure_requests().await.unwrap();
    assert_eq!(all, [done]);
    assert_eq!(client.erasure_request("unknown").await.unwrap(), None);
}

#[tokio::test]
async fn requests_complete_by_themselves_when_the_fake_says_so() {
    let fake = FakeOmetria::start(FakeConfig {
        erasure_completion: ErasureCompletion::After(Duration::from_millis(20)),
        ..FakeConfig::unlimited()
    })
    .await;
    let client = client(&fast(&fake));
    let created = client.request_erasure("ann@example.com").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = client.erasure_request(&created.id).await.unwrap().unwrap();
        if now.completed() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never completed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_gdpr_lane_answers_busy_instead_of_waiting() {
    let fake = fake().await;
    // Default settings: 6 a minute, so one slot every ten seconds.
    let client = client(&settings(&fake));
    client.request_erasure("a@example.com").await.unwrap();

    let started = tokio::time::Instant::now();
    let e = client.request_erasure("b@example.com").await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(1), "did not wait");
    let ErasureError::Busy(wait) = e else {
        panic!("expected Busy, got {e:?}")
    };
    assert!(
        wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
        "{wait:?}"
    );
    assert_eq!(fake.erasure_requests().len(), 1, "nothing sent when busy");
    // Other lanes are not held up.
    assert!(client.erasure_requests().await.is_ok());
}

#[tokio::test]
async fn a_429_pauses_only_the_gdpr_lane() {
    let fake = fake().await;
    let client = client(&fast(&fake));
    for i in 0..6 {
        client
            .request_erasure(&format!("u{i}@example.com"))
            .await
            .unwrap();
    }

    // The fake allows six a minute too: the seventh is refused.
    let e = client.request_erasure("u7@example.com").await.unwrap_err();

    let ErasureError::Failed(e) = e else {
        panic!("expected Failed, got {e:?}")
    };
    assert_eq!(e.status(), Some(429));
    assert!(matches!(
        e.verdict(),
        Verdict::Transient {
            reason: ReasonCode::OmetriaRateLimited,
            ..
        }
    ));
    assert!(client.erasure_rate_limiter().is_paused());
    assert!(!client.rate_limiter().is_paused());
    assert!(matches!(
        client.request_erasure("u7@example.com").await,
        Err(ErasureError::Busy(_))
    ));
    assert_eq!(fake.erasure_requests().len(), 6);
}

#[tokio::test]
async fn bad_requests_are_refused_locally_or_dead_lettered() {
    let fake = fake().await;
    let client = client(&fast(&fake));
    for bad in ["", "   ", "not-an-address"] {
        let e = client.request_erasure(bad).await.unwrap_err();
        assert!(
            matches!(
                e,
                ErasureError::Failed(Error::InvalidRequest {
                    reason: InvalidRequest::NoEmail
                })
            ),
            "{bad:?}: {e:?}"
        );
    }
    assert!(fake.requests().is_empty(), "nothing was sent");

    let mut wrong = fast(&fake);
    wrong.api_key = Some("wrong".into());
    let e = crate::support::client(&wrong)
        .request_erasure("a@example.com")
        .await
        .unwrap_err();
    let ErasureError::Failed(e) = e else {
        panic!("expected Failed, got {e:?}")
    };
    assert_eq!(e.status(), Some(403));
    assert!(matches!(
        e.disposition(),
        Disposition::DeadLetter {
            reason: ReasonCode::OmetriaUnauthorized,
            ..
        }
    ));
}
