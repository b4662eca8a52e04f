//! The write log and held answers, as a test of the service sees them.

use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;

use crate::support::{contact, fake, push};

#[tokio::test]
async fn every_write_is_logged_with_its_version_even_when_the_record_is_rewritten() {
    let fake = fake().await;
    fake.version_writes_by("email");
    push(&fake, &json!([contact("c1", "v1@example.com")])).await;
    push(&fake, &json!([contact("c1", "v2@example.com")])).await;
    push(&fake, &json!([contact("c1", "v2@example.com")])).await;

    let log = fake.write_log();
    let versions: Vec<_> = log
        .iter()
        .map(|w| (w.key.id.as_str(), w.version.as_deref()))
        .collect();
    assert_eq!(
        versions,
        [
            ("c1", Some("v1@example.com")),
            ("c1", Some("v2@example.com")),
            ("c1", Some("v2@example.com")),
        ]
    );
    assert_eq!(fake.count(RecordType::Contact), 1, "one distinct record");
    assert_eq!(fake.writes_applied(), 3);
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test]
async fn nothing_is_logged_unless_a_test_asks() {
    let fake = fake().await;
    push(&fake, &json!([contact("c1", "v1@example.com")])).await;
    assert_eq!(fake.writes_applied(), 0);
    fake.log_writes();
    push(&fake, &json!([contact("c1", "v2@example.com")])).await;
    let log = fake.write_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].version, None, "no version path named");
}

#[tokio::test]
async fn a_held_push_has_taken_effect_and_is_in_flight_until_released() {
    let fake = fake().await;
    fake.log_writes();
    fake.hold_responses(true);
    let url = format!("{}/v2/push", fake.url());
    let key = fake.api_key().to_owned();
    let held = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header(so_fake_ometria::AUTH_HEADER, key)
            .body(
                json!([
                    contact("c1", "a@example.com"),
                    contact("c2", "b@example.com")
                ])
                .to_string(),
            )
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    let started = tokio::time::Instant::now();
    while fake.pushes_in_flight().pushes == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "push never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.pushes_in_flight().records, 2);
    assert_eq!(fake.writes_applied(), 2, "applied before the answer");
    assert!(!held.is_finished());

    fake.hold_responses(false);
    assert_eq!(held.await.unwrap().unwrap(), 200);
    assert_eq!(fake.pushes_in_flight().pushes, 0);
}
