//! `[database]`: the store every worker process (and the admin API) opens.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// `[database]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default under `./data/`) or
    /// `postgres://...` for several workers. Secret: a PostgreSQL URL may
    /// carry a password.
    #[serde(serialize_with = "so_domain::serde_secret::masked_url")]
    pub url: SecretString,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from("sqlite://data/shopify-ometria.db?mode=rwc"),
        }
    }
}

impl DatabaseSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let db = self.url.expose_secret();
        if db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://")
        {
            Vec::new()
        } else {
            vec!["database.url must start with sqlite:, postgres:// or postgresql://".to_owned()]
        }
    }
}
