//! `[database]`: the store every worker process (and the admin API) opens.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::secrets::{SecretList, optional_secret};

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
    /// Key that seals secrets stored in the database (OAuth tokens):
    /// 32 bytes, base64 (`openssl rand -base64 32`).
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub secrets_key: Option<SecretString>,
    /// Earlier `secrets_key`s, still opening what they sealed until
    /// `shopify-ometria secrets rotate` has re-sealed it (docs/operations.md).
    pub previous_secrets_keys: SecretList,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from("sqlite://data/shopify-ometria.db?mode=rwc"),
            email_key: None,
            secrets_key: None,
            previous_secrets_keys: SecretList::default(),
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
        out.extend(self.sealer().err());
        out
    }

    /// The sealer of stored secrets, `None` without `secrets_key`; the
    /// error names the key.
    pub fn sealer(&self) -> Result<Option<so_store::Sealer>, String> {
        let Some(current) = &self.secrets_key else {
            return Ok(None);
        };
        let key = |name: String, s: &SecretString| {
            so_store::SealingKey::from_base64(s.expose_secret()).map_err(|e| format!("{name}: {e}"))
        };
        let current = key("database.secrets_key".to_owned(), current)?;
        let previous = self
            .previous_secrets_keys
            .as_slice()
            .iter()
            .enumerate()
            .map(|(i, s)| key(format!("database.previous_secrets_keys[{i}]"), s))
            .collect::<Result<Vec<_>, _>>()?;
        so_store::Sealer::new(current, previous)
            .map(Some)
            .map_err(|e| format!("database.previous_secrets_keys: {e}"))
    }

    pub(super) fn warnings(&self) -> Vec<String> {
        if self.email_key.is_none() {
            vec!["database.email_key is not set: the worker will not start (it stores guest emails as fingerprints keyed with it)".to_owned()]
        } else {
            Vec::new()
        }
    }
}
