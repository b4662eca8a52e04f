//! The client credentials grant end to end against the fake: the token
//! fetched, used, renewed after a 401, shared by concurrent callers, and
//! refusals reported as what they are, without asking again and again.

use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, FakeShopify, NotPermittedForm,
    TokenBody, WrongSecretAnswer,
};
use so_shopify_admin::{AccessKind, AdminClient, AdminError, ShopCredentials};

use crate::support::{fake, settings};

fn client_for(fake: &FakeShopify, secret: &str) -> AdminClient {
    let creds = ShopCredentials::client_credentials(DEFAULT_SHOP, DEFAULT_CLIENT_ID, secret)
        .with_base_url(&fake.base_url());
    AdminClient::new(&settings(), &creds).unwrap()
}

#[tokio::test]
async fn a_token_is_fetched_once_and_opens_the_admin_api() {
    let (fake, shop) = fake().await;
    shop.seed_generated(30, 0, 0.5);
    let client = client_for(&fake, DEFAULT_CLIENT_SECRET);
    assert_eq!(client.access().kind(), AccessKind::ClientCredentials);

    let first = client.customers_page(None, None, 10).await.unwrap();
    let second = client
        .customers_page(first.next_cursor(), None, 10)
        .await
        .unwrap();
    assert_eq!(first.nodes.len() + second.nodes.len(), 20);

    let requests = shop.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, 200);
    assert_eq!(requests[0].body, TokenBody::Form);
    assert_eq!(shop.stats().requests, 2);
    assert_eq!(shop.stats().unauthorized, 0);
    assert!(client.access().state().expires_at.is_some());
}

#[tokio::test]
async fn an_expired_token_is_renewed_after_its_401_and_the_call_succeeds() {
    let (fake, shop) = fake().await;
    shop.seed_generated(5, 0, 0.5);
    let client = client_for(&fake, DEFAULT_CLIENT_SECRET);
    client.customers_page(None, None, 5).await.unwrap();
    shop.expire_issued_tokens();

    let page = client.customers_page(None, None, 5).await.unwrap();

    assert_eq!(page.nodes.len(), 5);
    assert_eq!(shop.stats().unauthorized, 1);
    assert_eq!(shop.token_requests().len(), 2);
    assert_eq!(shop.issued_tokens().len(), 2);
}

#[tokio::test]
async fn concurrent_callers_after_an_expiry_share_one_renewal() {
    let (fake, shop) = fake().await;
    shop.seed_generated(5, 0, 0.5);
    let client = client_for(&fake, DEFAULT_CLIENT_SECRET);
    client.customers_page(None, None, 5).await.unwrap();
    shop.expire_issued_tokens();

    let calls: Vec<_> = (0..12)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(
                async move { c.customers_page(None, None, 5).await.map(|p| p.nodes.len()) },
            )
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 5);
    }

    assert_eq!(shop.token_requests().len(), 2, "one renewal for all twelve");
    // Clients built on the same access share its token as well.
    let sibling = AdminClient::with_access(&settings(), client.access().clone()).unwrap();
    sibling.customers_page(None, None, 5).await.unwrap();
    assert_eq!(shop.token_requests().len(), 2);
}

#[tokio::test]
async fn a_token_refused_right_after_renewal_fails_the_call_instead_of_looping() {
    let (fake, shop) = fake().await;
    // Tokens that are expired when issued: every one gets a 401.
    shop.edit_client_app(|a| a.expires_in_secs = 0);
    let client = client_for(&fake, DEFAULT_CLIENT_SECRET);

    let err = client.customers_page(None, None, 5).await.unwrap_err();

    assert!(
        matches!(err, AdminError::Permanent { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(shop.token_requests().len(), 2);
    assert_eq!(shop.stats().requests, 2);
}

#[tokio::test]
async fn shop_not_permitted_is_reported_naming_the_shop_in_each_body_form() {
    for form in [
        NotPermittedForm::Json,
        NotPermittedForm::Text,
        NotPermittedForm::InvalidRequestJson,
    ] {
        let (fake, shop) = fake().await;
        shop.edit_client_app(|a| {
            a.same_organization = false;
            a.not_permitted_form = form;
        });
        let client = client_for(&fake, DEFAULT_CLIENT_SECRET);
        for _ in 0..3 {
            let err = client.customers_page(None, None, 5).await.unwrap_err();
            assert!(
                matches!(&err, AdminError::ShopNotPermitted { shop } if shop == DEFAULT_SHOP),
                "{form:?}: {err:?}"
            );
            assert!(!err.is_retryable());
            let text = err.to_string();
            assert!(
                text.contains(DEFAULT_SHOP) && text.contains("shop_not_permitted"),
                "{text}"
            );
        }
        assert_eq!(shop.token_requests().len(), 1, "{form:?}: asked once");
        assert_eq!(
            shop.stats().requests,
            0,
            "no Admin API call without a token"
        );
    }
}

#[tokio::test]
async fn a_refused_secret_is_reported_as_such_and_not_asked_again() {
    for (answer, status) in [
        (WrongSecretAnswer::InvalidClient400, 400),
        (WrongSecretAnswer::InvalidClient401, 401),
    ] {
        let (fake, shop) = fake().await;
        shop.edit_client_app(|a| a.wrong_secret = answer);
        let client = client_for(&fake, "shpss_not_the_secret");
        for _ in 0..4 {
            let err = client.customers_page(None, None, 5).await.unwrap_err();
            let AdminError::CredentialsRefused {
                shop: named,
                status: got,
                error,
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!((named.as_str(), *got), (DEFAULT_SHOP, status));
            assert_eq!(error.as_deref(), Some("invalid_client"));
            assert!(!err.to_string().contains("shpss_not_the_secret"));
        }
        assert_eq!(shop.token_requests().len(), 1);
        let state = client.access().state();
        assert!(state.refused.is_some() && state.expires_at.is_none());
    }
}

#[test]
fn malformed_credentials_are_refused_naming_the_value() {
    let err = |c: ShopCredentials| AdminClient::new(&settings(), &c).unwrap_err().to_string();
    let text = err(ShopCredentials::client_credentials(
        "shop.example.com",
        "id",
        "secret",
    ));
    assert!(text.contains("shop_domain"), "{text}");
    let text = err(ShopCredentials::client_credentials(DEFAULT_SHOP, " ", "s"));
    assert!(text.contains("client_id is empty"), "{text}");
    let text = err(ShopCredentials::client_credentials(DEFAULT_SHOP, "id", ""));
    assert!(text.contains("client_secret is empty"), "{text}");
}
