use chrono::{TimeZone, Utc};
use serde_json::json;
use so_fake_ometria::{Unsubscribe, UnsubscribeOrigin};

use crate::support::{fake, get};

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
