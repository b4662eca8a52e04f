use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;
use so_domain::ReasonCode;
use so_domain::ometria::RecordType;
use so_fake_ometria::{Unsubscribe as FakeUnsubscribe, UnsubscribeOrigin};
use so_ometria::{MarketingOptin, Unsubscribe, Verdict};

use crate::support::{client, fake, rec, settings};

fn customer(id: &str, email: &str) -> so_domain::ometria::PushRecord {
    rec(
        RecordType::Contact,
        id,
        json!({"@collection": "customers", "customer_id": id, "email": email,
               "marketing_optin": "EXPLICITLY_OPTEDIN"}),
    )
}

#[tokio::test]
async fn unsubscribes_in_a_window_are_read_with_their_profile() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    client
        .push(
            RecordType::Contact,
            &[
                customer("42", "ann@example.com"),
                customer("43", "bob@example.com"),
            ],
        )
        .await
        .unwrap();
    let ann = fake.profiles_by_email("ann@example.com")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = |h, m, s| Utc.with_ymd_and_hms(2024, 3, 1, h, m, s).unwrap();
    fake.unsubscribe_profile(&ann, "link_unsubscribe", at(10, 0, 0))
        .unwrap();
    fake.add_unsubscribe(FakeUnsubscribe::new(
        "early@example.com",
        "app",
        at(8, 0, 0),
    ));
    fake.add_unsubscribe(FakeUnsubscribe::new(
        "late@example.com",
        "app",
        at(12, 0, 0),
    ));
    fake.add_unsubscribe(FakeUnsubscribe {
        origin: UnsubscribeOrigin::Api,
        ..FakeUnsubscribe::new("bob@example.com", "app", at(10, 30, 0))
    });

    // Sub-second parts are dropped: `since` 10:00:00.7 still covers 10:00:00.
    let since = at(10, 0, 0) + TimeDelta::milliseconds(700);
    let list = client
        .unsubscribes(since, Some(at(12, 0, 0)))
        .await
        .unwrap();

    assert_eq!(
        list,
        [Unsubscribe {
            email_address: Some("ann@example.com".to_owned()),
            profile_id: Some(ann.clone()),
            reason: None,
            timestamp: at(10, 0, 0),
            kind: "link_unsubscribe".to_owned(),
        }]
    );
    let open_ended = client.unsubscribes(at(9, 0, 0), None).await.unwrap();
    assert_eq!(open_ended.len(), 2, "API-originated ones are never listed");
    let log = fake.requests();
    let reads: Vec<_> = log.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(reads.len(), 2);
    assert!(
        reads
            .iter()
            .all(|r| r.path == "/v2/unsubscribes" && r.status == 200)
    );
}

#[tokio::test]
async fn a_profile_shows_whether_it_is_still_unsubscribed() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    client
        .push(
            RecordType::Contact,
            &[customer("42", "ann+shop@example.com")],
        )
        .await
        .unwrap();

    // `+` must reach Ometria encoded, not as a space.
    let found = client
        .profiles_by_email("ann+shop@example.com")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let id = found[0].id.clone();
    assert_eq!(found[0].customer_id.as_deref(), Some("42"));
    assert_eq!(found[0].email.as_deref(), Some("ann+shop@example.com"));
    assert_eq!(
        found[0].marketing_optin,
        Some(MarketingOptin::ExplicitlyOptedIn)
    );
    assert_eq!(found[0].identities[0].id.as_deref(), Some("42"));
    assert!(
        client
            .profiles_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    fake.unsubscribe_profile(&id, "preferences_centre", Utc::now())
        .unwrap();
    let profile = client.profile(&id).await.unwrap().unwrap();
    assert!(profile.is_opted_out());

    fake.resubscribe_profile(&id);
    let profile = client.profile(&id).await.unwrap().unwrap();
    assert!(!profile.is_opted_out());
    assert_eq!(client.profile("no-such-profile").await.unwrap(), None);
    // An id is one path segment, whatever it holds.
    assert_eq!(client.profile("a/b?c").await.unwrap(), None);
}

#[tokio::test]
async fn reads_share_the_push_lane_and_classify_failures() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.gdpr_requests_per_minute = 6e9;
    let client = client(&s);

    fake.rate_limit_next(1);
    let e = client.unsubscribes(Utc::now(), None).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert!(e.verdict().is_transient());
    assert!(
        client.rate_limiter().is_paused(),
        "the account's budget pauses"
    );
    assert!(!client.erasure_rate_limiter().is_paused());

    fake.fail_next(1, 503);
    let e = client.profile("p").await.unwrap_err();
    assert!(e.verdict().is_transient());

    let mut wrong = settings(&fake);
    wrong.api_key = Some("wrong".into());
    let e = crate::support::client(&wrong)
        .profiles_by_email("a@example.com")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert_eq!(
        e.verdict(),
        Verdict::Permanent {
            reason: ReasonCode::OmetriaUnauthorized
        }
    );
}
