//! `POST /admin/oauth/access_token` with `grant_type=client_credentials`
//! (`shared/reference/shopify-apps.md` §2): the documented request and
//! answers, the undocumented ones behind the switches of
//! [`crate::ClientApp`].

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::config::{ClientApp, NotPermittedForm, WrongSecretAnswer};
use crate::records::{TokenBody, TokenRequestRecord};
use crate::store::{Shared, Shop};

/// Shopify's description of a `shop_not_permitted` refusal.
pub const NOT_PERMITTED_DESCRIPTION: &str = "Client credentials cannot be performed on this shop.";
/// The fake's description of a refused client (Shopify's is not documented).
pub const INVALID_CLIENT_DESCRIPTION: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";

/// The three documented fields, whichever body form carried them.
#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// The authorization code grant's fields (`authcode.rs`).
    code: Option<String>,
    refresh_token: Option<String>,
    expiring: Option<String>,
}

/// An answer as status, `error` code (for the record) and HTTP response.
struct Answer {
    status: StatusCode,
    error: Option<&'static str>,
    response: Response,
}

pub(crate) fn token_request(
    shared: &Shared,
    shop: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut state = shared.lock();
    let Some(shop) = state.shops.get_mut(shop) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errors": "Not Found"})),
        )
            .into_response();
    };
    shop.stats.token_requests += 1;
    let (form, kind) = read_body(shop.config.client_app.as_ref(), headers, body);
    let answer = answer(shop, form.as_ref());
    shop.token_requests.push(TokenRequestRecord {
        status: answer.status.as_u16(),
        grant_type: form.as_ref().and_then(|f| f.grant_type.clone()),
        body: kind,
        error: answer.error,
        at: Instant::now(),
    });
    answer.response
}

/// The fields, when the body has a form the app accepts.
fn read_body(
    app: Option<&ClientApp>,
    headers: &HeaderMap,
    body: &[u8],
) -> (Option<TokenForm>, TokenBody) {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            (serde_urlencoded::from_bytes(body).ok(), TokenBody::Form)
        }
        "application/json" if app.is_some_and(|a| a.accept_json_body) => {
            (serde_json::from_slice(body).ok(), TokenBody::Json)
        }
        "application/json" => (None, TokenBody::Json),
        _ => (None, TokenBody::Other),
    }
}

/// Checks in order: a readable body, the grant type, the client and its
/// secret, then the organization.
fn answer(shop: &mut Shop, form: Option<&TokenForm>) -> Answer {
    if let Some(status) = shop.take_token_failure() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Answer {
            status,
            error: None,
            response: (
                status,
                axum::Json(json!({"errors": "Internal Server Error"})),
            )
                .into_response(),
        };
    }
    let Some(form) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        );
    };
    // The code exchange sends no grant_type; a refresh sends `refresh_token`.
    let grant_type = form.grant_type.as_deref();
    if form.code.is_some() || matches!(grant_type, Some("refresh_token" | "authorization_code")) {
        let (response, error) = crate::authcode::exchange(
            shop,
            &crate::authcode::CodeForm {
                grant_type,
                client_id: form.client_id.as_deref(),
                client_secret: form.client_secret.as_deref(),
                code: form.code.as_deref(),
                refresh_token: form.refresh_token.as_deref(),
                expiring: form.expiring.as_deref(),
            },
        );
        return Answer {
            status: response.status(),
            error,
            response,
        };
    }
    let (Some(grant), Some(id), Some(secret)) = (
        form.grant_type.as_deref(),
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant_type, client_id or client_secret.",
        );
    };
    if grant != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The grant type is not supported.",
        );
    }
    let Some(app) = shop.config.client_app.clone() else {
        return wrong_secret(WrongSecretAnswer::InvalidClient400);
    };
    if id != app.client_id || secret != app.client_secret {
        return wrong_secret(app.wrong_secret);
    }
    if !app.same_organization {
        return not_permitted(app.not_permitted_form);
    }
    let token = shop.issue_token(&app);
    let body = json!({
        "access_token": token,
        "scope": app.scope,
        "expires_in": app.expires_in_secs,
    });
    Answer {
        status: StatusCode::OK,
        error: None,
        response: (StatusCode::OK, axum::Json(body)).into_response(),
    }
}

fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Answer {
    let body = json!({"error": error, "error_description": description});
    Answer {
        status,
        error: Some(error),
        response: (status, axum::Json(body)).into_response(),
    }
}

fn wrong_secret(answer: WrongSecretAnswer) -> Answer {
    let status = match answer {
        WrongSecretAnswer::InvalidClient400 => StatusCode::BAD_REQUEST,
        WrongSecretAnswer::InvalidClient401 => StatusCode::UNAUTHORIZED,
    };
    oauth_error(status, "invalid_client", INVALID_CLIENT_DESCRIPTION)
}

fn not_permitted(form: NotPermittedForm) -> Answer {
    match form {
        NotPermittedForm::Json => oauth_error(
            StatusCode::BAD_REQUEST,
            "shop_not_permitted",
            NOT_PERMITTED_DESCRIPTION,
        ),
        NotPermittedForm::InvalidRequestJson => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            NOT_PERMITTED_DESCRIPTION,
        ),
        NotPermittedForm::Text => Answer {
            status: StatusCode::BAD_REQUEST,
            error: Some("shop_not_permitted"),
            response: (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("Oauth error shop_not_permitted: {NOT_PERMITTED_DESCRIPTION}"),
            )
                .into_response(),
        },
    }
}
