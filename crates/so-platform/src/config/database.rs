//! `[database]`: the store every worker process (and the admin API) opens.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::secrets::optional_secret;

/// Shortest accepted `database.email_key` (bytes).
const MIN_EMAIL_KEY_LEN: usize = 16;

/// `[database]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default under `./data/`) or
    /// `postgres://...` for several workers. Secret: a PostgreSQL URL may
    /// carry a password.
    #[serde(serialize_with = "so_domain::serde_secret::masked_url")]
    pub url: SecretString,
    /// Key of the HMAC-SHA256 fingerprints guest emails are stored as (so
    /// the database never holds a guest's address). The worker needs it;
    /// changing it orphans the guests remembered so far (docs/identity.md).
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub email_key: Option<SecretString>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from("sqlite://data/shopify-ometria.db?mode=rwc"),
            email_key: None,
        }
    }
}

impl DatabaseSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let db = self.url.expose_secret();
        let mut out = Vec::new();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            out.push(
                "database.url must start with sqlite:, postgres:// or postgresql://".to_owned(),
            );
        }
        if self
            .email_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < MIN_EMAIL_KEY_LEN)
        {
            out.push(format!(
                "database.email_key must be at least {MIN_EMAIL_KEY_LEN} characters"
            ));
        }
        out
    }

    pub(super) fn warnings(&self) -> Vec<String> {
        if self.email_key.is_none() {
            vec!["database.email_key is not set: the worker will not start (it stores guest emails as fingerprints keyed with it)".to_owned()]
        } else {
            Vec::new()
        }
    }
}
