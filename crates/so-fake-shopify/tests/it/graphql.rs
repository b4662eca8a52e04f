//! Auth, versions, cost, throttling, validation, pagination, consent.

use serde_json::{Value, json};
use so_fake_shopify::{
    Customer, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, INVALID_TOKEN_MESSAGE, MarketingState,
};

use crate::support::{at, endpoint, gql, http, reply, send};

fn customers(n: u64) -> Vec<Customer> {
    (1..=n)
        .map(|i| {
            Customer::new(
                9_007_199_254_740_993 + i,
                Some(&format!("c{i}@example.com")),
                at(2024, 1, i as u32 % 28 + 1),
            )
        })
        .collect()
}

#[tokio::test]
async fn missing_or_wrong_tokens_get_shopifys_401() {
    let fake = FakeShopify::start().await;
    for token in [None, Some("shpat_wrong")] {
        let r = send(
            &endpoint(&fake, "2026-07"),
            token,
            "{ shop { name } }",
            json!({}),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body, json!({"errors": INVALID_TOKEN_MESSAGE}));
    }
    assert_eq!(fake.default_shop().stats().unauthorized, 2);
}

#[tokio::test]
async fn unsupported_versions_fall_forward_and_are_recorded() {
    let fake = FakeShopify::start().await;
    let r = send(
        &endpoint(&fake, "2023-04"),
        Some(DEFAULT_TOKEN),
        "{ shop { name } }",
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-shopify-api-version"], "2025-01");
    assert_eq!(fake.default_shop().versions_seen(), ["2023-04"]);
}

#[tokio::test]
async fn shops_are_chosen_by_path_or_host() {
    let fake = FakeShopify::start().await;
    let other = fake.add_shop(so_fake_shopify::ShopConfig::new(
        "other.myshopify.com",
        "tok2",
    ));
    other.seed_customers(customers(2));
    let url = format!("{}/admin/api/2026-07/graphql.json", fake.url());
    let r = reply(
        http()
            .post(&url)
            .header("host", "other.myshopify.com")
            .header("x-shopify-access-token", "tok2")
            .json(&json!({"query": "{ customers(first: 5) { nodes { id } } }"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.body["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The default shop has none, and tokens are per shop.
    let r = gql(&fake, "{ customers(first: 5) { nodes { id } } }", json!({})).await;
    assert_eq!(r.body["data"]["customers"]["nodes"], json!([]));
    let r = send(
        &format!("{}/admin/api/2026-07/graphql.json", other.base_url()),
        Some(DEFAULT_TOKEN),
        "{ shop { name } }",
        json!({}),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &format!(
            "{}/shops/nope.myshopify.com/admin/api/2026-07/graphql.json",
            fake.url()
        ),
        Some(DEFAULT_TOKEN),
        "{ shop { name } }",
        json!({}),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(DEFAULT_SHOP, "fake-shop.myshopify.com");
}

#[tokio::test]
async fn every_answer_reports_cost_and_the_difference_is_refunded() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.seed_customers(customers(3));
    let q = "{ customers(first: 250) { nodes { id emailMarketingConsent { marketingState } } } }";
    let r = gql(&fake, q, json!({})).await;
    let cost = &r.body["extensions"]["cost"];
    assert_eq!(cost["requestedQueryCost"], 502);
    // 2 + 3 × (1 + 1)
    assert_eq!(cost["actualQueryCost"], 8);
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 2000.0);
    let available = cost["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert!((1991.0..=2000.0).contains(&available), "{available}");
    assert_eq!(shop.stats().points_used, 8);
    assert_eq!(shop.stats().points_requested, 502);
}

#[tokio::test]
async fn throttled_answers_have_shopifys_shape_with_200_or_429() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_bucket(100.0, 1.0);
    shop.set_available(5.0);
    let q = "{ customers(first: 10) { nodes { id } } }";
    let r = gql(&fake, q, json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["errors"],
        json!([{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}])
    );
    assert_eq!(r.body["extensions"]["cost"]["requestedQueryCost"], 12);
    assert_eq!(r.body["extensions"]["cost"]["actualQueryCost"], Value::Null);
    assert!(r.body.get("data").is_none());
    shop.throttle_with_429(true);
    let r = gql(&fake, q, json!({})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "THROTTLED");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(shop.stats().throttled, 2);
    // A cheap query still fits.
    let r = gql(&fake, "{ shop { name } }", json!({})).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn limits_on_cost_page_size_and_ids() {
    let fake = FakeShopify::start().await;
    let r = gql(
        &fake,
        "{ products(first: 100) { nodes { id variants(first: 20) { nodes { id } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "MAX_COST_EXCEEDED"
    );
    assert_eq!(
        r.body["extensions"]["cost"]["requestedQueryCost"],
        2 + 100 * 23
    );
    let r = gql(
        &fake,
        "{ customers(first: 251) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("251")
    );
    let r = gql(&fake, "{ customers { nodes { id } } }", json!({})).await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("first or last")
    );
    let ids: Vec<String> = (0..251)
        .map(|i| format!("gid://shopify/Customer/{i}"))
        .collect();
    let r = gql(
        &fake,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        json!({"ids": ids}),
    )
    .await;
    assert!(r.body["errors"].is_array(), "{}", r.body);
    let r = gql(&fake, "{ shop { name } ", json!({})).await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Parse error")
    );
    let r = gql(&fake, "{ widgets { id } }", json!({})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "undefinedField");
}

#[tokio::test]
async fn cursors_filters_sorting_and_search_warnings() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let mut seeded = customers(7);
    seeded[2] = seeded[2].clone().with_consent(MarketingState::Subscribed);
    shop.seed_customers(seeded.clone());
    let q = "query($after: String) { customers(first: 3, after: $after, sortKey: UPDATED_AT, reverse: true) { edges { cursor node { id updatedAt } } pageInfo { hasNextPage endCursor } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    loop {
        let r = gql(&fake, q, json!({"after": after})).await;
        let conn = &r.body["data"]["customers"];
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["updatedAt"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");

    let r = gql(&fake, "{ customers(first: 10, query: \"email_marketing_state:SUBSCRIBED colour:red\") { nodes { id } } }", json!({})).await;
    assert_eq!(
        r.body["data"]["customers"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        r.body["extensions"]["search"][0]["warnings"][0]["field"],
        "colour"
    );
}

#[tokio::test]
async fn consent_input_values_are_validated() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.seed_customers(customers(1));
    let m = "mutation($input: CustomerEmailMarketingConsentUpdateInput!) { customerEmailMarketingConsentUpdate(input: $input) { customer { id } userErrors { field message code } } }";
    let id = format!("gid://shopify/Customer/{}", 9_007_199_254_740_994_u64);
    let r = gql(
        &fake,
        m,
        json!({"input": {"customerId": id, "emailMarketingConsent": {"marketingState": "NOPE"}}}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "INVALID_VARIABLE"
    );
    let r = gql(&fake, m, json!({"input": {"customerId": id, "emailMarketingConsent": {"marketingState": "UNSUBSCRIBED"}}})).await;
    assert_eq!(
        r.body["data"]["customerEmailMarketingConsentUpdate"]["userErrors"],
        json!([])
    );
    assert_eq!(r.body["extensions"]["cost"]["requestedQueryCost"], 10);
    let r = gql(&fake, m, json!({})).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "INVALID_VARIABLE"
    );
    assert_eq!(shop.consent_writes().len(), 1);
}
