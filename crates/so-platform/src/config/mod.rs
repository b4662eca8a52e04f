//! Typed configuration, loaded once at start-up.
//!
//! Layers, later ones win: built-in defaults (the `Default` impls of the
//! section types, documented in docs/configuration.md), an optional TOML
//! file given with `--config`, then environment variables
//! `SO_<SECTION>__<KEY>` ([`load`](Config::load)). Unknown keys are errors
//! that name the key; after loading, [`Config::problems`] checks values and
//! cross-field rules, each message naming its key (`validate.rs`).
//!
//! # Who owns which section
//!
//! Adapters own theirs, beside the code that reads them: `[amqp]` is
//! [`so_queue::AmqpSettings`], `[ometria]` [`so_ometria::OmetriaSettings`],
//! `[shopify_admin]` [`so_shopify_admin::AdminSettings`]. The services'
//! sections live here, one file each (`ingress.rs`, `worker.rs`, `sync.rs`,
//! `ops.rs`), and so do the sections every service reads (`shops.rs`:
//! `[shopify]` and `[shops]`; `database.rs`; `log.rs`). They cannot move
//! into the service crates: every service reads more than its own section
//! (the ingress the shops' secrets and `[amqp]`, the worker the shops'
//! Ometria accounts and mappings, the scheduler `[shopify_admin]`), so the
//! services take the whole [`Config`], which must therefore sit below them,
//! and `so-platform` may not depend on a service.
//!
//! # Printing
//!
//! Every section is `Serialize` and writes the keys it reads, so
//! `check-config` prints `serde_json::to_string_pretty(&config)`. Secrets
//! are masked by the serializers of [`so_domain::serde_secret`] (and by
//! [`SecretList`](crate::secrets::SecretList)'s own impl); `SecretString` is
//! not `Serialize`, so a new secret field does not compile without one.
//! Durations are `Duration`s converted at this boundary by
//! [`so_domain::serde_duration`], written back in the units of their keys.

mod database;
#[cfg(test)]
mod doc_examples;
mod ingress;
mod load;
mod log;
mod ops;
mod rejections;
mod shop_admin;
mod shop_profiles;
mod shop_store;
mod shop_sync;
mod shopify_app;
mod shops;
mod sync;
#[cfg(test)]
mod tests;
mod validate;
mod webhooks;
mod worker;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use so_ometria::OmetriaSettings;
use so_queue::AmqpSettings;

pub use database::DatabaseSettings;
pub use ingress::IngressSettings;
pub use load::ENV_PREFIX;
pub use log::{LogFormat, LogSettings};
pub use ops::OpsSettings;
pub use rejections::RejectionSettings;
pub use shop_admin::ShopAdmin;
pub use shop_profiles::{MAX_ACTIVE_DAYS, ProfileSends, parse_at, parse_timezone};
pub use shop_sync::ShopSync;
pub use shopify_app::{APP_BRIDGE_URL, DEFAULT_SCOPES, ShopifyApp};
pub use shops::{ShopMappings, ShopOmetria, ShopSettings, ShopifySettings};
pub use so_domain::serde_secret::mask_url_password;
pub use sync::SyncSettings;
pub use worker::WorkerSettings;

/// The whole configuration of one process.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub amqp: AmqpSettings,
    pub database: DatabaseSettings,
    pub ingress: IngressSettings,
    pub ops: OpsSettings,
    pub shopify: ShopifySettings,
    /// Per-shop settings keyed by `<name>.myshopify.com` (TOML file only,
    /// since domains contain dots).
    pub shops: BTreeMap<String, ShopSettings>,
    pub ometria: OmetriaSettings,
    /// The Shopify Admin GraphQL API (backfill, consent write-back,
    /// reconciliation); per-shop access (a static token or a client id and
    /// secret) is under `[shops.*.admin]`.
    pub shopify_admin: so_shopify_admin::AdminSettings,
    pub sync: SyncSettings,
    pub worker: WorkerSettings,
    /// The watcher of Ometria's asynchronous validation errors.
    pub rejections: RejectionSettings,
    pub log: LogSettings,
}

/// Loading failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path} cannot be read")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Parse(String),
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}
