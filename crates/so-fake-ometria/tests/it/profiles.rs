use serde_json::json;

use crate::support::{fake, get, push, shared_identifiers_fake};

#[tokio::test]
async fn listings_sharing_a_customer_id_form_one_profile() {
    let fake = shared_identifiers_fake().await;
    push(&fake, &json!([
        {"@type": "contact", "@collection": "customers", "id": "1", "customer_id": "42", "email": "ann@example.com"},
        {"@type": "contact", "@collection": "subscribers", "id": "s1", "customer_id": "42", "email": "ann@example.com", "firstname": "Ann"},
    ])).await;

    let profiles = fake.profiles();

    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["customer_id"], "42");
    assert_eq!(profiles[0]["firstname"], "Ann");
    assert_eq!(profiles[0]["identities"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn email_only_contact_and_later_customer_share_a_profile() {
    let fake = shared_identifiers_fake().await;
    push(
        &fake,
        &json!([{"@type": "contact", "id": "sub-1", "email": "Ann@Example.com"}]),
    )
    .await;
    push(&fake, &json!([{"@type": "contact", "id": "cust-1", "customer_id": "42", "email": "ann@example.com"}])).await;

    let profiles = fake.profiles_by_email("ann@example.com");

    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["customer_id"], "42");
}

#[tokio::test]
async fn same_email_with_different_customer_ids_stays_separate() {
    let fake = shared_identifiers_fake().await;
    push(
        &fake,
        &json!([
            {"@type": "contact", "id": "a", "customer_id": "1", "email": "shared@example.com"},
            {"@type": "contact", "id": "b", "customer_id": "2", "email": "shared@example.com"},
        ]),
    )
    .await;

    assert_eq!(fake.profiles_by_email("shared@example.com").len(), 2);
}

#[tokio::test]
async fn unforced_opt_out_wins_but_a_forced_opt_in_overrides_it() {
    let fake = shared_identifiers_fake().await;
    push(&fake, &json!([
        {"@type": "contact", "@collection": "a", "id": "1", "customer_id": "7", "marketing_optin": "EXPLICITLY_OPTEDOUT"},
        {"@type": "contact", "@collection": "b", "id": "1", "customer_id": "7", "marketing_optin": "EXPLICITLY_OPTEDIN"},
    ])).await;
    assert_eq!(fake.profiles()[0]["marketing_optin"], "EXPLICITLY_OPTEDOUT");

    push(&fake, &json!([
        {"@type": "contact", "@collection": "b", "id": "1", "marketing_optin": "EXPLICITLY_OPTEDIN", "@force_optin": true},
    ])).await;
    assert_eq!(fake.profiles()[0]["marketing_optin"], "EXPLICITLY_OPTEDIN");
}

#[tokio::test]
async fn profiles_are_readable_over_http_by_email_and_id() {
    let fake = fake().await;
    push(
        &fake,
        &json!([{"@type": "contact", "id": "c1", "customer_id": "42", "email": "ann@example.com"}]),
    )
    .await;

    let by_email = get(&fake, "/v2/profiles?email=ann%40example.com").await;
    let none = get(&fake, "/v2/profiles?email=bob%40example.com").await;

    assert_eq!(by_email.status, 200);
    let list = by_email.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["@type"], "profile");
    assert_eq!(none.body, json!([]));

    let id = list[0]["id"].as_str().unwrap();
    let one = get(&fake, &format!("/v2/profiles/{id}")).await;
    assert_eq!((one.status, &one.body["customer_id"]), (200, &json!("42")));
    assert_eq!(get(&fake, "/v2/profiles/nope").await.status, 404);
}

#[tokio::test]
async fn after_2024_a_later_contact_does_not_get_an_owned_email_and_orders_follow_the_owner() {
    let fake = fake().await;
    push(&fake, &json!([{"@type": "contact", "@collection": "guests", "id": "g1", "email": "Ann@Example.com"}])).await;
    push(&fake, &json!([{"@type": "contact", "@collection": "customers", "id": "42", "customer_id": "42", "email": "ann@example.com"}])).await;
    push(
        &fake,
        &json!([
            {"@type": "order", "id": "o1", "timestamp": "2024-05-01T10:00:00Z", "grand_total": 1,
             "currency": "GBP", "customer": {"email": "ann@example.com"}},
            {"@type": "order", "id": "o2", "timestamp": "2024-05-01T10:00:00Z", "grand_total": 1,
             "currency": "GBP", "customer": {"id": "42", "email": "ann@example.com"}},
        ]),
    )
    .await;

    let account = fake
        .record_in(
            so_domain::ometria::RecordType::Contact,
            Some("customers"),
            "42",
        )
        .unwrap();
    assert!(account.get("email").is_none(), "{account:?}");
    let ignored = fake.ignored_identifiers();
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0].field, "email");
    assert_eq!(ignored[0].owner.id, "g1");
    assert_eq!(fake.order_contact("o1").unwrap().id, "g1");
    assert_eq!(fake.order_contact("o2").unwrap().id, "42");
    // Two people as far as Ometria knows: the email alone does not join them.
    assert_eq!(fake.profiles().len(), 2);
}
