//! The authorization code grant (`shared/reference/shopify-apps.md` §3): the authorize page
//! (which here "approves" at once and redirects with a signed callback query), the code
//! exchange with `expiring=1` (a 60-minute access token and a 90-day refresh token), and
//! `grant_type=refresh_token` with rotation. Documented errors: `invalid_request`,
//! `invalid_grant`, `invalid_client`.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::time::Instant;

use crate::inspect::FakeShop;
use crate::store::{IssuedToken, Shared, Shop};

/// A partner app installable from a link, as the token endpoint knows it.
#[derive(Debug, Clone)]
pub struct InstallApp {
    pub client_id: String,
    pub client_secret: String,
    /// `scope` granted (comma-separated).
    pub scope: String,
    /// Access token lifetime with `expiring=1` (Shopify: 3600 s).
    pub access_lifetime: Duration,
    /// Refresh token lifetime (Shopify: 90 days).
    pub refresh_lifetime: Duration,
    /// What happens to a refresh token once it was used.
    pub previous_refresh: PreviousRefresh,
}

/// The previous refresh token after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousRefresh {
    /// Usable until the new one is first used, at most 30 days (Shopify since 2026-08-28).
    GraceUntilNewUsed,
    /// Invalid at once (the stricter behaviour before 2026-08-28).
    InvalidAtOnce,
}

impl InstallApp {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        InstallApp {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            scope: "read_customers,write_customers,read_orders,read_products".to_owned(),
            access_lifetime: Duration::from_secs(3600),
            refresh_lifetime: Duration::from_secs(90 * 86_400),
            previous_refresh: PreviousRefresh::GraceUntilNewUsed,
        }
    }
}

/// The most a superseded refresh token stays usable.
const GRACE: Duration = Duration::from_secs(30 * 86_400);
/// How long a code may wait for its exchange (Shopify does not document it; short).
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// The grant's state in one shop.
#[derive(Debug, Default)]
pub(crate) struct AuthCodeState {
    pub(crate) app: Option<InstallApp>,
    codes: Vec<Code>,
    refresh: Vec<RefreshToken>,
    /// Refresh requests answered with a new pair.
    pub(crate) refreshes: u64,
}

#[derive(Debug)]
struct Code {
    code: String,
    used: bool,
    expires_at: Instant,
}

#[derive(Debug)]
struct RefreshToken {
    token: String,
    expires_at: Instant,
    /// The token this one was exchanged for, and whether that one was used yet.
    successor: Option<String>,
    superseded_at: Option<Instant>,
}

/// The callback query Shopify sends after approval, signed with the app's secret.
pub(crate) fn authorize(
    shared: &Shared,
    shop_domain: &str,
    query: &BTreeMap<String, String>,
) -> Response {
    let mut state = shared.lock();
    let Some(shop) = state.shops.get_mut(shop_domain) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let Some(app) = shop.authcode.app.clone() else {
        return (
            StatusCode::BAD_REQUEST,
            "The app is not installable on this shop.",
        )
            .into_response();
    };
    let (Some(client_id), Some(redirect), Some(nonce)) = (
        query.get("client_id"),
        query.get("redirect_uri"),
        query.get("state"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "Missing client_id, redirect_uri or state.",
        )
            .into_response();
    };
    if *client_id != app.client_id {
        return (StatusCode::BAD_REQUEST, "Unknown client_id.").into_response();
    }
    let code = random_hex(shop, "code");
    shop.authcode.codes.push(Code {
        code: code.clone(),
        used: false,
        expires_at: Instant::now() + CODE_LIFETIME,
    });
    let handle = shop_domain.split('.').next().unwrap_or_default();
    let host = base64::engine::general_purpose::STANDARD
        .encode(format!("admin.shopify.com/store/{handle}"));
    let mut params = BTreeMap::new();
    params.insert("code".to_owned(), code);
    params.insert("host".to_owned(), host);
    params.insert("shop".to_owned(), shop_domain.to_owned());
    params.insert("state".to_owned(), nonce.clone());
    params.insert("timestamp".to_owned(), Utc::now().timestamp().to_string());
    let location = format!("{redirect}?{}", signed_query(&params, &app.client_secret));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `params` sorted, percent-encoded, with `hmac` (hex HMAC-SHA256 of the same string) added.
pub fn signed_query(params: &BTreeMap<String, String>, secret: &str) -> String {
    let message = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    let hmac: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{message}&hmac={hmac}")
}

/// Form encoding with a space as `%20`: unreserved characters stay, the rest is `%XX`.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn random_hex(shop: &Shop, salt: &str) -> String {
    let a = RandomState::new().hash_one((salt, shop.issued.len()));
    let b = RandomState::new().hash_one(a);
    format!("{a:016x}{b:016x}")
}

/// The token request fields this grant reads.
pub(crate) struct CodeForm<'a> {
    pub(crate) grant_type: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) client_secret: Option<&'a str>,
    pub(crate) code: Option<&'a str>,
    pub(crate) refresh_token: Option<&'a str>,
    pub(crate) expiring: Option<&'a str>,
}

/// The answer to a code exchange or a refresh, and the OAuth error code for the record.
pub(crate) fn exchange(shop: &mut Shop, form: &CodeForm<'_>) -> (Response, Option<&'static str>) {
    let (Some(id), Some(secret)) = (form.client_id, form.client_secret) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing client_id or client_secret.",
        );
    };
    let Some(app) = shop.authcode.app.clone() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            crate::oauth::INVALID_CLIENT_DESCRIPTION,
        );
    };
    if id != app.client_id || secret != app.client_secret {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            crate::oauth::INVALID_CLIENT_DESCRIPTION,
        );
    }
    let now = Instant::now();
    if form.grant_type == Some("refresh_token") {
        let Some(presented) = form.refresh_token else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing refresh_token.",
            );
        };
        if !take_refresh(&mut shop.authcode, &app, presented, now) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The refresh token is invalid or expired.",
            );
        }
        shop.authcode.refreshes += 1;
        return grant(shop, &app, Some(presented), now);
    }
    let Some(presented) = form.code else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "Missing code.");
    };
    let Some(code) = shop
        .authcode
        .codes
        .iter_mut()
        .find(|c| c.code == presented && !c.used && now < c.expires_at)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The authorization code was not found or was already used.",
        );
    };
    code.used = true;
    if form.expiring == Some("1") {
        grant(shop, &app, None, now)
    } else {
        permanent(shop, &app, now)
    }
}

/// Whether `presented` may be exchanged now; rotates it if so.
fn take_refresh(
    state: &mut AuthCodeState,
    app: &InstallApp,
    presented: &str,
    now: Instant,
) -> bool {
    let Some(i) = state.refresh.iter().position(|r| r.token == presented) else {
        return false;
    };
    let r = &state.refresh[i];
    if now >= r.expires_at {
        return false;
    }
    if let Some(successor) = r.successor.clone() {
        let grace_over = r.superseded_at.is_some_and(|at| now >= at + GRACE);
        let successor_used = state
            .refresh
            .iter()
            .any(|s| s.token == successor && s.successor.is_some());
        if app.previous_refresh == PreviousRefresh::InvalidAtOnce || grace_over || successor_used {
            return false;
        }
    }
    true
}

fn issue_access(shop: &mut Shop, lifetime: Duration, now: Instant) -> String {
    let access = format!("shpua_{}", random_hex(shop, "access"));
    shop.issued.push(IssuedToken {
        token: access.clone(),
        expires_at: now + lifetime,
    });
    shop.stats.tokens_issued += 1;
    access
}

/// A non-expiring offline token (no `expiring=1`).
fn permanent(shop: &mut Shop, app: &InstallApp, now: Instant) -> (Response, Option<&'static str>) {
    let access = issue_access(shop, Duration::from_secs(100 * 365 * 86_400), now);
    let body = json!({"access_token": access, "scope": app.scope});
    ((StatusCode::OK, axum::Json(body)).into_response(), None)
}

/// An expiring pair; `used` is the refresh token it was exchanged for, which gets its
/// successor (the first one only: later retries with it do not move it).
fn grant(
    shop: &mut Shop,
    app: &InstallApp,
    used: Option<&str>,
    now: Instant,
) -> (Response, Option<&'static str>) {
    let access = issue_access(shop, app.access_lifetime, now);
    let refresh = format!("shprt_{}", random_hex(shop, "refresh"));
    if let Some(r) = shop
        .authcode
        .refresh
        .iter_mut()
        .find(|r| Some(r.token.as_str()) == used && r.successor.is_none())
    {
        r.successor = Some(refresh.clone());
        r.superseded_at = Some(now);
    }
    shop.authcode.refresh.push(RefreshToken {
        token: refresh.clone(),
        expires_at: now + app.refresh_lifetime,
        successor: None,
        superseded_at: None,
    });
    let body = json!({
        "access_token": access,
        "scope": app.scope,
        "expires_in": app.access_lifetime.as_secs(),
        "refresh_token": refresh,
        "refresh_token_expires_in": app.refresh_lifetime.as_secs(),
    });
    ((StatusCode::OK, axum::Json(body)).into_response(), None)
}

fn error(
    status: StatusCode,
    code: &'static str,
    description: &str,
) -> (Response, Option<&'static str>) {
    let body = json!({"error": code, "error_description": description});
    ((status, axum::Json(body)).into_response(), Some(code))
}

impl FakeShop {
    /// Makes the shop installable by `app` through the authorization code grant.
    pub fn set_install_app(&self, app: Option<InstallApp>) {
        self.with(|s| s.authcode.app = app);
    }

    /// Refresh requests answered with a new pair.
    pub fn refreshes(&self) -> u64 {
        self.with(|s| s.authcode.refreshes)
    }

    /// Every refresh token issued, oldest first (to look for them in logs).
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.with(|s| s.authcode.refresh.iter().map(|r| r.token.clone()).collect())
    }

    /// Every code issued, oldest first.
    pub fn codes(&self) -> Vec<String> {
        self.with(|s| s.authcode.codes.iter().map(|c| c.code.clone()).collect())
    }

    /// Every refresh token issued so far is refused from now on (as after an uninstall).
    pub fn revoke_refresh_tokens(&self) {
        self.with(|s| {
            let now = Instant::now();
            for r in &mut s.authcode.refresh {
                r.expires_at = r.expires_at.min(now);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_reference_test_vector() {
        let params: BTreeMap<String, String> = [
            ("code", "0907a61c0c8d55e99db179b68161bc00"),
            ("shop", "some-shop.myshopify.com"),
            ("timestamp", "1337178173"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let q = signed_query(&params, "hush");
        assert!(
            q.ends_with("&hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"),
            "{q}"
        );
        assert_eq!(encode("a b/c=d"), "a%20b%2Fc%3Dd");
    }
}
