use std::time::Duration;

use serde_json::json;
use so_domain::ometria::RecordType;
use so_fake_ometria::{AUTH_HEADER, REJECTED_BY_FAULT};

use crate::support::{client, contact, fake, get, push, synchronous_fake};

#[tokio::test]
async fn fail_next_answers_the_given_status_then_recovers() {
    let fake = fake().await;
    fake.fail_next(2, 503);
    let body = json!([contact("c1", "a@example.com")]);

    let statuses = [
        push(&fake, &body).await.status,
        push(&fake, &body).await.status,
        push(&fake, &body).await.status,
    ];

    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 1);
}

#[tokio::test]
async fn rate_limit_next_answers_429_and_is_counted() {
    let fake = fake().await;
    fake.rate_limit_next(2);
    let body = json!([contact("c1", "a@example.com")]);

    let statuses = [
        push(&fake, &body).await.status,
        push(&fake, &body).await.status,
        push(&fake, &body).await.status,
    ];

    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(fake.rate_limited_responses(), 2);
    assert_eq!(fake.push_requests(), 3);
}

#[tokio::test]
async fn delayed_response_times_out_the_client_but_the_push_took_effect() {
    let fake = fake().await;
    fake.delay_next(1, Duration::from_secs(5));
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();

    let result = short
        .post(format!("{}/v2/push", fake.url()))
        .header(AUTH_HEADER, fake.api_key())
        .body(json!([contact("c1", "a@example.com")]).to_string())
        .send()
        .await;

    assert!(result.unwrap_err().is_timeout());
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 1);
    // The delay was for one response only.
    assert_eq!(
        push(&fake, &json!([contact("c1", "a@example.com")]))
            .await
            .status,
        200
    );
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 2);
}

#[tokio::test]
async fn rejected_ids_are_counted_and_explained_in_errors() {
    let fake = synchronous_fake().await;
    fake.reject_ids(["c2"]);

    let r = push(
        &fake,
        &json!([
            contact("c1", "a@example.com"),
            contact("c2", "b@example.com")
        ]),
    )
    .await;

    assert_eq!(
        (
            r.status,
            r.body["accepted"].as_u64(),
            r.body["rejected"].as_u64()
        ),
        (200, Some(1), Some(1))
    );
    assert!(fake.record(RecordType::Contact, "c2").is_none());
    let errors = fake.push_errors();
    assert_eq!(errors[0]["record_id"], "c2");
    assert_eq!(errors[0]["message"]["error_message"], REJECTED_BY_FAULT);

    fake.clear_faults();
    let r = push(&fake, &json!([contact("c2", "b@example.com")])).await;
    assert_eq!(r.body["rejected"], 0);
}

#[tokio::test]
async fn down_answers_503_everywhere_until_up() {
    let fake = fake().await;
    fake.set_down(true);

    assert_eq!(
        push(&fake, &json!([contact("c1", "a@example.com")]))
            .await
            .status,
        503
    );
    assert_eq!(get(&fake, "/v2/push/_errors").await.status, 503);

    fake.set_down(false);
    assert_eq!(
        push(&fake, &json!([contact("c1", "a@example.com")]))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn stopped_fake_refuses_connections_but_stays_inspectable() {
    let mut fake = fake().await;
    let http = client();
    push(&fake, &json!([contact("c1", "a@example.com")])).await;

    fake.stop().await;

    let err = http
        .get(format!("{}/v2/push/_errors", fake.url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(fake.count(RecordType::Contact), 1);
}

#[tokio::test]
async fn request_log_records_status_count_and_type_in_order() {
    let fake = fake().await;
    fake.fail_next(1, 500);
    push(&fake, &json!([contact("c1", "a@example.com")])).await;
    push(
        &fake,
        &json!([{"@type": "order", "id": "o1"}, {"@type": "order", "id": "o2"}]),
    )
    .await;
    get(&fake, "/v2/push/_errors").await;

    let log = fake.requests();

    let seen: Vec<_> = log
        .iter()
        .map(|r| {
            (
                r.method,
                r.path.as_str(),
                r.status,
                r.records,
                r.record_type,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("POST", "/v2/push", 500, 1, Some(RecordType::Contact)),
            ("POST", "/v2/push", 200, 2, Some(RecordType::Order)),
            ("GET", "/v2/push/_errors", 200, 0, None),
        ]
    );
    assert!(log[0].at <= log[1].at && log[1].at <= log[2].at);
}
