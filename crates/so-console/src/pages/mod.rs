//! The pages, as maud templates: every interpolated value is HTML-escaped at compile-time
//! checked sites, so a shop or customer value such as `<script>` stays text.

pub(crate) mod activity;
pub(crate) mod error;
pub(crate) mod letters;
pub(crate) mod login;
pub(crate) mod mappings;
pub(crate) mod shop;
pub(crate) mod shops;
pub(crate) mod sync;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::auth::Viewer;

/// What the frame around a page needs to know.
#[derive(Clone, Copy)]
pub(crate) struct Chrome<'a> {
    pub(crate) viewer: Option<&'a Viewer>,
    /// The app's client id (public), for App Bridge on embedded pages.
    pub(crate) api_key: Option<&'a str>,
    /// App Bridge's script (`shopify.app.app_bridge_url`).
    pub(crate) app_bridge: &'a str,
}

impl Chrome<'_> {
    pub(crate) const BARE: Chrome<'static> = Chrome {
        viewer: None,
        api_key: None,
        app_bridge: so_platform::config::APP_BRIDGE_URL,
    };

    fn embedded(&self) -> bool {
        matches!(self.viewer, Some(Viewer::Embedded(_)))
    }
}

/// The page frame: head, top bar (ops: Shops and Log out) and `main`.
pub(crate) fn layout(chrome: Chrome<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · shopify-ometria" }
                link rel="stylesheet" href="/console/assets/console.css";
                @if chrome.embedded() {
                    @if let Some(key) = chrome.api_key {
                        meta name="shopify-api-key" content=(key);
                    }
                    script src=(chrome.app_bridge) {}
                }
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.topbar {
                    span.brand { "shopify-ometria" }
                    @if let Some(Viewer::Ops { session, .. }) = chrome.viewer {
                        nav {
                            a href="/console/" { "Shops" }
                            a href="/console/dead-letters" { "Dead letters" }
                            span.who { (session.who) }
                            form method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.plain type="submit" id="logout" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An HTML response with the console's headers. Embedded pages may be framed by their shop's
/// admin only; every other page by nobody.
pub(crate) fn html(viewer: Option<&Viewer>, page: Markup) -> Response {
    let csp = match viewer {
        Some(Viewer::Embedded(u)) => format!(
            "frame-ancestors https://{} https://admin.shopify.com;",
            u.shop
        ),
        _ => "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            .to_owned(),
    };
    let mut res = axum::response::Html(page.into_string()).into_response();
    let h = res.headers_mut();
    // A shop domain is plain ASCII (ShopDomain), so the value is always valid.
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// `at` in `zone`, as `shops show` writes local times.
pub(crate) fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    format!(
        "{} ({zone})",
        at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z")
    )
}

/// `—` for a missing value.
pub(crate) fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".to_owned())
}
