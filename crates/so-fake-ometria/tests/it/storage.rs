use serde_json::json;
use so_domain::ometria::RecordType;
use so_fake_ometria::NOT_VALID;

use crate::support::{contact, fake, get, order, push};

#[tokio::test]
async fn push_merges_supplied_fields_into_the_existing_record() {
    let fake = fake().await;
    push(
        &fake,
        &json!([{"@type": "contact", "id": "c1", "email": "a@example.com", "firstname": "Ann"}]),
    )
    .await;

    push(
        &fake,
        &json!([{"@type": "contact", "id": "c1", "lastname": "Lee"}]),
    )
    .await;

    let c = fake.record(RecordType::Contact, "c1").unwrap();
    assert_eq!(
        (
            c["email"].as_str(),
            c["firstname"].as_str(),
            c["lastname"].as_str()
        ),
        (Some("a@example.com"), Some("Ann"), Some("Lee"))
    );
    assert_eq!(fake.count(RecordType::Contact), 1);
    assert_eq!(fake.write_count(RecordType::Contact, "c1"), 2);
}

#[tokio::test]
async fn same_id_in_two_collections_is_two_records() {
    let fake = fake().await;
    let mut a = contact("7", "a@example.com");
    a["@collection"] = json!("customers");
    let mut b = contact("7", "b@example.com");
    b["@collection"] = json!("subscribers");

    push(&fake, &json!([a, b])).await;

    assert_eq!(fake.count(RecordType::Contact), 2);
    let sub = fake
        .record_in(RecordType::Contact, Some("subscribers"), "7")
        .unwrap();
    assert_eq!(sub["email"], "b@example.com");
    assert_eq!(fake.write_count(RecordType::Contact, "7"), 2);
}

#[tokio::test]
async fn invalid_records_are_accepted_then_reported_in_errors_not_applied() {
    let fake = fake().await;
    let mut bad = order("o2");
    bad.as_object_mut().unwrap().remove("currency");
    let mut bad_optin = contact("c1", "a@example.com");
    bad_optin["marketing_optin"] = json!("YES");

    let r = push(&fake, &json!([order("o1"), bad])).await;
    push(&fake, &json!([bad_optin])).await;

    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(fake.record(RecordType::Order, "o1").is_some());
    assert!(fake.record(RecordType::Order, "o2").is_none());
    assert!(fake.record(RecordType::Contact, "c1").is_none());

    let listed = get(&fake, "/v2/push/_errors").await;
    assert_eq!(listed.status, 200);
    let errors = listed.body.as_array().unwrap();
    assert_eq!(errors.len(), 2);
    // Newest first.
    assert_eq!(errors[0]["record_id"], "c1");
    assert_eq!(errors[0]["message"]["error_message"], NOT_VALID);
    assert_eq!(errors[0]["message"]["error_path"], "root > marketing_optin");
    assert_eq!(errors[1]["record_id"], "o2");
    assert_eq!(errors[1]["record_type"], "order");
    assert_eq!(errors[1]["message"]["error_path"], "root > currency");
}

#[tokio::test]
async fn contact_without_any_identifier_is_invalid() {
    let fake = fake().await;

    push(
        &fake,
        &json!([{"@type": "contact", "id": "c1", "firstname": "Ann"}]),
    )
    .await;

    assert_eq!(fake.count(RecordType::Contact), 0);
    assert_eq!(fake.push_errors()[0]["message"]["error_path"], "root");
}

#[tokio::test]
async fn errors_keep_only_the_latest_100() {
    let fake = fake().await;
    let bad: Vec<_> = (0..60)
        .map(|i| json!({"@type": "order", "id": format!("o{i}")}))
        .collect();

    // Each bad order yields 3 errors (timestamp, grand_total, currency).
    push(&fake, &json!(bad)).await;

    let errors = fake.push_errors();
    assert_eq!(errors.len(), 100);
    assert_eq!(errors[0]["record_id"], "o59");
}
