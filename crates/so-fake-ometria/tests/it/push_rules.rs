use serde_json::{Value, json};
use so_domain::ometria::{MAX_RECORD_BYTES, RecordType};
use so_fake_ometria::{QUEUE_LIMIT_HEADER, QUEUE_REMAINING_HEADER, TOO_LARGE};

use crate::support::{contact, fake, push, push_as, synchronous_fake};

#[tokio::test]
async fn missing_or_wrong_api_key_gets_403_json_with_queue_headers() {
    let fake = fake().await;
    let body = json!([contact("c1", "a@example.com")]).to_string();

    for key in [None, Some("wrong")] {
        let r = push_as(&fake, key, body.clone()).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["status"], "ERROR");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("not authorised")
        );
        assert_eq!(r.header(QUEUE_LIMIT_HEADER), Some(50_000));
    }
    assert_eq!(fake.count(RecordType::Contact), 0);
    assert_eq!(fake.push_requests(), 2);
}

#[tokio::test]
async fn accepted_push_answers_ok_with_request_id_counts_and_queue_headers() {
    let fake = fake().await;

    let r = push(
        &fake,
        &json!([
            contact("c1", "a@example.com"),
            contact("c2", "b@example.com")
        ]),
    )
    .await;

    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "OK");
    assert_eq!(r.body["accepted"], 2);
    assert_eq!(r.body["rejected"], 0);
    let id = r.body["request_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "request_id {id} is a uuid"
    );
    assert_eq!(r.header(QUEUE_LIMIT_HEADER), Some(50_000));
    assert_eq!(r.header(QUEUE_REMAINING_HEADER), Some(50_000));
    assert_eq!(fake.count(RecordType::Contact), 2);
}

#[tokio::test]
async fn malformed_requests_get_400_and_change_nothing() {
    let fake = fake().await;
    let too_many: Vec<Value> = (0..101)
        .map(|i| contact(&i.to_string(), "a@example.com"))
        .collect();
    let cases = [
        ("not json", "{nope".to_owned()),
        (
            "object not array",
            contact("c1", "a@example.com").to_string(),
        ),
        ("empty array", "[]".to_owned()),
        ("over 100 records", Value::Array(too_many).to_string()),
        (
            "mixed types",
            json!([contact("c1", "a@example.com"), {"@type": "order", "id": "o1"}]).to_string(),
        ),
        (
            "missing @type",
            json!([{"id": "c1", "email": "a@example.com"}]).to_string(),
        ),
        (
            "unknown @type",
            json!([{"@type": "basket", "id": "b1"}]).to_string(),
        ),
        (
            "missing id",
            json!([{"@type": "contact", "email": "a@example.com"}]).to_string(),
        ),
        ("non-object record", json!(["c1"]).to_string()),
    ];
    for (name, body) in cases {
        let r = push_as(&fake, Some(fake.api_key()), body).await;
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.body["status"], "ERROR", "{name}");
        assert!(r.header(QUEUE_REMAINING_HEADER).is_some(), "{name}");
    }
    assert!(fake.write_counts().is_empty());
}

#[tokio::test]
async fn exactly_100_records_are_accepted() {
    let fake = fake().await;
    let hundred: Vec<Value> = (0..100)
        .map(|i| contact(&i.to_string(), "a@example.com"))
        .collect();

    let r = push(&fake, &Value::Array(hundred)).await;

    assert_eq!(r.status, 200);
    assert_eq!(r.body["accepted"], 100);
}

#[tokio::test]
async fn oversized_record_is_rejected_alone_with_documented_error() {
    let fake = synchronous_fake().await;
    let mut big = contact("big", "big@example.com");
    big["properties"] = json!({"blob": "x".repeat(MAX_RECORD_BYTES)});

    let r = push(
        &fake,
        &json!([
            contact("c1", "a@example.com"),
            big,
            contact("c2", "b@example.com")
        ]),
    )
    .await;

    assert_eq!(r.status, 200);
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(fake.record(RecordType::Contact, "big").is_none());
    assert_eq!(fake.count(RecordType::Contact), 2);
    let errors = fake.push_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["record_id"], "big");
    assert_eq!(errors[0]["message"]["error_message"], TOO_LARGE);
    assert_eq!(errors[0]["request_id"], r.body["request_id"]);
}
