//! Retry classification end to end: 5xx and transport failures retry,
//! 4xx and GraphQL errors do not.

use std::time::Duration;

use serde_json::{Value, json};
use so_fake_shopify::{Customer, DEFAULT_SHOP, INVALID_TOKEN_MESSAGE};
use so_shopify_admin::{AdminClient, AdminError, AdminSettings, ShopCredentials, TransientCause};

use crate::support::{at, client, client_with, fake, settings};

fn seed(shop: &so_fake_shopify::FakeShop) {
    shop.seed_customers([Customer::new(
        1 << 55,
        Some("a@example.com"),
        at(2024, 1, 1),
    )]);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (fake, shop) = fake().await;
    seed(&shop);
    shop.fail_next(2, 502);
    let client = client(&fake);
    let page = client.customers_page(None, None, 10).await.unwrap();
    assert_eq!(page.nodes.len(), 1);
    assert_eq!(shop.stats().server_errors, 2);
    assert_eq!(client.budget().retries, 2);
    assert_eq!(client.budget().requests, 3);
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() {
    let (fake, shop) = fake().await;
    shop.fail_next(10, 503);
    let client = client_with(
        &fake,
        &AdminSettings {
            max_retries: 2,
            ..settings()
        },
    );
    let err = client.customers_page(None, None, 10).await.unwrap_err();
    let AdminError::Transient { attempts, last, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 3);
    assert!(matches!(last, TransientCause::Status(503)));
    assert!(err.is_retryable());
    assert_eq!(shop.stats().requests, 3);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let (fake, shop) = fake().await;
    seed(&shop);
    shop.delay_next(1, Duration::from_millis(600));
    let client = client_with(
        &fake,
        &AdminSettings {
            request_timeout: Duration::from_millis(200),
            ..settings()
        },
    );
    let page = client.customers_page(None, None, 10).await.unwrap();
    assert_eq!(page.nodes.len(), 1);
    assert_eq!(client.budget().retries, 1);
}

#[tokio::test]
async fn unreachable_shops_fail_as_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let creds = ShopCredentials::new(DEFAULT_SHOP, "t").with_base_url(&format!("http://{addr}"));
    let client = AdminClient::new(
        &AdminSettings {
            max_retries: 1,
            ..settings()
        },
        &creds,
    )
    .unwrap();
    let err = client
        .query::<Value>("{ shop { name } }", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AdminError::Transient {
                attempts: 2,
                last: TransientCause::Transport(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_permanent_and_not_retried() {
    let (fake, shop) = fake().await;
    let creds = ShopCredentials::new(DEFAULT_SHOP, "shpat_wrong").with_base_url(&fake.base_url());
    let client = AdminClient::new(&settings(), &creds).unwrap();
    let err = client.customers_page(None, None, 10).await.unwrap_err();
    let AdminError::Permanent { status, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 401);
    assert_eq!(message, INVALID_TOKEN_MESSAGE);
    assert!(!err.is_retryable());
    assert_eq!(shop.stats().requests, 1);
    assert_eq!(shop.stats().unauthorized, 1);
}

#[tokio::test]
async fn graphql_errors_are_permanent_and_carry_the_messages() {
    let (fake, shop) = fake().await;
    let client = client(&fake);
    let err = client
        .query::<Value>("{ shop { name nmae } }", json!({}))
        .await
        .unwrap_err();
    let AdminError::GraphQl(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors[0].code.as_deref(), Some("undefinedField"));
    assert!(errors[0].message.contains("nmae"), "{errors:?}");
    assert_eq!(shop.stats().requests, 1);
}

#[tokio::test]
async fn the_pinned_version_is_sent() {
    let (fake, shop) = fake().await;
    let client = client(&fake);
    let r = client
        .query::<Value>("{ shop { name ianaTimezone currencyCode } }", json!({}))
        .await
        .unwrap();
    assert_eq!(r.data["shop"]["currencyCode"], "GBP");
    assert_eq!(shop.versions_seen(), ["2026-07"]);
    assert_eq!(shop.requests()[0].effective_version, "2026-07");
    // Every answer reports the bucket.
    let cost = r.cost.unwrap();
    assert_eq!(cost.requested_query_cost, Some(1.0));
    assert_eq!(cost.throttle_status.maximum_available, 2000.0);
}

#[test]
fn bad_settings_are_refused() {
    let creds = ShopCredentials::new(DEFAULT_SHOP, "t");
    let bad = AdminSettings {
        api_version: "latest".to_owned(),
        ..settings()
    };
    assert!(matches!(
        AdminClient::new(&bad, &creds),
        Err(AdminError::Settings(_))
    ));
    let creds = ShopCredentials::new("", "t");
    assert!(matches!(
        AdminClient::new(&settings(), &creds),
        Err(AdminError::Settings(_))
    ));
}
