//! The authorization code grant as the fake serves it (`shopify-apps.md` §3): approval
//! redirect, single-use codes, expiring tokens and refresh-token rotation under both
//! behaviours of the previous refresh token.

use std::collections::HashMap;

use so_fake_shopify::{FakeShopify, InstallApp, PreviousRefresh};

use crate::support::{Reply, http, reply};

const ID: &str = "partner-client-id";
const SECRET: &str = "shpss_partner_secret";

async fn fake(previous: PreviousRefresh) -> FakeShopify {
    let fake = FakeShopify::start().await;
    let mut app = InstallApp::new(ID, SECRET);
    app.previous_refresh = previous;
    fake.default_shop().set_install_app(Some(app));
    fake
}

/// Follows the authorize page and returns the callback's query.
async fn approve(fake: &FakeShopify) -> HashMap<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/admin/oauth/authorize", fake.base_url()))
        .query(&[
            ("client_id", ID),
            ("scope", "read_orders"),
            ("redirect_uri", "https://so.example/shopify/callback"),
            ("state", "nonce-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, "https://so.example/shopify/callback");
    url_pairs(query)
}

fn url_pairs(query: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .collect()
}

async fn token(fake: &FakeShopify, fields: &[(&str, &str)]) -> Reply {
    let url = format!("{}/admin/oauth/access_token", fake.base_url());
    reply(http().post(url).form(fields).send().await.unwrap()).await
}

async fn exchange(fake: &FakeShopify, code: &str) -> Reply {
    token(
        fake,
        &[
            ("client_id", ID),
            ("client_secret", SECRET),
            ("code", code),
            ("expiring", "1"),
        ],
    )
    .await
}

async fn refresh(fake: &FakeShopify, refresh_token: &str) -> Reply {
    token(
        fake,
        &[
            ("client_id", ID),
            ("client_secret", SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn text(r: &Reply, field: &str) -> String {
    r.body[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_approved_install_exchanges_its_code_once_for_an_expiring_pair() {
    let fake = fake(PreviousRefresh::GraceUntilNewUsed).await;
    let callback = approve(&fake).await;
    for key in ["code", "hmac", "host", "shop", "state", "timestamp"] {
        assert!(callback.contains_key(key), "{key} in {callback:?}");
    }
    assert_eq!(callback["state"], "nonce-1");
    let granted = exchange(&fake, &callback["code"]).await;
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    assert_eq!(granted.body["expires_in"], 3600);
    assert_eq!(granted.body["refresh_token_expires_in"], 90 * 86_400);
    assert!(text(&granted, "refresh_token").starts_with("shprt_"));
    let again = exchange(&fake, &callback["code"]).await;
    assert_eq!(
        (again.status, text(&again, "error")),
        (400, "invalid_grant".to_owned())
    );
    let wrong = token(
        &fake,
        &[("client_id", ID), ("client_secret", "nope"), ("code", "x")],
    )
    .await;
    assert_eq!(text(&wrong, "error"), "invalid_client");
    let missing = token(&fake, &[("client_id", ID), ("client_secret", SECRET)]).await;
    assert_eq!(text(&missing, "error"), "invalid_request");
}

#[tokio::test]
async fn a_rotated_refresh_token_stays_usable_until_its_successor_is_used() {
    let fake = fake(PreviousRefresh::GraceUntilNewUsed).await;
    let first = exchange(&fake, &approve(&fake).await["code"]).await;
    let r0 = text(&first, "refresh_token");
    let second = refresh(&fake, &r0).await;
    assert_eq!(second.status, 200);
    let r1 = text(&second, "refresh_token");
    assert_ne!(r0, r1);
    // The answer was lost: the old token still works, once more.
    let retry = refresh(&fake, &r0).await;
    assert_eq!(retry.status, 200);
    let r2 = text(&retry, "refresh_token");
    // The first successor is used: from now on the old one is refused.
    assert_eq!(refresh(&fake, &r1).await.status, 200);
    assert_eq!(
        refresh(&fake, &r2).await.status,
        200,
        "an unused sibling still works"
    );
    let stale = refresh(&fake, &r0).await;
    assert_eq!(
        (stale.status, text(&stale, "error")),
        (400, "invalid_grant".to_owned())
    );
    assert_eq!(fake.default_shop().refreshes(), 4);
}

#[tokio::test]
async fn the_strict_switch_refuses_a_used_refresh_token_at_once() {
    let fake = fake(PreviousRefresh::InvalidAtOnce).await;
    let first = exchange(&fake, &approve(&fake).await["code"]).await;
    let r0 = text(&first, "refresh_token");
    assert_eq!(refresh(&fake, &r0).await.status, 200);
    let again = refresh(&fake, &r0).await;
    assert_eq!(text(&again, "error"), "invalid_grant");
    fake.default_shop().revoke_refresh_tokens();
    let last = fake.default_shop().refresh_tokens().pop().unwrap();
    assert_eq!(text(&refresh(&fake, &last).await, "error"), "invalid_grant");
}
