//! Typed configuration, loaded once at start-up.
//!
//! Layers, later ones win: built-in defaults (the `Default` impls below,
//! documented in docs/configuration.md), an optional TOML file given with
//! `--config`, then environment variables `SO_<SECTION>__<KEY>`.
//! Unknown keys are errors that name the key; after loading, [`Config::problems`]
//! checks values and cross-field rules, each message naming its key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use so_domain::ShopDomain;
use so_domain::merchant::{
    AbandonedCheckoutSettings, BehaviourAttributes, ListSettings, ProfileFilter,
};
use so_ometria::OmetriaSettings;
use so_queue::AmqpSettings;

use crate::secrets::{SecretList, optional_secret};

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "SO_";

/// Keys whose environment values are taken verbatim, never parsed.
const VERBATIM_KEYS: &[&str] = &[
    "url",
    "api_url",
    "api_key",
    "admin_token",
    "webhook_secrets",
    "prefix",
    "namespace",
    "access_token",
];

/// The whole configuration of one process.
#[derive(Debug, Clone, Deserialize, Default)]
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
    /// reconciliation); per-shop access tokens are under `[shops.*.admin]`.
    pub shopify_admin: so_shopify_admin::AdminSettings,
    pub sync: SyncSettings,
    pub worker: WorkerSettings,
    pub log: LogSettings,
}

/// `[sync]`: the jobs beside the webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    /// How often Ometria unsubscribes are written back to Shopify, in
    /// seconds (Ometria's own connector runs every five minutes).
    pub consent_interval_secs: u64,
    /// Where a shop's first consent write-back starts reading Ometria
    /// unsubscribes (RFC 3339 or `YYYY-MM-DD`); without one, a day before
    /// the first run.
    pub consent_start: Option<String>,
    /// How often the reconciliation runs inside `run`, in seconds (0: never).
    pub reconcile_interval_secs: u64,
    /// The window a scheduled reconciliation compares, in days back from now.
    pub reconcile_window_days: u32,
    /// With the scheduled reconciliation, also re-sync what drifted.
    pub reconcile_repair: bool,
    /// Lines a backfill publishes between two checkpoints.
    pub backfill_checkpoint_every: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            consent_interval_secs: 300,
            consent_start: None,
            reconcile_interval_secs: 86_400,
            reconcile_window_days: 2,
            reconcile_repair: true,
            backfill_checkpoint_every: 500,
        }
    }
}

impl SyncSettings {
    /// `consent_start` as an instant.
    pub fn consent_start_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        self.consent_start
            .as_deref()
            .map(parse_date_time)
            .transpose()
            .map_err(|e| format!("sync.consent_start: {e}"))
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(10..=86_400).contains(&self.consent_interval_secs) {
            out.push("sync.consent_interval_secs must be 10..=86400".to_owned());
        }
        if let Err(e) = self.consent_start_at() {
            out.push(e);
        }
        if self.reconcile_interval_secs != 0 && self.reconcile_interval_secs < 60 {
            out.push("sync.reconcile_interval_secs must be 0 (off) or at least 60".to_owned());
        }
        if !(1..=365).contains(&self.reconcile_window_days) {
            out.push("sync.reconcile_window_days must be 1..=365".to_owned());
        }
        if !(1..=1_000_000).contains(&self.backfill_checkpoint_every) {
            out.push("sync.backfill_checkpoint_every must be 1..=1000000".to_owned());
        }
        out
    }
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 instant.
pub fn parse_date_time(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{raw:?} is neither YYYY-MM-DD nor an RFC 3339 time"))
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default under `./data/`) or
    /// `postgres://...` for several workers.
    pub url: SecretString,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: SecretString::from("sqlite://data/shopify-ometria.db?mode=rwc"),
        }
    }
}

/// `[ingress]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngressSettings {
    /// Address of the webhook listener.
    pub listen: SocketAddr,
    /// Largest accepted body. The default (2 MiB) holds an order with 250
    /// fully detailed line items with room to spare.
    pub max_body_bytes: usize,
    /// How long a client may take to send the body before 408 (slow senders
    /// would otherwise hold connections open).
    pub body_timeout_ms: u64,
    /// Seconds in the `Retry-After` of a 503.
    pub retry_after_secs: u32,
}

impl Default for IngressSettings {
    fn default() -> Self {
        IngressSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 2 * 1024 * 1024,
            body_timeout_ms: 10_000,
            retry_after_secs: 5,
        }
    }
}

/// `[ops]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSettings {
    /// Address of `/metrics`, `/healthz`, `/readyz` and the admin API.
    pub listen: SocketAddr,
    /// Bearer token of the admin API; without one the admin API is off.
    #[serde(deserialize_with = "optional_secret")]
    pub admin_token: Option<SecretString>,
    /// How often queue depths are polled for `/metrics`, in seconds.
    pub queue_poll_secs: u64,
    /// After SIGTERM, how long in-flight work may drain before the process
    /// exits anyway, leaving unacknowledged messages to the broker (safe:
    /// they are redelivered and deduplicated). Under Kubernetes' default
    /// 30 s termination grace.
    pub shutdown_grace_secs: u64,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            admin_token: None,
            queue_poll_secs: 15,
            shutdown_grace_secs: 20,
        }
    }
}

/// `[shopify]`: settings for every shop without its own entry.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ShopifySettings {
    /// Webhook signing secrets; any one verifies (secret rotation). With no
    /// `[shops]` table every shop domain is verified against these.
    pub webhook_secrets: SecretList,
}

/// `[shops."<name>.myshopify.com"]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopSettings {
    /// This shop's webhook secrets; empty means `shopify.webhook_secrets`.
    pub webhook_secrets: SecretList,
    /// Prefix of this shop's Ometria ids in a multi-store account (`uk:`).
    pub namespace: String,
    /// A disabled shop's webhooks are still received and queued, but not
    /// pushed to Ometria until it is enabled again.
    pub enabled: bool,
    /// This shop's own Ometria account (key, endpoint, budget); unset keys
    /// come from `[ometria]`.
    pub ometria: ShopOmetria,
    /// `all` or `subscribers` (only email subscribers reach Ometria).
    pub profiles: ProfileFilter,
    /// Extra Shopify fields into Ometria `properties`, per record type.
    pub mappings: ShopMappings,
    /// Behavioural attributes kept on the contact, each on or off.
    pub behaviour: BehaviourAttributes,
    /// Ometria lists synced contacts join and leave.
    pub lists: ListSettings,
    pub abandoned_checkouts: AbandonedCheckoutSettings,
    /// Access to the shop's Admin API (backfill, consent write-back,
    /// reconciliation).
    pub admin: ShopAdmin,
}

/// `[shops."<domain>".admin]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopAdmin {
    /// The app's Admin API access token for this shop (`shpat_…`).
    #[serde(deserialize_with = "optional_secret")]
    pub access_token: Option<SecretString>,
    /// Base URL instead of `https://<domain>` (a proxy, or a fake in tests).
    pub api_url: Option<String>,
}

impl Default for ShopSettings {
    fn default() -> Self {
        ShopSettings {
            webhook_secrets: SecretList::default(),
            namespace: String::new(),
            enabled: true,
            ometria: ShopOmetria::default(),
            profiles: ProfileFilter::All,
            mappings: ShopMappings::default(),
            behaviour: BehaviourAttributes::default(),
            lists: ListSettings::default(),
            abandoned_checkouts: AbandonedCheckoutSettings::default(),
            admin: ShopAdmin::default(),
        }
    }
}

/// `[shops."<domain>".ometria]`: overrides of `[ometria]` for one shop.
/// Shops with the same endpoint and key share one account: one request
/// budget, one pause after a 429.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopOmetria {
    pub api_url: Option<String>,
    #[serde(deserialize_with = "optional_secret")]
    pub api_key: Option<SecretString>,
    pub requests_per_second: Option<f64>,
    pub batch_max_records: Option<usize>,
}

impl ShopOmetria {
    pub fn is_empty(&self) -> bool {
        self.api_url.is_none()
            && self.api_key.is_none()
            && self.requests_per_second.is_none()
            && self.batch_max_records.is_none()
    }
}

/// `[shops."<domain>".mappings.<contact|order|product>]`: property name =
/// Shopify source path (docs/mapping.md, "Merchant field mappings").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopMappings {
    pub contact: BTreeMap<String, String>,
    pub order: BTreeMap<String, String>,
    pub product: BTreeMap<String, String>,
}

/// `[worker]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Batch processors per process. Each owns a fixed subset of the
    /// partitions, so one entity is only ever handled by one of them.
    pub concurrency: u16,
    /// Unacked deliveries per partition consumer. Bounds memory: at most
    /// `partitions x prefetch` messages are held by one worker.
    pub prefetch: u16,
    /// Most events collected into one batch.
    pub batch_max_events: usize,
    /// How long a batch waits for more events after its first one; longer
    /// windows coalesce more updates and fill Ometria requests better.
    pub batch_window_ms: u64,
    /// Processing attempts before a transiently failing event is
    /// dead-lettered (`retries_exhausted`). With the default tiers, 30
    /// attempts ride out about a day of Ometria outage.
    pub max_attempts: u32,
    /// How long a webhook id is remembered for deduplication, in hours.
    pub dedupe_window_hours: u64,
    /// Database connections of the store.
    pub database_connections: u32,
    /// Worker processes sharing one store split the partitions between the
    /// ones seen within this many seconds; a process that dies without
    /// leaving gives its partitions up after this long.
    pub lease_secs: u64,
    /// How many days a `customers/data_request` export is kept in the store
    /// (served by `/admin/exports`) before it is deleted.
    pub export_retention_days: u32,
    /// How often open Ometria data-deletion requests are checked, in seconds.
    pub erasure_poll_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 4,
            prefetch: 500,
            batch_max_events: 1_000,
            batch_window_ms: 250,
            max_attempts: 30,
            dedupe_window_hours: 72,
            database_connections: 8,
            lease_secs: 10,
            export_retention_days: 30,
            erasure_poll_secs: 600,
        }
    }
}

impl WorkerSettings {
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=64).contains(&self.concurrency) {
            out.push("worker.concurrency must be 1..=64".to_owned());
        }
        if !(1..=10_000).contains(&self.prefetch) {
            out.push("worker.prefetch must be 1..=10000".to_owned());
        }
        if !(1..=100_000).contains(&self.batch_max_events) {
            out.push("worker.batch_max_events must be 1..=100000".to_owned());
        }
        if !(1..=10_000).contains(&self.batch_window_ms) {
            out.push("worker.batch_window_ms must be 1..=10000".to_owned());
        }
        if !(1..=100).contains(&self.max_attempts) {
            out.push("worker.max_attempts must be 1..=100".to_owned());
        }
        if !(1..=720).contains(&self.dedupe_window_hours) {
            out.push("worker.dedupe_window_hours must be 1..=720".to_owned());
        }
        if !(3..=300).contains(&self.lease_secs) {
            out.push("worker.lease_secs must be 3..=300".to_owned());
        }
        if !(1..=3_650).contains(&self.export_retention_days) {
            out.push("worker.export_retention_days must be 1..=3650".to_owned());
        }
        if !(1..=86_400).contains(&self.erasure_poll_secs) {
            out.push("worker.erasure_poll_secs must be 1..=86400".to_owned());
        }
        if !(1..=256).contains(&self.database_connections) {
            out.push("worker.database_connections must be 1..=256".to_owned());
        }
        out
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `tracing` filter directives; `RUST_LOG` overrides.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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

impl Config {
    /// Loads from an optional file and the given environment, then
    /// validates. Tests pass their own environment instead of mutating the
    /// process's.
    pub fn load<I, K, V>(file: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut figment = Figment::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
                path: path.display().to_string(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
        }
        for (key, value) in env {
            let Some(rest) = key.as_ref().strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path = rest.to_ascii_lowercase().replace("__", ".");
            // Same scalar syntax as figment's Env provider (numbers, bools,
            // quoted strings); anything else stays a string.
            // Same scalar syntax as figment's Env provider (numbers, bools,
            // lists), except for secrets and URLs, which keep their exact text
            // (a digits-only API key must not become a number).
            let leaf = path.rsplit('.').next().unwrap_or_default();
            let parsed: Value = if VERBATIM_KEYS.contains(&leaf) {
                Value::from(value.as_ref())
            } else {
                value
                    .as_ref()
                    .parse()
                    .unwrap_or_else(|_| Value::from(value.as_ref()))
            };
            figment = figment.merge(Serialized::default(&path, parsed));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Parse(describe(e)))?;
        config.amqp.scheduled_delays_secs = config
            .shops
            .values()
            .filter(|s| s.abandoned_checkouts.enabled)
            .map(|s| s.abandoned_checkouts.delay_secs)
            .collect();
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Every invalid value, each message naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.amqp.problems();
        if !(1024..=64 * 1024 * 1024).contains(&self.ingress.max_body_bytes) {
            out.push("ingress.max_body_bytes must be between 1024 and 67108864".to_owned());
        }
        if !(100..=60_000).contains(&self.ingress.body_timeout_ms) {
            out.push("ingress.body_timeout_ms must be 100..=60000".to_owned());
        }
        if self.ingress.listen == self.ops.listen && self.ingress.listen.port() != 0 {
            out.push("ops.listen must differ from ingress.listen".to_owned());
        }
        if self.ops.queue_poll_secs == 0 {
            out.push("ops.queue_poll_secs must be at least 1".to_owned());
        }
        if !(1..=3600).contains(&self.ops.shutdown_grace_secs) {
            out.push("ops.shutdown_grace_secs must be between 1 and 3600".to_owned());
        }
        if self
            .ops
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            out.push("ops.admin_token must be at least 16 characters".to_owned());
        }
        let db = self.database.url.expose_secret();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            out.push(
                "database.url must start with sqlite:, postgres:// or postgresql://".to_owned(),
            );
        }
        if !(self.ometria.api_url.starts_with("http://")
            || self.ometria.api_url.starts_with("https://"))
        {
            out.push("ometria.api_url must be an http(s) URL".to_owned());
        }
        if let Err(e) = self.ometria.validate() {
            out.push(e.to_string());
        }
        out.extend(self.worker.problems());
        out.extend(self.sync.problems());
        if let Err(e) = self.shopify_admin.validate() {
            out.push(format!("shopify_admin: {e}"));
        }
        out.extend(self.account_conflicts());
        for (domain, shop) in &self.shops {
            if ShopDomain::parse(domain).is_err() {
                out.push(format!(
                    "shops.\"{domain}\" is not a <name>.myshopify.com domain"
                ));
            }
            let ns_ok = shop.namespace.len() <= 16
                && shop
                    .namespace
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'));
            if !ns_ok {
                out.push(format!(
                    "shops.\"{domain}\".namespace must be at most 16 letters, digits, ':', '-' or '_'"
                ));
            }
            let at = |problem: String| format!("shops.\"{domain}\".{problem}");
            if let (false, Err(e)) = (
                shop.ometria.is_empty(),
                self.ometria_for_settings(shop).validate(),
            ) {
                out.push(at(e.to_string()));
            }
            out.extend(shop.abandoned_checkouts.problems().into_iter().map(at));
            if let Err(problems) = so_domain::mapping::FieldMappings::build(
                &shop.mappings.contact,
                &shop.mappings.order,
                &shop.mappings.product,
            ) {
                out.extend(problems.into_iter().map(at));
            }
            if let Some(url) = &shop.admin.api_url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                out.push(at("admin.api_url must be an http(s) URL".to_owned()));
            }
            for (kind, lists) in [
                ("every_contact", &shop.lists.every_contact),
                ("subscribers", &shop.lists.subscribers),
            ] {
                if lists.len() > 20 || lists.contains(&0) {
                    out.push(at(format!(
                        "lists.{kind} must hold at most 20 Ometria list ids, none of them 0"
                    )));
                }
            }
        }
        out
    }

    /// Shops that share one Ometria account (same endpoint and key) share
    /// one request budget, so they must agree on it.
    fn account_conflicts(&self) -> Vec<String> {
        let mut seen: Vec<((String, String), &str, f64)> = Vec::new();
        let mut out = Vec::new();
        let global = ("[ometria]", &self.ometria);
        let per_shop = self
            .shops
            .iter()
            .filter(|(_, s)| !s.ometria.is_empty())
            .map(|(d, s)| (d.as_str(), self.ometria_for_settings(s)));
        for (name, o) in std::iter::once((global.0, global.1.clone())).chain(per_shop) {
            let key = o.account_key();
            match seen.iter().find(|(k, _, _)| *k == key) {
                Some((_, other, rps)) if (*rps - o.requests_per_second).abs() > f64::EPSILON => {
                    out.push(format!(
                        "shops.\"{name}\".ometria.requests_per_second differs from {other}, which uses the same Ometria account (api_url and api_key); one account has one budget"
                    ));
                }
                Some(_) => {}
                None => seen.push((key, name, o.requests_per_second)),
            }
        }
        out
    }

    /// The settings of `shop`: its own entry, else the defaults.
    pub fn shop(&self, shop: &ShopDomain) -> &ShopSettings {
        static DEFAULT: std::sync::LazyLock<ShopSettings> =
            std::sync::LazyLock::new(ShopSettings::default);
        self.shops.get(shop.as_str()).unwrap_or(&DEFAULT)
    }

    /// The Ometria settings `shop` pushes with: `[ometria]` with the shop's
    /// overrides applied.
    pub fn ometria_for(&self, shop: &ShopDomain) -> OmetriaSettings {
        self.ometria_for_settings(self.shop(shop))
    }

    fn ometria_for_settings(&self, shop: &ShopSettings) -> OmetriaSettings {
        let mut settings = self.ometria.clone();
        let own = &shop.ometria;
        if let Some(url) = &own.api_url {
            settings.api_url.clone_from(url);
        }
        if let Some(key) = &own.api_key {
            settings.api_key = Some(key.clone());
        }
        if let Some(rps) = own.requests_per_second {
            settings.requests_per_second = rps;
        }
        if let Some(n) = own.batch_max_records {
            settings.batch_max_records = n;
        }
        settings
    }

    /// Warnings that do not stop the service.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.shops.is_empty() && self.shopify.webhook_secrets.is_empty() {
            out.push("shopify.webhook_secrets is empty and no [shops] are configured: every webhook will be rejected with 401 unknown_shop".to_owned());
        }
        for (domain, shop) in &self.shops {
            if shop.webhook_secrets.is_empty() && self.shopify.webhook_secrets.is_empty() {
                out.push(format!("shops.\"{domain}\".webhook_secrets is empty and so is shopify.webhook_secrets: its webhooks will be rejected"));
            }
        }
        let every_shop_has_a_key =
            !self.shops.is_empty() && self.shops.values().all(|s| s.ometria.api_key.is_some());
        if self.ometria.api_key.is_none() && !every_shop_has_a_key {
            out.push("ometria.api_key is not set: nothing can be pushed to Ometria".to_owned());
        }
        for (domain, shop) in &self.shops {
            let c = &shop.abandoned_checkouts;
            if c.enabled {
                out.push(format!(
                    "shops.\"{domain}\".abandoned_checkouts is on: Ometria must have set up the custom event type \"{}\" before its events are accepted",
                    c.event_type
                ));
            }
        }
        out
    }

    /// The secrets that verify webhooks of `shop`, or `None` for a shop this
    /// deployment does not serve.
    pub fn secrets_for(&self, shop: &ShopDomain) -> Option<&[secrecy::SecretString]> {
        let global = self.shopify.webhook_secrets.as_slice();
        let secrets = if self.shops.is_empty() {
            global
        } else {
            let own = self.shops.get(shop.as_str())?;
            if own.webhook_secrets.is_empty() {
                global
            } else {
                own.webhook_secrets.as_slice()
            }
        };
        (!secrets.is_empty()).then_some(secrets)
    }
}

/// Figment's message plus the key path it concerns.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("{key}: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ENV: [(&str, &str); 0] = [];

    #[test]
    fn defaults_load_and_match_the_documented_interface() {
        let c = Config::load(None, NO_ENV).unwrap();
        assert_eq!(
            c.amqp.url.expose_secret(),
            "amqp://guest:guest@127.0.0.1:5672/%2f"
        );
        assert_eq!(c.amqp.prefix, "so");
        assert_eq!(c.ingress.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.ops.listen.to_string(), "127.0.0.1:9090");
        assert_eq!(c.ometria.api_url, "https://api.ometria.com");
        assert!(c.database.url.expose_secret().starts_with("sqlite://data/"));
    }

    #[test]
    fn environment_overrides_with_double_underscore_nesting() {
        let env = [
            ("SO_AMQP__PREFIX", "t1"),
            ("SO_AMQP__PARTITIONS", "3"),
            ("SO_INGRESS__LISTEN", "127.0.0.1:0"),
            ("SO_SHOPIFY__WEBHOOK_SECRETS", "old-secret, new-secret"),
            ("SO_OMETRIA__API_KEY", "12345"),
            ("PATH", "/usr/bin"),
        ];
        let c = Config::load(None, env).unwrap();
        assert_eq!(c.amqp.prefix, "t1");
        assert_eq!(c.amqp.partitions, 3);
        assert_eq!(c.shopify.webhook_secrets.as_slice().len(), 2);
        assert_eq!(c.ometria.api_key.unwrap().expose_secret(), "12345");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = Config::load(None, [("SO_AMQP__PREFX", "x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("prefx"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[ingress]\nlisten = \"127.0.0.1:1\"\nmax_bdy = 3\n").unwrap();
        let err = Config::load(Some(&path), NO_ENV).unwrap_err().to_string();
        assert!(err.contains("max_bdy"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let err = Config::load(None, [("SO_INGRESS__MAX_BODY_BYTES", "10")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ingress.max_body_bytes"), "{err}");
        let err = Config::load(None, [("SO_INGRESS__LISTEN", "nope")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ingress.listen"), "{err}");
    }

    #[test]
    fn per_shop_secrets_namespace_and_enabled_flag_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            r#"
[shopify]
webhook_secrets = ["global-secret"]
[shops."uk.myshopify.com"]
webhook_secrets = ["uk-1", "uk-2"]
namespace = "uk:"
[shops."de.myshopify.com"]
enabled = false
"#,
        )
        .unwrap();
        let c = Config::load(Some(&path), NO_ENV).unwrap();
        let uk = ShopDomain::parse("uk.myshopify.com").unwrap();
        let de = ShopDomain::parse("de.myshopify.com").unwrap();
        let other = ShopDomain::parse("other.myshopify.com").unwrap();
        assert_eq!(c.secrets_for(&uk).unwrap().len(), 2);
        assert_eq!(
            c.secrets_for(&de).unwrap()[0].expose_secret(),
            "global-secret"
        );
        assert!(c.secrets_for(&other).is_none());
        assert!(!c.shops["de.myshopify.com"].enabled);
        assert_eq!(c.shops["uk.myshopify.com"].namespace, "uk:");
    }

    fn load_file(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), NO_ENV)
    }

    #[test]
    fn merchant_settings_per_shop_load_with_their_defaults() {
        let c = load_file(
            r#"
[ometria]
api_key = "global-key"
[shops."uk.myshopify.com"]
namespace = "uk:"
profiles = "subscribers"
behaviour = { average_order_value = false }
lists = { every_contact = [10], subscribers = [42] }
abandoned_checkouts = { enabled = true, delay_secs = 1800, event_type = "basket_left" }
[shops."uk.myshopify.com".ometria]
api_url = "https://eu.ometria.example"
api_key = "uk-key"
requests_per_second = 2.5
[shops."uk.myshopify.com".mappings.contact]
loyalty_tier = "metafields.custom.loyalty_tier"
[shops."uk.myshopify.com".mappings.product]
brand = "vendor"
[shops."de.myshopify.com"]
"#,
        )
        .unwrap();
        let uk = ShopDomain::parse("uk.myshopify.com").unwrap();
        let de = ShopDomain::parse("de.myshopify.com").unwrap();
        let s = c.shop(&uk);
        assert_eq!(s.profiles, ProfileFilter::Subscribers);
        assert!(!s.behaviour.average_order_value && s.behaviour.orders_count);
        assert_eq!(s.lists.subscribers, [42]);
        assert_eq!(
            s.mappings.contact["loyalty_tier"],
            "metafields.custom.loyalty_tier"
        );
        let o = c.ometria_for(&uk);
        assert_eq!(o.api_url, "https://eu.ometria.example");
        assert_eq!(o.api_key.unwrap().expose_secret(), "uk-key");
        assert_eq!(o.requests_per_second, 2.5);
        assert_eq!(
            c.ometria_for(&de).api_key.unwrap().expose_secret(),
            "global-key"
        );
        assert_eq!(c.shop(&de).profiles, ProfileFilter::All);
        assert!(!c.shop(&de).abandoned_checkouts.enabled);
        assert_eq!(c.amqp.scheduled_delays_secs, [1800]);
        let view = masked_view(&c).to_string();
        assert!(
            !view.contains("uk-key") && !view.contains("global-key"),
            "{view}"
        );
        assert!(view.contains("loyalty_tier"));
    }

    #[test]
    fn every_bad_shop_setting_is_reported_naming_the_shop_and_key() {
        let err = load_file(
            r#"
[shops."uk.myshopify.com"]
abandoned_checkouts = { delay_secs = 0 }
lists = { subscribers = [0] }
[shops."uk.myshopify.com".ometria]
api_url = "ftp://nope"
[shops."uk.myshopify.com".mappings.contact]
tier = "metafield.custom.tier"
[shops."uk.myshopify.com".mappings.order]
shopify_tags = "tags"
"#,
        )
        .unwrap_err();
        let ConfigError::Invalid(problems) = err else {
            panic!("{err}")
        };
        let text = problems.join("\n");
        for wanted in [
            "shops.\"uk.myshopify.com\".abandoned_checkouts.delay_secs",
            "shops.\"uk.myshopify.com\".lists.subscribers",
            "shops.\"uk.myshopify.com\".ometria.api_url",
            "shops.\"uk.myshopify.com\".mappings.contact.tier",
            "shops.\"uk.myshopify.com\".mappings.order.shopify_tags",
        ] {
            assert!(text.contains(wanted), "{wanted} missing in:\n{text}");
        }
        let err =
            load_file("[shops.\"uk.myshopify.com\".mappings.contact]\ntier = 3\n").unwrap_err();
        assert!(err.to_string().contains("mappings.contact.tier"), "{err}");
    }

    #[test]
    fn shops_sharing_an_account_must_share_its_budget() {
        let err = load_file(
            r#"
[ometria]
api_key = "k"
[shops."uk.myshopify.com".ometria]
requests_per_second = 8
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("same Ometria account"), "{err}");
    }

    #[test]
    fn without_a_shop_table_every_shop_uses_the_global_secrets() {
        let c = Config::load(None, [("SO_SHOPIFY__WEBHOOK_SECRETS", "s")]).unwrap();
        assert!(
            c.secrets_for(&ShopDomain::parse("any.myshopify.com").unwrap())
                .is_some()
        );
        let c = Config::load(None, NO_ENV).unwrap();
        assert!(
            c.secrets_for(&ShopDomain::parse("any.myshopify.com").unwrap())
                .is_none()
        );
    }
}

/// The effective configuration as JSON, every secret masked (for
/// `check-config`).
pub fn masked_view(config: &Config) -> serde_json::Value {
    use crate::secrets::mask;
    use serde_json::json;
    let shops: serde_json::Map<String, serde_json::Value> = config
        .shops
        .iter()
        .map(|(domain, s)| {
            let secrets = if s.webhook_secrets.is_empty() {
                json!("(uses shopify.webhook_secrets)")
            } else {
                json!(s.webhook_secrets.masked())
            };
            let ometria = config.ometria_for_settings(s);
            let account = if s.ometria.is_empty() {
                json!("(uses [ometria])")
            } else {
                json!({
                    "api_url": ometria.api_url,
                    "api_key": ometria.api_key.as_ref().map(|k| mask(k.expose_secret())),
                    "requests_per_second": ometria.requests_per_second,
                    "batch_max_records": ometria.batch_max_records,
                })
            };
            let c = &s.abandoned_checkouts;
            (
                domain.clone(),
                json!({
                    "webhook_secrets": secrets,
                    "namespace": s.namespace,
                    "enabled": s.enabled,
                    "ometria": account,
                    "profiles": s.profiles.as_str(),
                    "mappings": {
                        "contact": s.mappings.contact,
                        "order": s.mappings.order,
                        "product": s.mappings.product,
                    },
                    "behaviour": s.behaviour.enabled(),
                    "lists": {
                        "every_contact": s.lists.every_contact,
                        "subscribers": s.lists.subscribers,
                    },
                    "abandoned_checkouts": {
                        "enabled": c.enabled,
                        "delay_secs": c.delay_secs,
                        "event_type": c.event_type,
                    },
                    "admin": {
                        "access_token": s.admin.access_token.as_ref().map(|t| mask(t.expose_secret())),
                        "api_url": s.admin.api_url,
                    },
                }),
            )
        })
        .collect();
    let a = &config.amqp;
    json!({
        "amqp": {
            "url": mask_url_password(a.url.expose_secret()),
            "prefix": a.prefix,
            "partitions": a.partitions,
            "publisher_channels": a.publisher_channels,
            "confirm_timeout_ms": a.confirm_timeout_ms,
            "heartbeat_secs": a.heartbeat_secs,
            "max_queue_length": a.max_queue_length,
            "delivery_limit": a.delivery_limit,
            "retry_tiers_secs": a.retry_tiers_secs,
            "reconnect_min_ms": a.reconnect_min_ms,
            "reconnect_max_ms": a.reconnect_max_ms,
        },
        "database": {"url": mask_url_password(config.database.url.expose_secret())},
        "ingress": {
            "listen": config.ingress.listen.to_string(),
            "max_body_bytes": config.ingress.max_body_bytes,
            "body_timeout_ms": config.ingress.body_timeout_ms,
            "retry_after_secs": config.ingress.retry_after_secs,
        },
        "ops": {
            "listen": config.ops.listen.to_string(),
            "admin_token": config.ops.admin_token.as_ref().map(|t| mask(t.expose_secret())),
            "queue_poll_secs": config.ops.queue_poll_secs,
            "shutdown_grace_secs": config.ops.shutdown_grace_secs,
        },
        "shopify": {"webhook_secrets": config.shopify.webhook_secrets.masked()},
        "shops": shops,
        "worker": {
            "concurrency": config.worker.concurrency,
            "prefetch": config.worker.prefetch,
            "batch_max_events": config.worker.batch_max_events,
            "batch_window_ms": config.worker.batch_window_ms,
            "max_attempts": config.worker.max_attempts,
            "dedupe_window_hours": config.worker.dedupe_window_hours,
            "database_connections": config.worker.database_connections,
            "export_retention_days": config.worker.export_retention_days,
            "erasure_poll_secs": config.worker.erasure_poll_secs,
        },
        "ometria": {
            "api_url": config.ometria.api_url,
            "api_key": config.ometria.api_key.as_ref().map(|k| mask(k.expose_secret())),
            "requests_per_second": config.ometria.requests_per_second,
            "request_timeout_ms": config.ometria.request_timeout.as_millis() as u64,
            "batch_max_records": config.ometria.batch_max_records,
            "queue_low_watermark": config.ometria.queue_low_watermark,
            "rate_limit_pause_ms": config.ometria.rate_limit_pause.as_millis() as u64,
            "retry": {
                "initial_interval_ms": config.ometria.retry.initial_interval.as_millis() as u64,
                "max_interval_ms": config.ometria.retry.max_interval.as_millis() as u64,
                "max_elapsed_ms": config.ometria.retry.max_elapsed.as_millis() as u64,
                "multiplier": config.ometria.retry.multiplier,
            },
        },
        "shopify_admin": {"api_version": config.shopify_admin.api_version},
        "sync": {
            "consent_interval_secs": config.sync.consent_interval_secs,
            "consent_start": config.sync.consent_start,
            "reconcile_interval_secs": config.sync.reconcile_interval_secs,
            "reconcile_window_days": config.sync.reconcile_window_days,
            "reconcile_repair": config.sync.reconcile_repair,
        },
        "log": {"filter": config.log.filter, "format": format!("{:?}", config.log.format).to_lowercase()},
    })
}

/// `scheme://user:****@host/...`: the password never leaves the process.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let masked_authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}:****@{host}")
        }
        None => authority.to_owned(),
    };
    match path {
        Some(p) => format!("{scheme}://{masked_authority}/{p}"),
        None => format!("{scheme}://{masked_authority}"),
    }
}

#[cfg(test)]
mod masking_tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            mask_url_password("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:****@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            mask_url_password("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[test]
    fn masked_view_contains_no_secret() {
        let env = [
            ("SO_SHOPIFY__WEBHOOK_SECRETS", "supersecretvalue123"),
            ("SO_OMETRIA__API_KEY", "ometria-key-abcdef"),
        ];
        let c = Config::load(None, env).unwrap();
        let text = masked_view(&c).to_string();
        assert!(!text.contains("supersecretvalue"));
        assert!(!text.contains("ometria-key"));
        assert!(text.contains("****e123"));
    }
}
