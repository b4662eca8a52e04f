//! Shop-specific webhook subscriptions against the fake: paging, the
//! mutations with `uri`, and refusals classified per topic.

use so_domain::Topic;
use so_domain::subscriptions::Blocked;
use so_fake_shopify::{MutationKind, ProtectedData, TAKEN_MESSAGE};
use so_shopify_admin::{AdminError, blocked_reason};

use crate::support::{client, fake};

const URI: &str = "https://sync.example.com/webhooks/shopify";

#[tokio::test]
async fn the_list_pages_through_every_subscription_and_never_shows_app_specific_ones() {
    let (fake, shop) = fake().await;
    shop.set_app_specific_topics(&["ORDERS_CREATE"]);
    for i in 0..260 {
        shop.seed_subscription(
            "PRODUCTS_UPDATE",
            &format!("https://h{i}.example.com/x"),
            "2026-07",
        );
    }
    let listed = client(&fake).webhook_subscriptions().await.unwrap();
    assert_eq!(listed.len(), 260);
    assert!(listed.iter().all(|l| l.topic == "PRODUCTS_UPDATE"));
    assert_eq!(listed[0].api_version.as_deref(), Some("2026-07"));
    // Two pages: 250 and 10.
    let pages = shop
        .requests()
        .iter()
        .filter(|r| r.root_fields == ["webhookSubscriptions"])
        .count();
    assert_eq!(pages, 2);
}

#[tokio::test]
async fn create_update_and_delete_change_the_fakes_list() {
    let (fake, shop) = fake().await;
    let c = client(&fake);
    let created = c
        .create_webhook_subscription(
            Topic::OrdersCreate,
            "https://old.example.com/webhooks/shopify",
        )
        .await
        .unwrap();
    assert_eq!(created.topic, "ORDERS_CREATE");
    let updated = c
        .update_webhook_subscription(&created.id, URI)
        .await
        .unwrap();
    assert_eq!(updated.uri, URI);
    assert_eq!(shop.subscriptions()[0].uri, URI);
    assert_eq!(shop.subscriptions()[0].format, "JSON");
    let again = c
        .create_webhook_subscription(Topic::OrdersCreate, URI)
        .await;
    match again {
        Err(AdminError::UserErrors(e)) => assert_eq!(e[0].message, TAKEN_MESSAGE),
        other => panic!("expected the address taken, got {other:?}"),
    }
    c.delete_webhook_subscription(&created.id).await.unwrap();
    assert!(shop.subscriptions().is_empty());
    let kinds: Vec<MutationKind> = shop
        .subscription_mutations()
        .iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            MutationKind::Create,
            MutationKind::Update,
            MutationKind::Create,
            MutationKind::Delete
        ]
    );
}

#[tokio::test]
async fn refusals_name_the_scope_or_the_protected_data() {
    let (fake, shop) = fake().await;
    let c = client(&fake);
    shop.set_protected_data(ProtectedData::NotApproved);
    shop.set_granted_scopes(&["read_orders", "read_products"]);
    let reason = |r: Result<_, AdminError>| match r {
        Err(AdminError::UserErrors(e)) => blocked_reason(&e),
        other => panic!("expected userErrors, got {other:?}"),
    };
    assert_eq!(
        reason(c.create_webhook_subscription(Topic::OrdersPaid, URI).await),
        Blocked::ProtectedDataNotApproved
    );
    assert_eq!(
        reason(
            c.create_webhook_subscription(Topic::CustomersMerge, URI)
                .await
        ),
        Blocked::MissingScope("read_customer_merge".to_owned())
    );
    c.create_webhook_subscription(Topic::ProductsCreate, URI)
        .await
        .unwrap();
    assert_eq!(shop.subscriptions().len(), 1);
    assert_eq!(
        c.granted_scopes().await.unwrap(),
        ["read_orders", "read_products"]
    );
}
