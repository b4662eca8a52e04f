//! `[shopify.app]`: the app installed from a link (authorization code grant,
//! docs/shopify-setup.md "Installable app with OAuth"), and
//! `shopify.public_url`, the service's public HTTPS address its install
//! callback (and webhook subscriptions) are built on.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::secrets::optional_secret;

/// The scopes the service needs (as `deploy/shopify.app.toml` lists them).
pub const DEFAULT_SCOPES: &str =
    "read_customers,write_customers,read_orders,read_all_orders,read_products,read_checkouts";

/// `[shopify.app]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopifyApp {
    /// The app's client id (Dev Dashboard / Partner Dashboard). Unset: no
    /// OAuth install routes.
    pub client_id: Option<String>,
    /// The app's client secret: signs install callbacks and webhooks, and
    /// authenticates token requests.
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub client_secret: Option<SecretString>,
    /// Comma-separated access scopes asked for at install.
    pub scopes: String,
    /// A callback whose `timestamp` is further than this from now is refused.
    pub callback_max_age_secs: u64,
    /// How long an install's `state` nonce waits for its callback.
    pub state_lifetime_secs: u64,
    /// Instead of `https://{shop}` for the authorize redirect and the token
    /// endpoint, with `{shop}` replaced (a fake in tests).
    pub shop_url_template: Option<String>,
    /// The App Bridge script the console's embedded pages load (Shopify's CDN); another
    /// address serves a copy, or a stand-in in browser tests.
    pub app_bridge_url: String,
}

/// Where Shopify serves App Bridge (`../shared/reference/shopify-apps.md`, embedded pages).
pub const APP_BRIDGE_URL: &str = "https://cdn.shopify.com/shopifycloud/app-bridge.js";

impl Default for ShopifyApp {
    fn default() -> Self {
        ShopifyApp {
            client_id: None,
            client_secret: None,
            scopes: DEFAULT_SCOPES.to_owned(),
            callback_max_age_secs: 90,
            state_lifetime_secs: 600,
            shop_url_template: None,
            app_bridge_url: APP_BRIDGE_URL.to_owned(),
        }
    }
}

impl ShopifyApp {
    /// Whether OAuth installs are configured.
    pub fn is_configured(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    /// `https://{shop}`, or the template's address.
    pub fn shop_base(&self, shop: &str) -> String {
        match &self.shop_url_template {
            Some(t) => t.replace("{shop}", shop).trim_end_matches('/').to_owned(),
            None => format!("https://{shop}"),
        }
    }

    pub(super) fn problems(&self, public_url: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = app_bridge_problem(&self.app_bridge_url) {
            out.push(p);
        }
        let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        match (&self.client_id, &self.client_secret) {
            (None, None) => return out,
            (Some(_), None) => out
                .push("shopify.app.client_secret is not set (shopify.app.client_id is)".to_owned()),
            (None, Some(_)) => out
                .push("shopify.app.client_id is not set (shopify.app.client_secret is)".to_owned()),
            (Some(id), Some(secret)) => {
                if !visible(id) {
                    out.push(
                        "shopify.app.client_id must be visible ASCII without spaces".to_owned(),
                    );
                }
                if !visible(secret.expose_secret()) {
                    out.push(
                        "shopify.app.client_secret must be visible ASCII without spaces".to_owned(),
                    );
                }
            }
        }
        let scopes_ok = !self.scopes.is_empty()
            && self
                .scopes
                .split(',')
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        if !scopes_ok {
            out.push(
                "shopify.app.scopes must be a comma-separated list of scopes such as read_orders"
                    .to_owned(),
            );
        }
        if !(1..=3600).contains(&self.callback_max_age_secs) {
            out.push("shopify.app.callback_max_age_secs must be 1..=3600".to_owned());
        }
        if !(10..=3600).contains(&self.state_lifetime_secs) {
            out.push("shopify.app.state_lifetime_secs must be 10..=3600".to_owned());
        }
        if let Some(t) = &self.shop_url_template
            && !(t.starts_with("http://") || t.starts_with("https://"))
        {
            out.push("shopify.app.shop_url_template must be an http(s) URL".to_owned());
        }
        if public_url.is_none() {
            out.push("shopify.public_url must be set for OAuth installs (the callback is <public_url>/shopify/callback)".to_owned());
        }
        out
    }
}

/// `https://`, or `http://` on this machine only (a stand-in in tests): a page loading its
/// App Bridge over plain HTTP from elsewhere would hand its ID tokens to anyone on the path.
fn app_bridge_problem(url: &str) -> Option<String> {
    let plain = url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\'));
    let rest = url.strip_prefix("https://").or_else(|| {
        url.strip_prefix("http://").filter(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            matches!(host, "127.0.0.1" | "localhost" | "[::1]")
        })
    });
    match rest {
        Some(r) if plain && !r.is_empty() && !r.starts_with('/') => None,
        _ => Some(format!(
            "shopify.app.app_bridge_url must be an https URL (http only on 127.0.0.1 or localhost), got {url:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use crate::Config;
    use crate::secrets::SecretList;

    fn problems(edit: impl FnOnce(&mut Config)) -> Vec<String> {
        let mut c = Config::default();
        edit(&mut c);
        c.problems()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn an_oauth_app_needs_its_secret_a_public_url_and_a_secrets_key() {
        let p = problems(|c| c.shopify.app.client_id = Some("cid".to_owned()));
        assert!(
            p.iter().any(|m| m.starts_with("shopify.app.client_secret")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("shopify.public_url")),
            "{p:?}"
        );
        let p = problems(|c| {
            c.shopify.app.client_id = Some("cid".to_owned());
            c.shopify.app.client_secret = Some(SecretString::from("s3cret"));
            c.shopify.public_url = Some("http://so.example".to_owned());
            c.shopify.app.scopes = "read_orders, x".to_owned();
        });
        assert!(
            p.iter()
                .any(|m| m.starts_with("shopify.public_url must start with https://")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("shopify.app.scopes")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("database.secrets_key")),
            "{p:?}"
        );
        assert!(!p.iter().any(|m| m.contains("s3cret")));
        let ok = problems(|c| {
            c.shopify.app.client_id = Some("cid".to_owned());
            c.shopify.app.client_secret = Some(SecretString::from("s3cret"));
            c.shopify.public_url = Some("https://so.example".to_owned());
            c.database.secrets_key = Some(SecretString::from(KEY));
        });
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn app_bridge_is_loaded_over_https_or_from_this_machine() {
        for ok in [
            super::APP_BRIDGE_URL,
            "https://assets.example/app-bridge.js",
            "http://127.0.0.1:4312/app-bridge.js",
            "http://localhost/app-bridge.js",
        ] {
            let p = problems(|c| c.shopify.app.app_bridge_url = ok.to_owned());
            assert!(p.is_empty(), "{ok}: {p:?}");
        }
        for bad in [
            "",
            "http://cdn.example/app-bridge.js",
            "http://127.0.0.1.evil.example/x.js",
            "https:///x.js",
            "https://a.example/x.js\" onload=\"x",
            "cdn.shopify.com/app-bridge.js",
        ] {
            let p = problems(|c| c.shopify.app.app_bridge_url = bad.to_owned());
            assert!(
                p.iter()
                    .any(|m| m.starts_with("shopify.app.app_bridge_url must be an https URL")),
                "{bad}: {p:?}"
            );
        }
    }

    #[test]
    fn secrets_keys_are_checked_naming_the_key_and_masked() {
        let p = problems(|c| c.database.secrets_key = Some(SecretString::from("c2hvcnQ=")));
        assert!(
            p.iter().any(|m| m.starts_with("database.secrets_key: ")),
            "{p:?}"
        );
        let p = problems(|c| {
            c.database.secrets_key = Some(SecretString::from(KEY));
            c.database.previous_secrets_keys =
                SecretList(vec![SecretString::from("nope"), SecretString::from(KEY)]);
        });
        assert!(
            p.iter()
                .any(|m| m.starts_with("database.previous_secrets_keys[0]")),
            "{p:?}"
        );
        let mut c = Config::default();
        c.database.secrets_key = Some(SecretString::from(KEY));
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains(KEY), "{shown}");
        assert!(c.database.sealer().unwrap().is_some());
    }
}
