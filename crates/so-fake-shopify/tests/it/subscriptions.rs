//! Webhook subscriptions: the connection and its filters, the mutations'
//! documented refusals, and app-specific subscriptions never listed.

use serde_json::{Value, json};
use so_fake_shopify::{FakeShopify, PROTECTED_MESSAGE, ProtectedData, TAKEN_MESSAGE};

use so_fake_shopify::DEFAULT_TOKEN;

use crate::support::{endpoint, gql, send};

const URI: &str = "https://sync.example.com/webhooks/shopify";
const CREATE: &str = "mutation C($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id topic uri format apiVersion { handle } } userErrors { field message } } }";

async fn create(fake: &FakeShopify, topic: &str, sub: Value) -> Value {
    let r = gql(fake, CREATE, json!({"topic": topic, "sub": sub})).await;
    assert_eq!(r.status, 200);
    r.body
}

fn messages(body: &Value) -> Vec<String> {
    body["data"]["webhookSubscriptionCreate"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn created_subscriptions_are_listed_filtered_by_topic_and_app_specific_ones_never() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.set_app_specific_topics(&["ORDERS_PAID"]);
    let made = create(
        &fake,
        "ORDERS_CREATE",
        json!({"uri": URI, "format": "JSON"}),
    )
    .await;
    let sub = &made["data"]["webhookSubscriptionCreate"]["webhookSubscription"];
    assert_eq!(
        sub["apiVersion"]["handle"], "2026-07",
        "the request's version"
    );
    create(&fake, "PRODUCTS_UPDATE", json!({"uri": URI})).await;

    let all = gql(
        &fake,
        "{ webhookSubscriptions(first: 10) { nodes { topic uri } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        all.body["data"]["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let filtered = gql(
        &fake,
        "query Q($t: [WebhookSubscriptionTopic!]) { webhookSubscriptions(first: 10, topics: $t) { nodes { topic } } }",
        json!({"t": ["PRODUCTS_UPDATE"]}),
    )
    .await;
    assert_eq!(
        filtered.body["data"]["webhookSubscriptions"]["nodes"],
        json!([{"topic": "PRODUCTS_UPDATE"}])
    );
    assert_eq!(shop.delivering(URI).len(), 3, "app-specific ones deliver");
}

#[tokio::test]
async fn refusals_are_user_errors_and_change_nothing() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    create(&fake, "ORDERS_CREATE", json!({"uri": URI})).await;
    let cases = [
        ("ORDERS_CREATE", json!({"uri": URI}), TAKEN_MESSAGE),
        (
            "ORDERS_PAID",
            json!({"uri": "http://sync.example.com/x"}),
            "Address protocol http:// is not supported",
        ),
        (
            "SHOP_REDACT",
            json!({"uri": URI}),
            "Compliance topics can only be set in the app's configuration",
        ),
    ];
    for (topic, sub, message) in cases {
        assert_eq!(
            messages(&create(&fake, topic, sub).await),
            [message],
            "{topic}"
        );
    }
    shop.set_protected_data(ProtectedData::NotApproved);
    assert_eq!(
        messages(&create(&fake, "CUSTOMERS_UPDATE", json!({"uri": URI})).await),
        [PROTECTED_MESSAGE]
    );
    assert_eq!(shop.subscriptions().len(), 1);
    assert_eq!(shop.subscription_mutations().len(), 5);
}

#[tokio::test]
async fn the_removed_callback_url_and_unknown_topics_are_graphql_errors() {
    let fake = FakeShopify::start().await;
    let old = create(&fake, "ORDERS_CREATE", json!({"callbackUrl": URI})).await;
    assert_eq!(old["errors"][0]["extensions"]["code"], "INVALID_VARIABLE");
    let unknown = create(&fake, "ORDERS_EXPLODED", json!({"uri": URI})).await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "INVALID_VARIABLE"
    );
    assert!(fake.default_shop().subscriptions().is_empty());
}

#[tokio::test]
async fn before_2025_10_the_address_is_callback_url_and_uri_is_undefined() {
    let fake = FakeShopify::start().await;
    let url = endpoint(&fake, "2025-07");
    let r = send(
        &url,
        Some(DEFAULT_TOKEN),
        CREATE,
        json!({"topic": "ORDERS_CREATE", "sub": {"uri": URI}}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "INVALID_VARIABLE"
    );
    let old = "mutation C($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { callbackUrl } userErrors { message } } }";
    let r = send(
        &url,
        Some(DEFAULT_TOKEN),
        old,
        json!({"topic": "ORDERS_CREATE", "sub": {"callbackUrl": URI}}),
    )
    .await;
    assert_eq!(
        r.body["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["callbackUrl"],
        URI
    );
    let listed = send(
        &url,
        Some(DEFAULT_TOKEN),
        "{ webhookSubscriptions(first: 5) { nodes { uri } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        listed.body["errors"][0]["extensions"]["code"],
        "undefinedField"
    );
}
