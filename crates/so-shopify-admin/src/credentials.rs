//! What a shop granted the service: how its Admin API token is obtained
//! (`shared/reference/shopify-apps.md` §1, "App types in 2026"), and where
//! the shop's API is.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use so_domain::ShopDomain;

/// How the Admin API token of a shop is obtained.
#[derive(Clone)]
pub enum Grant {
    /// A legacy admin-created custom app's `shpat_…` token, pasted into the
    /// configuration: it never expires (no such app can be created since
    /// 2026-01-01; existing ones keep working).
    StaticToken(SecretString),
    /// A Dev Dashboard app of the store's own organization: its client id
    /// and secret are exchanged for 24 h tokens (the client credentials
    /// grant).
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::StaticToken(_) => f.write_str("StaticToken(****)"),
            Grant::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"****")
                .finish(),
        }
    }
}

/// One shop's access to its Admin API.
#[derive(Debug, Clone)]
pub struct ShopCredentials {
    /// `{name}.myshopify.com`.
    pub shop_domain: String,
    pub grant: Grant,
    /// Replaces `https://{shop_domain}`: a proxy, or the fake's per-shop URL
    /// in tests.
    pub base_url: Option<String>,
}

impl ShopCredentials {
    /// A static token (sent as `X-Shopify-Access-Token`); the API is at
    /// `https://{shop_domain}`.
    pub fn new(shop_domain: &str, access_token: &str) -> Self {
        ShopCredentials {
            shop_domain: shop_domain.to_owned(),
            grant: Grant::StaticToken(SecretString::from(access_token.to_owned())),
            base_url: None,
        }
    }

    /// A Dev Dashboard app's client id and secret (client credentials grant).
    pub fn client_credentials(shop_domain: &str, client_id: &str, client_secret: &str) -> Self {
        ShopCredentials {
            shop_domain: shop_domain.to_owned(),
            grant: Grant::ClientCredentials {
                client_id: client_id.to_owned(),
                client_secret: SecretString::from(client_secret.to_owned()),
            },
            base_url: None,
        }
    }

    /// Points the client somewhere else (the fake).
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = Some(base_url.to_owned());
        self
    }

    /// `https://{shop_domain}`, or the override, without a trailing `/`.
    pub fn base(&self) -> String {
        match &self.base_url {
            Some(b) => b.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.shop_domain),
        }
    }

    /// `{base}/admin/api/{version}/graphql.json`.
    pub fn endpoint(&self, api_version: &str) -> String {
        graphql_endpoint(&self.base(), api_version)
    }

    /// `{base}/admin/oauth/access_token`.
    pub fn token_url(&self) -> String {
        format!("{}/admin/oauth/access_token", self.base())
    }

    /// Checks what can be checked before any request; each message names
    /// the value (`shop_domain`, `client_id`, …).
    pub fn validate(&self) -> Result<(), String> {
        if ShopDomain::parse(&self.shop_domain).is_err() {
            return Err(format!(
                "shop_domain {:?} is not a <name>.myshopify.com domain",
                self.shop_domain
            ));
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err("base_url must be an http(s) URL".to_owned());
        }
        match &self.grant {
            Grant::StaticToken(token) => visible("access_token", token.expose_secret()),
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => {
                visible("client_id", client_id)?;
                visible("client_secret", client_secret.expose_secret())
            }
        }
    }
}

pub(crate) fn graphql_endpoint(base: &str, api_version: &str) -> String {
    format!("{base}/admin/api/{api_version}/graphql.json")
}

/// Non-empty visible ASCII: what a header or form value can carry as is.
/// The message never quotes the value, which may be a secret.
fn visible(name: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{name} is empty"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("{name} must be visible ASCII without spaces"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_default_to_the_shop_domain() {
        let c = ShopCredentials::new("acme.myshopify.com", "shpat_x");
        assert_eq!(
            c.endpoint("2026-07"),
            "https://acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
        assert_eq!(
            c.token_url(),
            "https://acme.myshopify.com/admin/oauth/access_token"
        );
        let c = c.with_base_url("http://127.0.0.1:9/shops/acme.myshopify.com/");
        assert_eq!(
            c.endpoint("2026-07"),
            "http://127.0.0.1:9/shops/acme.myshopify.com/admin/api/2026-07/graphql.json"
        );
    }

    #[test]
    fn bad_values_are_named_and_secrets_never_quoted() {
        let bad = |c: ShopCredentials| c.validate().unwrap_err();
        assert!(bad(ShopCredentials::new("acme.example.com", "t")).contains("shop_domain"));
        assert!(bad(ShopCredentials::new("", "t")).contains("shop_domain"));
        assert_eq!(
            bad(ShopCredentials::new("acme.myshopify.com", " ")),
            "access_token is empty"
        );
        let shop = "acme.myshopify.com";
        assert_eq!(
            bad(ShopCredentials::client_credentials(shop, "", "s")),
            "client_id is empty"
        );
        assert_eq!(
            bad(ShopCredentials::client_credentials(shop, "id", "")),
            "client_secret is empty"
        );
        let spaced = bad(ShopCredentials::client_credentials(shop, "id", "sec ret"));
        assert!(spaced.starts_with("client_secret") && !spaced.contains("sec ret"));
        assert!(bad(ShopCredentials::new(shop, "t").with_base_url("ftp://x")).contains("base_url"));
        assert!(
            ShopCredentials::client_credentials(shop, "id", "secret")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn debug_shows_the_client_id_but_no_secret() {
        let c = ShopCredentials::client_credentials("a.myshopify.com", "the-id", "shpss_hush");
        let text = format!("{c:?}");
        assert!(text.contains("the-id") && !text.contains("hush"), "{text}");
        let text = format!(
            "{:?}",
            ShopCredentials::new("a.myshopify.com", "shpat_hush")
        );
        assert!(!text.contains("hush"), "{text}");
    }
}
