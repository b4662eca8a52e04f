//! Asynchronous validation (the default): `OK` with `rejected: 0`, refusals
//! only in `_errors`, in either item shape, optionally after a delay; and
//! the switch that refuses records by field path, and stops.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{ErrorShape, NOT_VALID, REJECTED_BY_FAULT, Validation, ValidationMode};

use crate::support::{contact, fake, get, push};

async fn errors(fake: &so_fake_ometria::FakeOmetria) -> Vec<Value> {
    let r = get(fake, "/v2/push/_errors").await;
    assert_eq!(r.status, 200);
    r.body.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn by_default_a_refused_record_is_accepted_then_listed_in_errors() {
    let fake = fake().await;
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
        (200, Some(2), Some(0))
    );
    assert!(fake.record(RecordType::Contact, "c2").is_none());
    let listed = errors(&fake).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["record_id"], "c2");
    assert_eq!(listed[0]["request_id"], r.body["request_id"]);
    assert_eq!(listed[0]["message"]["error_message"], REJECTED_BY_FAULT);
}

#[tokio::test]
async fn the_documented_shape_lists_only_message_and_path() {
    let fake = fake().await;
    fake.set_validation(Validation {
        shape: ErrorShape::Documented,
        ..Validation::default()
    });
    fake.reject_path(Some(RecordType::Contact), "lastname");
    let mut c = contact("c1", "a@example.com");
    c["lastname"] = json!("Doe");
    push(&fake, &json!([c])).await;
    assert_eq!(
        errors(&fake).await,
        [json!({"error_message": NOT_VALID, "error_path": "root > lastname"})]
    );
}

#[tokio::test]
async fn a_path_rule_refuses_until_stopped() {
    let fake = fake().await;
    fake.reject_path(None, "properties.vip");
    let vip = || {
        let mut c = contact("c1", "a@example.com");
        c["properties"] = json!({"vip": true});
        c
    };
    push(&fake, &json!([vip(), contact("c2", "b@example.com")])).await;
    assert!(fake.record(RecordType::Contact, "c1").is_none());
    assert!(fake.record(RecordType::Contact, "c2").is_some());
    assert_eq!(
        errors(&fake).await[0]["message"]["error_path"],
        "root > properties > vip"
    );
    fake.stop_rejecting();
    push(&fake, &json!([vip()])).await;
    assert!(fake.record(RecordType::Contact, "c1").is_some());
    assert_eq!(errors(&fake).await.len(), 1);
}

#[tokio::test]
async fn errors_can_appear_after_a_delay() {
    let fake = fake().await;
    fake.set_validation(Validation {
        visible_after: Duration::from_millis(300),
        ..Validation::default()
    });
    fake.reject_ids(["c1"]);
    push(&fake, &json!([contact("c1", "a@example.com")])).await;
    assert!(errors(&fake).await.is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(errors(&fake).await.len(), 1);
}

#[tokio::test]
async fn the_synchronous_mode_counts_path_refusals_in_the_response() {
    let fake = fake().await;
    fake.set_validation(Validation {
        mode: ValidationMode::Synchronous,
        ..Validation::default()
    });
    fake.reject_path(None, "email");
    let r = push(&fake, &json!([contact("c1", "a@example.com")])).await;
    assert_eq!(r.body["rejected"], 1);
    assert_eq!(errors(&fake).await.len(), 1);
}
