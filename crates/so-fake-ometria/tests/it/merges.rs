use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::AUTH_HEADER;

use crate::support::{client, fake, push};

async fn merge(fake: &so_fake_ometria::FakeOmetria, body: Value) -> (u16, Option<String>, Value) {
    let r = client()
        .post(format!("{}/v2/merge-profile", fake.url()))
        .header(AUTH_HEADER, fake.api_key())
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

fn customer(id: &str) -> Value {
    json!({"@type": "contact", "id": id, "customer_id": id, "email": format!("{id}@example.com")})
}

#[tokio::test]
async fn merge_profile_deletes_the_merged_listings_and_allows_one_request_a_minute() {
    let fake = fake().await;
    assert_eq!(
        push(&fake, &json!([customer("42"), customer("77")]))
            .await
            .status,
        200
    );
    let body = json!({
        "survivor": {"type": "customer_id", "value": "42"},
        "customers_to_merge": [{"type": "customer_id", "value": "77"}]
    });
    let (status, _, job) = merge(&fake, body.clone()).await;
    assert_eq!(status, 202);
    assert_eq!(job["status"], "completed");
    assert!(fake.record(RecordType::Contact, "77").is_none());
    assert!(fake.record(RecordType::Contact, "42").is_some());

    let (status, retry, _) = merge(&fake, body).await;
    assert_eq!((status, retry.as_deref()), (429, Some("60")));
    assert_eq!(fake.merges().len(), 1);
}

#[tokio::test]
async fn merge_profile_refuses_malformed_requests_and_fails_unresolved_jobs() {
    let fake = fake().await;
    for bad in [
        json!({"customers_to_merge": [{"type": "customer_id", "value": "1"}]}),
        json!({"survivor": {"type": "customer_id", "value": "1"}, "customers_to_merge": []}),
        json!({"survivor": {"type": "nickname", "value": "1"}, "customers_to_merge": [{"type": "customer_id", "value": "2"}]}),
        json!({"survivor": {"type": "customer_id", "value": "1"},
               "customers_to_merge": (0..6).map(|i| json!({"type": "customer_id", "value": i.to_string()})).collect::<Vec<_>>()}),
    ] {
        let (status, _, err) = merge(&fake, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    // Nothing resolves: the request is taken, the job fails.
    let (status, _, job) = merge(
        &fake,
        json!({"survivor": {"type": "customer_id", "value": "1"},
               "customers_to_merge": [{"type": "email_address", "value": "x@example.com"}]}),
    )
    .await;
    assert_eq!((status, job["status"].as_str()), (202, Some("failed")));
}

#[tokio::test]
async fn merge_by_email_takes_the_emails_owner_whatever_its_case_and_frees_the_email() {
    let fake = fake().await;
    push(&fake, &json!([
        {"@type": "contact", "@collection": "guests", "id": "g1", "email": "Jo@Example.com"},
        {"@type": "contact", "@collection": "customers", "id": "42", "customer_id": "42", "email": "jo@example.com"},
    ]))
    .await;
    // The post-2024 rule: the guest owns the email, the account did not get it.
    assert!(
        fake.record_in(RecordType::Contact, Some("customers"), "42")
            .unwrap()
            .get("email")
            .is_none()
    );
    let (status, _, job) = merge(
        &fake,
        json!({"survivor": {"type": "customer_id", "value": "42"},
               "customers_to_merge": [{"type": "email_address", "value": "jo@example.com"}]}),
    )
    .await;
    assert_eq!((status, job["status"].as_str()), (202, Some("completed")));
    assert!(
        fake.record_in(RecordType::Contact, Some("guests"), "g1")
            .is_none()
    );
    // The email is free: the account's next push takes it.
    push(&fake, &json!([{"@type": "contact", "@collection": "customers", "id": "42", "customer_id": "42", "email": "jo@example.com"}])).await;
    let holder = fake.contact_holding("email", "JO@example.com").unwrap();
    assert_eq!(holder.id, "42");
}
