//! Who is asking: an ops session (cookie) or a shop's staff member (Shopify ID token, from an
//! `Authorization: Bearer` header, or the `id_token` query parameter Shopify puts on the first
//! load of an embedded page), and what each may see and do.

use axum::http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ConsoleError;
use crate::id_token::{self, EmbeddedUser};
use crate::session::{self, Session, Sessions};

/// The app whose ID tokens are accepted: `shopify.app.client_id` and `client_secret`.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) client_id: String,
    pub(crate) secret: SecretString,
}

/// The person behind a request.
#[derive(Debug, Clone)]
pub(crate) enum Viewer {
    /// An operator, logged in with the admin token: every shop.
    Ops { id: String, session: Session },
    /// A shop's staff member inside the Shopify admin: that shop only.
    Embedded(EmbeddedUser),
}

impl Viewer {
    /// Who, for the audit trail (shop history and operations log).
    pub(crate) fn actor(&self) -> String {
        match self {
            Viewer::Ops { session, .. } => format!("console:{}", session.who),
            Viewer::Embedded(u) => format!("console:shopify-user:{}@{}", u.user, u.shop),
        }
    }

    /// The shop an embedded viewer is limited to.
    pub(crate) fn only_shop(&self) -> Option<&str> {
        match self {
            Viewer::Ops { .. } => None,
            Viewer::Embedded(u) => Some(u.shop.as_str()),
        }
    }

    /// Refuses an embedded viewer any shop but their own.
    pub(crate) fn may_see(&self, shop: &str) -> Result<(), ConsoleError> {
        match self.only_shop() {
            Some(own) if !own.eq_ignore_ascii_case(shop) => Err(ConsoleError::OtherShop),
            _ => Ok(()),
        }
    }

    /// For a form post: an ops session's form must carry its CSRF token. A bearer-token
    /// request cannot be forged cross-site (the browser never adds that header by itself).
    pub(crate) fn check_csrf(&self, given: Option<&str>) -> Result<(), ConsoleError> {
        match self {
            Viewer::Ops { session, .. } => {
                if session::same_token(given.unwrap_or(""), &session.csrf) {
                    Ok(())
                } else {
                    Err(ConsoleError::Csrf)
                }
            }
            Viewer::Embedded(_) => Ok(()),
        }
    }
}

/// The ID token a request carries, if any: the bearer header, else (page loads only) the
/// `id_token` query parameter.
fn id_token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query)
        .filter(|t| !t.is_empty())
}

/// The viewer of a request. A request carrying an ID token is judged by it alone, never by a
/// cookie it may also carry.
pub(crate) fn viewer(
    headers: &HeaderMap,
    query_token: Option<&str>,
    app: Option<&App>,
    sessions: &Sessions,
    now: i64,
) -> Result<Viewer, ConsoleError> {
    if let Some(token) = id_token(headers, query_token) {
        let app = app.ok_or(ConsoleError::EmbeddedOff)?;
        let user = id_token::verify(
            token,
            &app.client_id,
            app.secret.expose_secret().as_bytes(),
            now,
        )?;
        return Ok(Viewer::Embedded(user));
    }
    let id = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| session::cookie(c, session::COOKIE))
        .ok_or(ConsoleError::LoginRequired)?;
    let session = sessions.get(id).ok_or(ConsoleError::LoginRequired)?;
    Ok(Viewer::Ops {
        id: id.to_owned(),
        session,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::id_token::{claims_for, sign};

    const NOW: i64 = 1_800_000_000;

    fn app() -> App {
        App {
            client_id: "cid".to_owned(),
            secret: SecretString::from("app-secret"),
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    fn token_for(shop: &str, now: i64, secret: &[u8]) -> String {
        sign(&claims_for(shop, "cid", now), secret)
    }

    #[test]
    fn a_token_for_one_shop_sees_only_that_shop() {
        let t = token_for("a.myshopify.com", NOW, b"app-secret");
        let v = viewer(&bearer(&t), None, Some(&app()), &Sessions::default(), NOW).unwrap();
        assert!(v.may_see("a.myshopify.com").is_ok());
        assert!(matches!(
            v.may_see("b.myshopify.com"),
            Err(ConsoleError::OtherShop)
        ));
        assert_eq!(v.actor(), "console:shopify-user:42@a.myshopify.com");
    }

    #[test]
    fn expired_and_forged_tokens_are_refused_even_with_a_session_cookie() {
        let sessions = Sessions::default();
        let id = sessions.open("ops".to_owned());
        for t in [
            token_for("a.myshopify.com", NOW - 120, b"app-secret"),
            token_for("a.myshopify.com", NOW, b"forged"),
        ] {
            let mut h = bearer(&t);
            h.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("so_console={id}")).unwrap(),
            );
            let refused = viewer(&h, None, Some(&app()), &sessions, NOW);
            assert!(matches!(refused, Err(ConsoleError::IdToken(_))), "{t}");
        }
    }

    #[test]
    fn the_query_token_is_taken_on_page_loads_and_needs_the_app() {
        let t = token_for("a.myshopify.com", NOW, b"app-secret");
        let v = viewer(
            &HeaderMap::new(),
            Some(&t),
            Some(&app()),
            &Sessions::default(),
            NOW,
        );
        assert_eq!(v.unwrap().only_shop(), Some("a.myshopify.com"));
        let off = viewer(&HeaderMap::new(), Some(&t), None, &Sessions::default(), NOW);
        assert!(matches!(off, Err(ConsoleError::EmbeddedOff)));
    }

    #[test]
    fn no_cookie_or_an_unknown_one_asks_for_a_login() {
        let mut h = HeaderMap::new();
        let none = viewer(&h, None, None, &Sessions::default(), NOW);
        assert!(matches!(none, Err(ConsoleError::LoginRequired)));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("so_console=made-up"),
        );
        let unknown = viewer(&h, None, None, &Sessions::default(), NOW);
        assert!(matches!(unknown, Err(ConsoleError::LoginRequired)));
    }

    #[test]
    fn an_ops_form_needs_its_sessions_csrf_token() {
        let sessions = Sessions::default();
        let id = sessions.open("ops".to_owned());
        let session = sessions.get(&id).unwrap();
        let v = Viewer::Ops {
            id,
            session: session.clone(),
        };
        assert!(matches!(v.check_csrf(None), Err(ConsoleError::Csrf)));
        assert!(matches!(
            v.check_csrf(Some("nope")),
            Err(ConsoleError::Csrf)
        ));
        assert!(v.check_csrf(Some(&session.csrf)).is_ok());
    }
}
