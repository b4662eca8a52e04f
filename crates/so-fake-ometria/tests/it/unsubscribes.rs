use chrono::{TimeZone, Utc};
use serde_json::json;
use so_fake_ometria::{Unsubscribe, UnsubscribeOrigin};

use crate::support::{fake, get, push};

#[tokio::test]
async fn lists_unsubscribes_in_window_excluding_api_originated() {
    let fake = fake().await;
    let at = |h| Utc.with_ymd_and_hms(2024, 3, 1, h, 5, 9).unwrap();
    let mut listed = Unsubscribe::new("a@example.com", "link_unsubscribe", at(10));
    listed.profile_id = Some("p-1".to_owned());
    fake.add_unsubscribe(listed);
    fake.add_unsubscribe(Unsubscribe::new(
        "b@example.com",
        "preferences_centre",
        at(11),
    ));
    fake.add_unsubscribe(Unsubscribe::new("early@example.com", "app", at(1)));
    fake.add_unsubscribe(Unsubscribe {
        origin: UnsubscribeOrigin::Api,
        ..Unsubscribe::new("api@example.com", "app", at(10))
    });

    let r = get(
        &fake,
        "/v2/unsubscribes?since=2024-03-01T09:00:00&before=2024-03-01T12:00:00",
    )
    .await;
    let typed = get(&fake, "/v2/unsubscribes?since=2024-03-01T00:00:00&type=app").await;

    assert_eq!(r.status, 200);
    assert_eq!(
        r.body[0],
        json!({"email_address": "a@example.com", "profile_id": "p-1", "reason": null,
               "timestamp": "2024-03-01 10:05:09+00", "type": "link_unsubscribe"})
    );
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let emails: Vec<_> = typed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email_address"].clone())
        .collect();
    assert_eq!(emails, [json!("early@example.com")]);
}

#[tokio::test]
async fn unsubscribes_need_auth_and_valid_times() {
    let fake = fake().await;
    assert_eq!(
        get(&fake, "/v2/unsubscribes?since=yesterday").await.status,
        400
    );
    let r = crate::support::client()
        .get(format!("{}/v2/unsubscribes", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn an_unsubscribe_opts_the_profile_out_until_it_resubscribes() {
    let fake = fake().await;
    push(
        &fake,
        &json!([
            {"@type": "contact", "@collection": "customers", "id": "42", "customer_id": "42",
             "email": "ann@example.com", "marketing_optin": "EXPLICITLY_OPTEDIN"},
        ]),
    )
    .await;
    let id = fake.profiles()[0]["id"].as_str().unwrap().to_owned();
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap();

    let u = fake
        .unsubscribe_profile(&id, "link_unsubscribe", at)
        .unwrap();
    assert_eq!(u.email_address, "ann@example.com");
    let profile = get(&fake, &format!("/v2/profiles/{id}")).await.body;
    assert_eq!(profile["marketing_optin"], "EXPLICITLY_OPTEDOUT");
    let listed = get(&fake, "/v2/unsubscribes?since=2024-03-01T00:00:00").await;
    assert_eq!(listed.body[0]["profile_id"], id.as_str());
    assert_eq!(listed.body[0]["timestamp"], "2024-03-01 10:00:00+00");

    // An unforced push does not undo an unsubscribe made in Ometria.
    push(&fake, &json!([
        {"@type": "contact", "@collection": "customers", "id": "42", "marketing_optin": "EXPLICITLY_OPTEDIN"},
    ]))
    .await;
    assert_eq!(fake.profiles()[0]["marketing_optin"], "EXPLICITLY_OPTEDOUT");

    assert!(fake.resubscribe_profile(&id));
    let profile = get(&fake, &format!("/v2/profiles/{id}")).await.body;
    assert_eq!(profile["marketing_optin"], "EXPLICITLY_OPTEDIN");
    // The event history stays.
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(!fake.resubscribe_profile("no-such-profile"));
    assert!(
        fake.unsubscribe_profile("no-such-profile", "app", at)
            .is_none()
    );

    // A forced push after the re-subscribe wins again.
    push(
        &fake,
        &json!([
            {"@type": "contact", "@collection": "customers", "id": "42",
             "marketing_optin": "EXPLICITLY_OPTEDOUT", "@force_optin": true},
        ]),
    )
    .await;
    assert_eq!(fake.profiles()[0]["marketing_optin"], "EXPLICITLY_OPTEDOUT");
}

#[tokio::test]
async fn an_unsubscribe_by_email_finds_its_profile_and_spares_others() {
    let fake = fake().await;
    push(
        &fake,
        &json!([
            {"@type": "contact", "id": "a", "customer_id": "1", "email": "Ann@Example.com"},
            {"@type": "contact", "id": "b", "customer_id": "2", "email": "bob@example.com"},
        ]),
    )
    .await;
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap();

    fake.add_unsubscribe(Unsubscribe::new(
        "ann@example.com",
        "preferences_centre",
        at,
    ));
    // API-originated: not listed, but still a consent change.
    fake.add_unsubscribe(Unsubscribe {
        origin: UnsubscribeOrigin::Api,
        ..Unsubscribe::new("nobody@example.com", "app", at)
    });

    let ann = &fake.profiles_by_email("ann@example.com")[0];
    let bob = &fake.profiles_by_email("bob@example.com")[0];
    assert_eq!(ann["marketing_optin"], "EXPLICITLY_OPTEDOUT");
    assert_eq!(bob["marketing_optin"], json!(null));
    let listed = get(&fake, "/v2/unsubscribes?since=2024-03-01T10:00:00").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["profile_id"], ann["id"]);
    // `before` is exclusive, `since` inclusive.
    let none = get(
        &fake,
        "/v2/unsubscribes?since=2024-03-01T09:00:00&before=2024-03-01T10:00:00",
    )
    .await;
    assert_eq!(none.body, json!([]));
}
