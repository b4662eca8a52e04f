//! A shop's staff inside the Shopify admin: each request carries Shopify's ID token. Their own
//! shop's page comes framed only by that shop's admin; another shop's page, an expired token
//! and a forged one are refused with a code and detail, never the data. Over plain HTTP on the
//! real service (what is checked is the server's answer, not a browser's).

use so_console::id_token::{claims_for, sign};
use so_testkit::Backend;

use super::{OTHER, SHOP, app};

const CLIENT_ID: &str = "console-app-id";
pub(super) const SECRET: &str = "console-app-secret";

pub(super) fn env() -> Vec<(String, String)> {
    [
        ("SO_SHOPIFY__APP__CLIENT_ID", CLIENT_ID),
        ("SO_SHOPIFY__APP__CLIENT_SECRET", SECRET),
        ("SO_SHOPIFY__PUBLIC_URL", "https://so.example"),
        (
            "SO_DATABASE__SECRETS_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

pub(super) fn token(shop: &str, issued: i64, secret: &str) -> String {
    sign(&claims_for(shop, CLIENT_ID, issued), secret.as_bytes())
}

#[tokio::test]
async fn embedded_staff_see_only_their_shop_and_bad_tokens_see_nothing() {
    let app = app(Backend::Sqlite, env()).await;
    let now = chrono::Utc::now().timestamp();
    let get = |path: String, bearer: Option<String>| {
        let req = app.client.get(format!("{}{path}", app.ops_address));
        let req = match bearer {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            let csp = res
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_owned());
            (res.status().as_u16(), csp, res.text().await.unwrap())
        }
    };

    // Their own shop, from the bearer header and from the first load's id_token parameter.
    let own = token(SHOP, now, SECRET);
    let (status, csp, body) = get(format!("/console/shops/{SHOP}"), Some(own.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        csp.as_deref(),
        Some("frame-ancestors https://paris.myshopify.com https://admin.shopify.com;")
    );
    assert!(body.contains("Europe/Paris") && body.contains("app-bridge.js"));
    assert!(body.contains(&format!(r#"content="{CLIENT_ID}""#)));
    assert!(!body.contains(SECRET), "no secret in the page");
    let (status, csp, body) = get(format!("/console/?id_token={own}&shop={SHOP}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(csp.unwrap().contains("https://paris.myshopify.com"));
    assert!(
        body.contains("id=\"sync-toggle\"") && !body.contains(OTHER),
        "only their shop"
    );

    // Another shop, expired, forged, for another app: refused, no data.
    let other = token(OTHER, now, SECRET);
    let expired = token(SHOP, now - 120, SECRET);
    let forged = token(SHOP, now, "guessed-secret");
    let foreign = sign(&claims_for(SHOP, "another-app", now), SECRET.as_bytes());
    for (name, bearer, path, want, code) in [
        (
            "other shop",
            other.clone(),
            format!("/console/shops/{SHOP}"),
            403,
            "other_shop",
        ),
        (
            "expired",
            expired,
            format!("/console/shops/{SHOP}"),
            401,
            "invalid_id_token",
        ),
        (
            "forged",
            forged,
            format!("/console/shops/{SHOP}"),
            401,
            "invalid_id_token",
        ),
        (
            "another app",
            foreign,
            format!("/console/shops/{SHOP}"),
            401,
            "invalid_id_token",
        ),
    ] {
        let (status, csp, body) = get(path, Some(bearer)).await;
        assert_eq!(status, want, "{name}: {body}");
        assert!(
            body.contains(&format!("data-code=\"{code}\"")),
            "{name}: {body}"
        );
        assert!(
            !body.contains("Europe/Paris") && !body.contains("sync-toggle"),
            "{name}: data shown"
        );
        assert!(csp.unwrap().contains("frame-ancestors 'none'"), "{name}");
    }

    // The dead letters span every shop: ops only.
    let (status, _, body) = get(
        "/console/dead-letters".to_owned(),
        Some(token(SHOP, now, SECRET)),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(r#"data-code="ops_only""#), "{body}");

    // An action for another shop is refused and changes nothing; for their own, it is done
    // through so-ops under their Shopify user id.
    let post = |path: String, bearer: String| {
        app.client
            .post(format!("{}{path}", app.ops_address))
            .bearer_auth(bearer)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
    };
    let res = post(format!("/console/shops/{SHOP}/pause"), other)
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let status = super::admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], false, "{status}");
    let res = post(
        format!("/console/shops/{SHOP}/pause"),
        token(SHOP, now, SECRET),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let status = super::admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], true, "{status}");
    assert_eq!(
        status["updated_by"],
        format!("console:shopify-user:42@{SHOP}"),
        "{status}"
    );
    app.teardown().await;
}
