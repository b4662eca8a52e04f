//! One exchange with the token endpoint (`shared/reference/shopify-apps.md`
//! §2): `POST {shop}/admin/oauth/access_token`, form-encoded
//! `grant_type=client_credentials`, `client_id`, `client_secret`; the
//! answer sorted into a token, a refusal, or a failure worth retrying.

use std::time::Duration;

use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::TransientCause;
use crate::retry::{StatusClass, classify_status, retry_after};

/// Shopify's description of a `shop_not_permitted` refusal; some answers
/// carry only this (with `error: invalid_request`).
const NOT_PERMITTED_TEXT: &str = "client credentials cannot be performed on this shop";

/// What Shopify granted.
pub(super) struct Granted {
    pub(super) token: SecretString,
    /// `expires_in`; Shopify always sends it (24 h).
    pub(super) lifetime: Option<Duration>,
    /// Comma-separated scopes (not secret; logged).
    pub(super) scope: Option<String>,
}

/// Why the endpoint gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The app's organization does not own the store.
    NotPermitted,
    /// The client id or secret was refused (or the app is not installed):
    /// the status and OAuth `error` code, if any.
    Credentials { status: u16, error: Option<String> },
}

pub(super) enum Exchange {
    Granted(Granted),
    Refused(Refusal),
    /// 5xx, 408, 429 or no answer: the same request may succeed later.
    Transient {
        cause: TransientCause,
        wait_hint: Option<Duration>,
    },
    /// An answer that is neither a token nor an OAuth refusal (a redirect,
    /// a 200 without a token): what it was, without the body.
    Unexpected(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// One request; retrying is the caller's.
pub(super) async fn exchange(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    client_secret: &SecretString,
) -> Exchange {
    let sent = http
        .post(url)
        .header(ACCEPT, "application/json")
        // Form encoding is what the documentation shows (the JS library's
        // JSON body is not documented).
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
        ])
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return transient(e, None),
    };
    let status = response.status().as_u16();
    let wait_hint = retry_after(response.headers());
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return transient(e, wait_hint),
    };
    classify(status, &body, wait_hint)
}

fn transient(e: reqwest::Error, wait_hint: Option<Duration>) -> Exchange {
    let cause = if e.is_timeout() {
        TransientCause::Timeout(e)
    } else {
        TransientCause::Transport(e)
    };
    Exchange::Transient { cause, wait_hint }
}

pub(super) fn classify(status: u16, body: &[u8], wait_hint: Option<Duration>) -> Exchange {
    match classify_status(status) {
        StatusClass::Success => match serde_json::from_slice::<TokenAnswer>(body) {
            Ok(a) if !a.access_token.expose_secret().is_empty() => Exchange::Granted(Granted {
                token: a.access_token,
                lifetime: a.expires_in.map(Duration::from_secs),
                scope: a.scope,
            }),
            // serde's message could quote the body, which holds the token.
            _ => Exchange::Unexpected(format!("HTTP {status} without an access_token")),
        },
        StatusClass::Throttled | StatusClass::Transient => Exchange::Transient {
            cause: TransientCause::Status(status),
            wait_hint,
        },
        StatusClass::Permanent if (400..500).contains(&status) => {
            Exchange::Refused(refusal(status, body))
        }
        StatusClass::Permanent => Exchange::Unexpected(format!("HTTP {status}")),
    }
}

/// A 4xx answer: `shop_not_permitted` in either body form Shopify uses
/// (JSON `{"error","error_description"}` or the text "Oauth error
/// shop_not_permitted: …"), else refused credentials.
fn refusal(status: u16, body: &[u8]) -> Refusal {
    let (error, description) = match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => (e.error, e.error_description.unwrap_or_default()),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            (text_error_code(&text), text.into_owned())
        }
    };
    let not_permitted = error.as_deref() == Some("shop_not_permitted")
        || description
            .to_ascii_lowercase()
            .contains(NOT_PERMITTED_TEXT);
    if not_permitted {
        Refusal::NotPermitted
    } else {
        Refusal::Credentials { status, error }
    }
}

/// `shop_not_permitted` from "Oauth error shop_not_permitted: …".
fn text_error_code(text: &str) -> Option<String> {
    let rest = text.trim().strip_prefix("Oauth error ")?;
    let code = rest.split(':').next()?.trim();
    let ok = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, body: &str) -> Refusal {
        match classify(status, body.as_bytes(), None) {
            Exchange::Refused(r) => r,
            _ => panic!("not a refusal: {status} {body}"),
        }
    }

    #[test]
    fn shop_not_permitted_is_recognised_in_every_body_form() {
        for body in [
            r#"{"error":"shop_not_permitted","error_description":"Client credentials cannot be performed on this shop."}"#,
            "Oauth error shop_not_permitted: Client credentials cannot be performed on this shop.",
            r#"{"error":"invalid_request","error_description":"Client credentials cannot be performed on this shop."}"#,
            r#"{"error":"shop_not_permitted"}"#,
        ] {
            assert_eq!(refused(400, body), Refusal::NotPermitted, "{body}");
        }
    }

    #[test]
    fn other_refusals_keep_their_status_and_code() {
        assert_eq!(
            refused(400, r#"{"error":"invalid_client","error_description":"x"}"#),
            Refusal::Credentials {
                status: 400,
                error: Some("invalid_client".to_owned())
            }
        );
        assert_eq!(
            refused(401, "Oauth error invalid_client: nope"),
            Refusal::Credentials {
                status: 401,
                error: Some("invalid_client".to_owned())
            }
        );
        assert_eq!(
            refused(403, "<html>denied</html>"),
            Refusal::Credentials {
                status: 403,
                error: None
            }
        );
    }

    #[test]
    fn tokens_failures_and_oddities() {
        let Exchange::Granted(g) = classify(
            200,
            br#"{"access_token":"shpat_abc","scope":"read_orders","expires_in":86399}"#,
            None,
        ) else {
            panic!()
        };
        assert_eq!(g.token.expose_secret(), "shpat_abc");
        assert_eq!(g.lifetime, Some(Duration::from_secs(86_399)));
        assert_eq!(g.scope.as_deref(), Some("read_orders"));
        for (status, body) in [(200, r#"{"scope":"x"}"#), (200, r#"{"access_token":""}"#)] {
            let Exchange::Unexpected(m) = classify(status, body.as_bytes(), None) else {
                panic!("{body}")
            };
            assert!(!m.contains("scope"), "{m}");
        }
        assert!(matches!(
            classify(200, br#"{"access_token":7}"#, None),
            Exchange::Unexpected(_)
        ));
        for status in [429, 500, 503, 408] {
            assert!(matches!(
                classify(status, b"", None),
                Exchange::Transient { .. }
            ));
        }
        assert!(matches!(classify(302, b"", None), Exchange::Unexpected(_)));
    }
}
