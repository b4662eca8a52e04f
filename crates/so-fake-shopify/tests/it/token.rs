//! The client credentials grant as the fake serves it
//! (`shared/reference/shopify-apps.md` §2).

use serde_json::json;
use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeShopify, INVALID_CLIENT_DESCRIPTION,
    INVALID_TOKEN_MESSAGE, NOT_PERMITTED_DESCRIPTION, NotPermittedForm, TokenBody,
    WrongSecretAnswer,
};

use crate::support::{Reply, endpoint, http, reply, send};

fn token_url(fake: &FakeShopify) -> String {
    format!("{}/admin/oauth/access_token", fake.base_url())
}

async fn request_form(fake: &FakeShopify, fields: &[(&str, &str)]) -> Reply {
    reply(
        http()
            .post(token_url(fake))
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn grant(fake: &FakeShopify, secret: &str) -> Reply {
    request_form(
        fake,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", secret),
        ],
    )
    .await
}

async fn shop_name(fake: &FakeShopify, token: &str) -> Reply {
    send(
        &endpoint(fake, "2026-07"),
        Some(token),
        "{ shop { name } }",
        json!({}),
    )
    .await
}

#[tokio::test]
async fn a_form_encoded_grant_returns_a_24_hour_token_that_opens_the_admin_api() {
    let fake = FakeShopify::start().await;
    let answer = grant(&fake, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let token = answer.body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("shpat_"), "{token}");
    assert_eq!(answer.body["expires_in"], 86_399);
    assert!(
        answer.body["scope"]
            .as_str()
            .unwrap()
            .contains("read_orders")
    );
    assert!(answer.body.get("refresh_token").is_none());

    assert_eq!(shop_name(&fake, &token).await.status, 200);
    let shop = fake.default_shop();
    assert_eq!(shop.issued_tokens(), std::slice::from_ref(&token));
    let records = shop.token_requests();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].body, TokenBody::Form);
    assert_eq!(records[0].grant_type.as_deref(), Some("client_credentials"));

    // Expired: the Admin API answers 401 as for any bad token.
    shop.expire_issued_tokens();
    let refused = shop_name(&fake, &token).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["errors"], INVALID_TOKEN_MESSAGE);
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_400_or_as_switched_401() {
    let fake = FakeShopify::start().await;
    let answer = grant(&fake, "shpss_wrong").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"], "invalid_client");
    assert_eq!(answer.body["error_description"], INVALID_CLIENT_DESCRIPTION);
    let shop = fake.default_shop();
    shop.edit_client_app(|a| a.wrong_secret = WrongSecretAnswer::InvalidClient401);
    assert_eq!(grant(&fake, "shpss_wrong").await.status, 401);
    assert!(shop.issued_tokens().is_empty());
    assert_eq!(shop.stats().token_requests, 2);
}

#[tokio::test]
async fn another_organizations_store_is_shop_not_permitted_in_each_body_form() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    shop.edit_client_app(|a| a.same_organization = false);
    let json_form = grant(&fake, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(json_form.status, 400);
    assert_eq!(json_form.body["error"], "shop_not_permitted");
    assert_eq!(
        json_form.body["error_description"],
        NOT_PERMITTED_DESCRIPTION
    );

    shop.edit_client_app(|a| a.not_permitted_form = NotPermittedForm::Text);
    let text = http()
        .post(token_url(&fake))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 400);
    assert_eq!(
        text.text().await.unwrap(),
        format!("Oauth error shop_not_permitted: {NOT_PERMITTED_DESCRIPTION}")
    );

    shop.edit_client_app(|a| a.not_permitted_form = NotPermittedForm::InvalidRequestJson);
    let invalid_request = grant(&fake, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(invalid_request.body["error"], "invalid_request");
    assert_eq!(
        invalid_request.body["error_description"],
        NOT_PERMITTED_DESCRIPTION
    );
    assert!(shop.issued_tokens().is_empty());
}

#[tokio::test]
async fn only_the_documented_request_is_accepted_unless_switched() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    });
    let post_json = || async {
        reply(
            http()
                .post(token_url(&fake))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let refused = post_json().await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"], "invalid_request");
    shop.edit_client_app(|a| a.accept_json_body = true);
    assert_eq!(post_json().await.status, 200);

    let missing = request_form(&fake, &[("grant_type", "client_credentials")]).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["error"], "invalid_request");
    let other_grant = request_form(
        &fake,
        &[
            ("grant_type", "password"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(other_grant.body["error"], "unsupported_grant_type");
    let kinds: Vec<TokenBody> = shop.token_requests().iter().map(|r| r.body).collect();
    assert_eq!(
        kinds,
        [
            TokenBody::Json,
            TokenBody::Json,
            TokenBody::Form,
            TokenBody::Form
        ]
    );
}

#[tokio::test]
async fn tokens_outlive_a_reissue_unless_switched_and_faults_come_first() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let token = |r: Reply| r.body["access_token"].as_str().unwrap().to_owned();
    let first = token(grant(&fake, DEFAULT_CLIENT_SECRET).await);
    let second = token(grant(&fake, DEFAULT_CLIENT_SECRET).await);
    assert_ne!(first, second);
    assert_eq!(shop_name(&fake, &first).await.status, 200);

    shop.edit_client_app(|a| a.reissue_revokes_previous = true);
    let third = token(grant(&fake, DEFAULT_CLIENT_SECRET).await);
    assert_eq!(shop_name(&fake, &second).await.status, 401);
    assert_eq!(shop_name(&fake, &third).await.status, 200);

    shop.fail_next_token(1, 503);
    assert_eq!(grant(&fake, DEFAULT_CLIENT_SECRET).await.status, 503);
    assert_eq!(grant(&fake, DEFAULT_CLIENT_SECRET).await.status, 200);
    let unknown = reply(
        http()
            .post(format!(
                "{}/shops/nope.myshopify.com/admin/oauth/access_token",
                fake.url()
            ))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, json!({"errors": "Not Found"}));
}

#[tokio::test]
async fn tokens_can_be_set_to_expire_after_a_number_of_answers() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let answer = grant(&fake, DEFAULT_CLIENT_SECRET).await;
    let token = answer.body["access_token"].as_str().unwrap().to_owned();
    shop.expire_tokens_after(2);
    assert_eq!(shop_name(&fake, &token).await.status, 200);
    assert_eq!(shop_name(&fake, &token).await.status, 200);
    assert_eq!(shop_name(&fake, &token).await.status, 401);
    // A new token is not affected.
    let answer = grant(&fake, DEFAULT_CLIENT_SECRET).await;
    let renewed = answer.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(shop_name(&fake, &renewed).await.status, 200);
}
