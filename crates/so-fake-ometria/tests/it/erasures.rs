use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{ErasureCompletion, FakeConfig, FakeOmetria, RateLimit};

use crate::support::{Reply, eventually, fake, get, post_as, push};

const PATH: &str = "/v2/data-deletion-requests";

async fn request(fake: &FakeOmetria, body: &Value) -> Reply {
    post_as(fake, PATH, Some(fake.api_key()), body.to_string()).await
}

/// Postgres style, `"2017-02-04 10:18:12.833949+00"`.
fn postgres_time(v: &Value) -> DateTime<Utc> {
    let raw = v.as_str().unwrap();
    assert!(!raw.contains('T') && raw.ends_with("+00"), "{raw}");
    DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%#z")
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn create_returns_the_pending_request_and_lists_and_details_show_it() {
    let fake = fake().await;
    let r = request(
        &fake,
        &json!({"email": "Ann@Example.com", "comment": "customers/redact"}),
    )
    .await;

    assert_eq!(r.status, 201);
    let created = r.body;
    assert_eq!(created["action"], "anonymise");
    assert_eq!(created["comment"], "customers/redact");
    assert_eq!(created["source"]["origin"], "api");
    assert!(created["source"]["api_request_id"].is_string());
    assert_eq!(created["summary"], json!(null));
    assert_eq!(created["timestamp_completed"], json!(null));
    let age = Utc::now() - postgres_time(&created["timestamp_created"]);
    assert!(age.num_seconds().abs() < 60);
    let id = created["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let hashed = created["identities"][0]["hashed_email"].as_str().unwrap();
    let (hex, domain) = hashed.split_once('@').unwrap();
    assert_eq!((hex.len(), domain), (32, "anonymous.ometria"));
    assert!(!created.to_string().contains("Ann@Example.com"));

    let list = get(&fake, PATH).await;
    assert_eq!((list.status, &list.body), (200, &json!([created.clone()])));
    let one = get(&fake, &format!("{PATH}/{id}")).await;
    assert_eq!((one.status, &one.body), (200, &created));
    assert_eq!(get(&fake, &format!("{PATH}/nope")).await.status, 404);
    assert_eq!(fake.erasure_requests(), [created]);
}

#[tokio::test]
async fn create_needs_the_api_key_and_an_email() {
    let fake = fake().await;
    for key in [None, Some("wrong")] {
        let r = post_as(
            &fake,
            PATH,
            key,
            json!({"email": "a@example.com"}).to_string(),
        )
        .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.body["message"],
            "API key is not authorised to access this resource."
        );
    }
    let r = crate::support::client()
        .get(format!("{}{PATH}", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    for bad in [
        json!({}),
        json!({"email": ""}),
        json!({"email": "not-an-address"}),
        json!({"email_address": "a@example.com"}),
        json!(["a@example.com"]),
    ] {
        let r = request(&fake, &bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["status"], "ERROR");
    }
    let r = post_as(&fake, PATH, Some(fake.api_key()), "{".to_owned()).await;
    assert_eq!(r.status, 400);
    assert!(fake.erasure_requests().is_empty());
}

#[tokio::test]
async fn six_requests_a_minute_then_429_json() {
    let fake = fake().await;
    // Refused bodies do not use the budget.
    assert_eq!(request(&fake, &json!({})).await.status, 400);
    for i in 0..6 {
        let r = request(&fake, &json!({"email": format!("u{i}@example.com")})).await;
        assert_eq!(r.status, 201, "request {i}");
    }
    let r = request(&fake, &json!({"email": "u7@example.com"})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["status"], "ERROR");
    assert_eq!(fake.erasure_requests().len(), 6);
    assert_eq!(fake.rate_limited_responses(), 1);
    // Reads and pushes have budgets of their own.
    assert_eq!(get(&fake, PATH).await.status, 200);
    assert_eq!(
        push(
            &fake,
            &json!([{"@type": "contact", "id": "c", "email": "c@example.com"}])
        )
        .await
        .status,
        200
    );

    fake.set_gdpr_rate_limit(RateLimit::Unlimited);
    assert_eq!(
        request(&fake, &json!({"email": "u7@example.com"}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn completion_anonymises_the_email_s_contacts_orders_and_events() {
    let fake = crate::support::shared_identifiers_fake().await;
    push(
        &fake,
        &json!([
            {"@type": "contact", "@collection": "customers", "id": "42", "customer_id": "42",
             "email": "ann@example.com", "firstname": "Ann", "lastname": "Lee",
             "phone_number": "+447700900000", "marketing_optin": "EXPLICITLY_OPTEDIN"},
            {"@type": "contact", "@collection": "subscribers", "id": "s1", "customer_id": "42",
             "firstname": "Annie"},
            {"@type": "contact", "@collection": "customers", "id": "43", "customer_id": "43",
             "email": "bob@example.com", "firstname": "Bob"},
        ]),
    )
    .await;
    push(&fake, &json!([
        {"@type": "order", "id": "o1", "timestamp": "2024-05-01T10:00:00Z", "grand_total": 1,
         "currency": "GBP", "customer": {"id": "42", "email": "ann@example.com", "firstname": "Ann"},
         "shipping_address": {"firstname": "Ann", "city": "Leeds"}},
        {"@type": "order", "id": "o2", "timestamp": "2024-05-01T10:00:00Z", "grand_total": 1,
         "currency": "GBP", "customer": {"id": "43", "email": "bob@example.com"}},
    ]))
    .await;
    let created = request(&fake, &json!({"email": "ANN@example.com"}))
        .await
        .body;
    let id = created["id"].as_str().unwrap().to_owned();

    // Pending: nothing removed yet.
    assert_eq!(
        fake.record(RecordType::Contact, "42").unwrap()["firstname"],
        "Ann"
    );
    assert_eq!(fake.complete_erasures(), 1);
    assert_eq!(fake.complete_erasures(), 0);
    assert!(!fake.complete_erasure(&id));

    let done = get(&fake, &format!("{PATH}/{id}")).await.body;
    assert!(
        postgres_time(&done["timestamp_completed"]) >= postgres_time(&done["timestamp_created"])
    );
    assert_eq!(
        done["summary"],
        "2 contact records anonymised, 1 order anonymised"
    );
    let ann = fake
        .record_in(RecordType::Contact, Some("customers"), "42")
        .unwrap();
    for field in ["email", "firstname", "lastname", "phone_number"] {
        assert!(!ann.contains_key(field), "{field} kept");
    }
    assert_eq!(ann["customer_id"], "42");
    assert_eq!(ann["marketing_optin"], "EXPLICITLY_OPTEDIN");
    let sibling = fake
        .record_in(RecordType::Contact, Some("subscribers"), "s1")
        .unwrap();
    assert!(!sibling.contains_key("firstname"));
    let o1 = fake.record(RecordType::Order, "o1").unwrap();
    assert_eq!(o1["customer"], json!({"id": "42"}));
    assert_eq!(o1["shipping_address"], json!({"city": "Leeds"}));
    // Nobody else is touched, and nothing counts as a push write.
    assert_eq!(
        fake.record(RecordType::Contact, "43").unwrap()["firstname"],
        "Bob"
    );
    assert_eq!(
        fake.record(RecordType::Order, "o2").unwrap()["customer"]["email"],
        "bob@example.com"
    );
    assert_eq!(fake.write_count(RecordType::Contact, "42"), 1);
    assert!(fake.profiles_by_email("ann@example.com").is_empty());
}

#[tokio::test]
async fn an_erased_unsubscribe_keeps_only_the_hashed_email() {
    let fake = fake().await;
    let at = Utc::now();
    fake.add_unsubscribe(so_fake_ometria::Unsubscribe::new(
        "ann@example.com",
        "app",
        at,
    ));
    let created = request(&fake, &json!({"email": "ann@example.com"}))
        .await
        .body;
    assert_eq!(fake.complete_erasures(), 1);

    let listed = get(&fake, "/v2/unsubscribes?since=2000-01-01T00:00:00")
        .await
        .body;
    assert_eq!(
        listed[0]["email_address"],
        created["identities"][0]["hashed_email"]
    );
    assert_eq!(
        fake.erasure_requests()[0]["summary"],
        "0 contact records anonymised"
    );
}

#[tokio::test]
async fn requests_can_complete_by_themselves_after_a_delay() {
    let fake = FakeOmetria::start(FakeConfig {
        erasure_completion: ErasureCompletion::After(Duration::from_millis(50)),
        ..FakeConfig::unlimited()
    })
    .await;
    push(
        &fake,
        &json!([{"@type": "contact", "id": "c1", "email": "ann@example.com"}]),
    )
    .await;
    let created = request(&fake, &json!({"email": "ann@example.com"}))
        .await
        .body;
    assert_eq!(created["timestamp_completed"], json!(null));

    eventually(Duration::from_secs(5), || {
        !fake.erasure_requests()[0]["timestamp_completed"].is_null()
    })
    .await;
    assert_eq!(
        fake.erasure_requests()[0]["summary"],
        "1 contact record anonymised"
    );
    assert!(
        !fake
            .record(RecordType::Contact, "c1")
            .unwrap()
            .contains_key("email")
    );
}
