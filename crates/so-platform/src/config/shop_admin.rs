//! `[shops."<domain>".admin]`: how the service reaches a shop's Admin API
//! (backfill, consent write-back, reconciliation), in one of the two ways a
//! self-hosted deployment can be given (docs/shopify-setup.md): a legacy
//! custom app's static `shpat_` token, or the client id and secret of a Dev
//! Dashboard app of the store's own organization (client credentials
//! grant). Tokens of the grant are held in memory only.

use secrecy::{ExposeSecret, SecretString};
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use so_domain::ShopDomain;
use so_shopify_admin::ShopCredentials;

use super::Config;
use crate::secrets::optional_secret;

/// `[shops."<domain>".admin]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopAdmin {
    /// A legacy admin-created custom app's Admin API access token
    /// (`shpat_…`); it never expires. Not with `client_id`.
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub access_token: Option<SecretString>,
    /// The client id of a Dev Dashboard app of the store's own
    /// organization: with `client_secret`, the service obtains 24 h tokens
    /// itself (client credentials grant). Not a secret.
    pub client_id: Option<String>,
    /// That app's client secret (also the key its webhooks are signed with).
    #[serde(
        deserialize_with = "kept_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub client_secret: Option<SecretString>,
    /// Base URL instead of `https://<domain>` (a proxy, or a fake in tests).
    pub api_url: Option<String>,
}

impl ShopAdmin {
    /// Whether any way to the Admin API is configured.
    pub fn has_access(&self) -> bool {
        self.access_token.is_some() || self.client_id.is_some() || self.client_secret.is_some()
    }

    /// The shop's credentials for the Admin API client; `None` when nothing
    /// is configured. Valid once [`ShopAdmin::problems`] is empty.
    pub fn credentials(&self, shop: &ShopDomain) -> Option<ShopCredentials> {
        let credentials = match (&self.access_token, &self.client_id, &self.client_secret) {
            (Some(token), _, _) => ShopCredentials::new(shop.as_str(), token.expose_secret()),
            (None, Some(id), Some(secret)) => {
                ShopCredentials::client_credentials(shop.as_str(), id, secret.expose_secret())
            }
            _ => return None,
        };
        Some(match &self.api_url {
            Some(url) => credentials.with_base_url(url),
            None => credentials,
        })
    }

    /// Invalid values, each naming its key relative to the shop
    /// (`admin.client_id`…).
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(url) = &self.api_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            out.push("admin.api_url must be an http(s) URL".to_owned());
        }
        let grant = self.client_id.is_some() || self.client_secret.is_some();
        if self.access_token.is_some() && grant {
            out.push("admin.access_token and admin.client_id/client_secret are two ways to the Admin API: set one of them".to_owned());
        }
        if !grant {
            return out;
        }
        match &self.client_id {
            None => out.push("admin.client_id is not set (admin.client_secret is)".to_owned()),
            Some(id) if !visible(id) => out.push(
                "admin.client_id must not be empty and must be visible ASCII without spaces"
                    .to_owned(),
            ),
            Some(_) => {}
        }
        match &self.client_secret {
            None => out.push("admin.client_secret is not set (admin.client_id is)".to_owned()),
            Some(s) if !visible(s.expose_secret()) => out.push(
                "admin.client_secret must not be empty and must be visible ASCII without spaces"
                    .to_owned(),
            ),
            Some(_) => {}
        }
        out
    }
}

impl Config {
    /// A Dev Dashboard app signs its webhooks with its client secret: a
    /// shop whose client secret is not among its webhook secrets would
    /// have its webhooks refused.
    pub(super) fn admin_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (domain, shop) in &self.shops {
            let (Some(secret), Ok(parsed)) = (&shop.admin.client_secret, ShopDomain::parse(domain))
            else {
                continue;
            };
            let verified = self.secrets_for(&parsed).is_some_and(|list| {
                list.iter()
                    .any(|s| s.expose_secret() == secret.expose_secret())
            });
            if !verified {
                out.push(format!("shops.\"{domain}\".admin.client_secret is not among the shop's webhook secrets (webhook_secrets, else shopify.webhook_secrets): the app signs its webhooks with it, so they would be refused"));
            }
        }
        out
    }
}

fn visible(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Like [`optional_secret`], but an empty string stays an (empty) secret,
/// so `client_secret = ""` is reported instead of read as unset.
fn kept_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Text(s) => SecretString::from(s.trim().to_owned()),
        Raw::Number(n) => SecretString::from(n.to_string()),
    }))
}

#[cfg(test)]
mod tests;
