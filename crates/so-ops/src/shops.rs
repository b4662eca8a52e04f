//! Shops as an operator sees and changes them: list, show (status), pause, resume (releasing
//! the shop's parked events in order), settings changes and their history. One implementation
//! behind the `shopify-ometria shops` command and the `/admin/shops` routes.

mod activity;
mod detail;
mod overview;
mod status;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use so_domain::ShopDomain;
use so_platform::Config;
use so_platform::shops_live::{self, ShopsSnapshot};
use so_store::{KeyChange, ShopSource, ShopWrite, ShopWriter};

pub use self::activity::{ACTIVITY_KINDS, ActivityEntry, SYNTHESIZED_ID_PREFIX, ShopActivityLog};
pub use self::detail::{
    OauthStatus, ProfileSendStatus, RejectionsStatus, ShopDetail, SubscriptionsStatus, Waiting,
};
pub use self::overview::{ShopLine, ShopsOverview};
pub use self::status::ShopStatus;
use crate::{OperationReport, OpsError, QueueOps};

/// Shop actions; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShopOps {
    queue: QueueOps,
    config: Arc<Config>,
}

/// What a pause, resume or settings change did.
#[derive(Debug, Clone, Serialize)]
pub struct ShopChangeReport {
    pub shop: String,
    /// The version now current.
    pub version: i64,
    /// `false`: it was so already; nothing was written.
    pub changed: bool,
    pub paused: bool,
    /// A resume's release of the shop's parked events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<OperationReport>,
}

/// One version in a shop's history.
#[derive(Debug, Clone, Serialize)]
pub struct ShopHistoryEntry {
    pub version: i64,
    pub actor: String,
    pub at: chrono::DateTime<Utc>,
    pub changes: Vec<KeyChange>,
}

impl ShopOps {
    pub fn new(queue: QueueOps, config: Arc<Config>) -> ShopOps {
        ShopOps { queue, config }
    }

    /// The settings `shop` is served with now (file and store merged), secrets unset.
    pub async fn settings(
        &self,
        shop: &str,
    ) -> Result<(ShopDomain, so_platform::ShopSettings), OpsError> {
        let domain = parse_shop(shop)?;
        let snap = self.snapshot().await?;
        let live = snap
            .shops
            .get(domain.as_str())
            .ok_or_else(|| OpsError::UnknownShop(domain.to_string()))?;
        Ok((domain, live.settings.clone()))
    }

    /// Every served shop, TOML and stored, as the store has them now.
    pub(crate) async fn snapshot(&self) -> Result<ShopsSnapshot, OpsError> {
        Ok(self.snapshot_and_rows().await?.0)
    }

    /// The snapshot and the stored rows it was merged from (their audit fields).
    pub(crate) async fn snapshot_and_rows(
        &self,
    ) -> Result<(ShopsSnapshot, Vec<so_store::StoredShop>), OpsError> {
        let store = self.queue.store();
        let revision = store.shops_revision().await?;
        let rows = store.shops().await?;
        let snap = ShopsSnapshot::merge(self.config.clone(), revision, &rows);
        Ok((snap, rows))
    }

    /// Pauses `shop`: from the next refresh on, every worker parks its events `shop_paused`.
    pub async fn pause(&self, shop: &str, actor: &str) -> Result<ShopChangeReport, OpsError> {
        self.set_paused(shop, true, actor).await
    }

    /// Resumes `shop`, waits until every live worker reports it applied the resume (it parks
    /// nothing more of it), then releases its parked events in the order they were parked.
    /// Released earlier, a worker not yet refreshed would park them again. A worker that does
    /// not report within the bound (its heartbeat lease and two refreshes) is warned of, and
    /// the release goes ahead.
    pub async fn resume(&self, shop: &str, actor: &str) -> Result<ShopChangeReport, OpsError> {
        let mut report = self.set_paused(shop, false, actor).await?;
        self.await_workers().await?;
        let domain = report.shop.clone();
        let only = |s: &str| s == domain;
        report.released = Some(self.queue.release_paused_shops(&only, actor).await?);
        Ok(report)
    }

    /// Until every worker seen within its lease has applied the store's shop revision now.
    async fn await_workers(&self) -> Result<(), OpsError> {
        let store = self.queue.store();
        let revision = store.shops_revision().await?;
        let refresh = self.config.shopify.shops_refresh;
        let lease = self.config.worker.lease;
        let bound = tokio::time::Instant::now() + lease + refresh * 2;
        let poll = (refresh / 4).max(Duration::from_millis(50));
        loop {
            let since = Utc::now() - chrono::Duration::from_std(lease).unwrap_or_default();
            let behind = store.workers_behind_shops(since, revision).await?;
            if behind.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= bound {
                tracing::warn!(
                    revision,
                    workers = behind.len(),
                    "Workers did not report the resume within their lease; releasing the parked events anyway (a late one may park some again: resume again)."
                );
                return Ok(());
            }
            tokio::time::sleep(poll).await;
        }
    }

    async fn set_paused(
        &self,
        shop: &str,
        paused: bool,
        actor: &str,
    ) -> Result<ShopChangeReport, OpsError> {
        let shop = parse_shop(shop)?;
        let store = self.queue.store();
        let by = ShopWriter {
            actor,
            now: Utc::now(),
        };
        let mut outcome = store.set_shop_paused(&shop, paused, by).await?;
        if outcome == ShopWrite::Unknown && self.config.shops.contains_key(shop.as_str()) {
            // Listed in the TOML file but no worker has started since: seed it now.
            shops_live::seed(store, &self.config, by.now).await?;
            outcome = store.set_shop_paused(&shop, paused, by).await?;
        }
        let changed = match outcome {
            ShopWrite::Written { .. } => true,
            ShopWrite::Unchanged => false,
            ShopWrite::Unknown | ShopWrite::ManagedAsCode => {
                return Err(OpsError::UnknownShop(shop.to_string()));
            }
        };
        let row = store
            .stored_shop(&shop)
            .await?
            .ok_or_else(|| OpsError::UnknownShop(shop.to_string()))?;
        tracing::info!(shop = %shop, paused, changed, version = row.version, %actor, "Shop pause state set.");
        Ok(ShopChangeReport {
            shop: shop.to_string(),
            version: row.version,
            changed,
            paused: row.paused,
            released: None,
        })
    }

    /// Replaces the settings of a shop managed in the store (creating it if new), validated
    /// as at start-up. Nothing is written when any value is refused.
    pub async fn set_settings(
        &self,
        shop: &str,
        settings: &Value,
        actor: &str,
    ) -> Result<ShopChangeReport, OpsError> {
        let shop = parse_shop(shop)?;
        if self.config.shops.contains_key(shop.as_str()) {
            return Err(OpsError::ManagedAsCode(shop.to_string()));
        }
        let store = self.queue.store();
        let previous = store.stored_shop(&shop).await?.map(|r| r.settings);
        let parsed = validate(&self.config, settings, previous.as_ref())?;
        let mut stored = shops_live::to_stored(&parsed);
        let by = ShopWriter {
            actor,
            now: Utc::now(),
        };
        // Secrets are sealed (or kept sealed as they were); `validate` refused them without a key.
        if let Some(sealer) = self.sealer()? {
            shops_live::seal_secrets(
                &mut stored,
                settings,
                &parsed,
                previous.as_ref(),
                &sealer,
                shop.as_str(),
            );
        }
        let changed = match store
            .put_shop_settings(&shop, &stored, ShopSource::Store, by)
            .await?
        {
            ShopWrite::Written { .. } => true,
            ShopWrite::Unchanged => false,
            ShopWrite::ManagedAsCode | ShopWrite::Unknown => {
                return Err(OpsError::ManagedAsCode(shop.to_string()));
            }
        };
        let row = store
            .stored_shop(&shop)
            .await?
            .ok_or_else(|| OpsError::UnknownShop(shop.to_string()))?;
        tracing::info!(shop = %shop, changed, version = row.version, %actor, "Shop settings written.");
        Ok(ShopChangeReport {
            shop: shop.to_string(),
            version: row.version,
            changed,
            paused: row.paused,
            released: None,
        })
    }

    fn sealer(&self) -> Result<Option<so_store::Sealer>, OpsError> {
        self.config
            .database
            .sealer()
            .map_err(|e| OpsError::InvalidSettings(vec![e]))
    }

    /// The versions of `shop`, newest first.
    pub async fn history(&self, shop: &str, limit: u32) -> Result<Vec<ShopHistoryEntry>, OpsError> {
        let shop = parse_shop(shop)?;
        let rows = self.queue.store().shop_history(&shop, limit).await?;
        if rows.is_empty() && !self.snapshot().await?.shops.contains_key(shop.as_str()) {
            return Err(OpsError::UnknownShop(shop.to_string()));
        }
        Ok(rows
            .into_iter()
            .map(|c| ShopHistoryEntry {
                version: c.version,
                actor: c.actor,
                at: c.at,
                changes: c.changes,
            })
            .collect())
    }
}

/// The keys of a shop's settings the API takes. Secrets among them (the Ometria
/// key, webhook secrets, the Admin API token or client secret) are stored sealed
/// and need `database.secrets_key`.
pub const SETTINGS_KEYS: [&str; 16] = [
    "admin",
    "mappings",
    "profile_sends",
    "timezone",
    "sync",
    "ometria",
    "webhook_secrets",
    "namespace",
    "enabled",
    "profiles",
    "lists",
    "behaviour",
    "abandoned_checkouts",
    "storefront_url",
    "store",
    "currency",
];

pub(crate) fn parse_shop(raw: &str) -> Result<ShopDomain, OpsError> {
    ShopDomain::parse(raw).map_err(|e| OpsError::invalid("shop", e.to_string()))
}

/// The settings as start-up would take them, or every problem, each naming its key.
/// `previous` is the stored form the write replaces: a secret the write leaves out keeps
/// its sealed value there, so it counts as set (an Admin API client id changed without
/// sending its secret again is valid).
fn validate(
    config: &Config,
    settings: &Value,
    previous: Option<&Value>,
) -> Result<so_platform::ShopSettings, OpsError> {
    if !settings.is_object() {
        return Err(OpsError::InvalidSettings(vec![
            "settings must be a JSON object".to_owned(),
        ]));
    }
    if let Some(key) = settings
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .find(|k| !SETTINGS_KEYS.contains(k))
    {
        return Err(OpsError::InvalidSettings(vec![format!(
            "settings.{key}: not settable through the API (it takes {}); set it in the configuration file",
            SETTINGS_KEYS.join(", ")
        )]));
    }
    if let Some(key) = shops_live::secret_key_in(settings)
        && !matches!(config.database.sealer(), Ok(Some(_)))
    {
        return Err(OpsError::InvalidSettings(vec![format!(
            "settings.{key}: a secret is stored sealed with database.secrets_key, which is not set; set it, or set the secret in the configuration file or the environment"
        )]));
    }
    let bad_secrets = secret_problems(settings);
    if !bad_secrets.is_empty() {
        return Err(OpsError::InvalidSettings(bad_secrets));
    }
    // A secret written as `null` is removed (see `seal_secrets`): parsed as unset.
    let settings = &without_null_secrets(&with_kept_secrets(settings, previous));
    let parsed = shops_live::from_stored(settings).map_err(|e| {
        OpsError::InvalidSettings(vec![format!("settings{}: {e}", failing_key(settings))])
    })?;
    let problems: Vec<String> = config
        .shop_problems(&parsed)
        .into_iter()
        .map(|p| format!("settings.{p}"))
        .collect();
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(OpsError::InvalidSettings(problems))
    }
}

/// Secrets given as something other than non-blank text (`null` removes one), each naming
/// its key; the value itself is never quoted.
fn secret_problems(settings: &Value) -> Vec<String> {
    let text = |v: &Value| {
        v.as_str()
            .is_some_and(|s| !s.trim().is_empty() && !s.contains(char::is_whitespace))
    };
    let mut out = Vec::new();
    for (parent, key, name) in SEALED_ONE {
        let v = settings.get(parent).and_then(|o| o.get(key));
        if v.is_some_and(|v| !v.is_null() && !text(v)) {
            out.push(format!(
                "settings.{name}: must be visible ASCII without spaces"
            ));
        }
    }
    // serde would also take a struct from a list of its fields.
    for key in ["ometria", "admin"] {
        if settings.get(key).is_some_and(|o| !o.is_object()) {
            out.push(format!("settings.{key}: must be an object"));
        }
    }
    let url = settings.get("ometria").and_then(|o| o.get("api_url"));
    if url.is_some_and(|u| !u.is_null() && !u.as_str().is_some_and(plain_url)) {
        out.push(
            "settings.ometria.api_url: must be http(s)://host[:port][/path], lower-case".to_owned(),
        );
    }
    if let Some(list) = settings.get("webhook_secrets").filter(|v| !v.is_null()) {
        let ok = list
            .as_array()
            .is_some_and(|a| (1..=5).contains(&a.len()) && a.iter().all(text));
        if !ok {
            out.push(
                "settings.webhook_secrets: must be a list of 1 to 5 secrets, each visible ASCII without spaces"
                    .to_owned(),
            );
        }
    }
    out
}

/// `http(s)://host[:port][/path][/]`: dot-separated lower-case labels of letters and digits,
/// a port of 1 to 4 digits, path segments of `[a-z0-9_-]`. Narrower than a URL on purpose:
/// the API documents exactly this (`docs/admin-api.yaml`), and it always parses.
fn plain_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let alnum = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let host_ok = host.split('.').all(alnum);
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit())
            && match p.len() {
                1..=4 => true,
                // Up to 65535, without a leading zero.
                5 => !p.starts_with('0') && p.parse::<u16>().is_ok(),
                _ => false,
            }
    });
    let segment = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    // Segments, the last one empty only for a trailing slash.
    let parts: Vec<&str> = path.split('/').collect();
    let path_ok = parts.split_last().is_some_and(|(last, before)| {
        before.iter().all(|t| segment(t)) && (last.is_empty() || segment(last))
    });
    host_ok && port_ok && path_ok
}

/// The secrets that are one text each, by path and dotted name (`webhook_secrets` is a list).
const SEALED_ONE: [(&str, &str, &str); 3] = [
    ("ometria", "api_key", "ometria.api_key"),
    ("admin", "access_token", "admin.access_token"),
    ("admin", "client_secret", "admin.client_secret"),
];

fn without_null_secrets(settings: &Value) -> Value {
    let mut out = settings.clone();
    if let Some(map) = out.as_object_mut() {
        if map.get("webhook_secrets").is_some_and(Value::is_null) {
            map.remove("webhook_secrets");
        }
        for (parent, key, _) in SEALED_ONE {
            if let Some(obj) = map.get_mut(parent).and_then(Value::as_object_mut)
                && obj.get(key).is_some_and(Value::is_null)
            {
                obj.remove(key);
            }
        }
    }
    out
}

/// `settings` for validation only, with a stand-in for each secret it leaves out that
/// `previous` holds sealed: that secret keeps its value (`seal_secrets`), so the rules
/// across keys see it set. The stand-in is never stored: only the written secrets are
/// sealed, and the stored form drops every secret.
fn with_kept_secrets(settings: &Value, previous: Option<&Value>) -> Value {
    let kept = previous
        .and_then(|p| p.get(shops_live::SEALED))
        .and_then(Value::as_object);
    let mut out = settings.clone();
    let (Some(kept), Some(map)) = (kept, out.as_object_mut()) else {
        return out;
    };
    for (parent, key, name) in SEALED_ONE {
        let written = map.get(parent).is_some_and(|o| o.get(key).is_some());
        if written || !kept.contains_key(name) {
            continue;
        }
        let obj = map
            .entry(parent.to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(obj) = obj.as_object_mut() {
            obj.insert(key.to_owned(), Value::String("kept-sealed".to_owned()));
        }
    }
    out
}

/// `.<key>` of the first top-level key that fails to parse alone, so a type error names its
/// key (serde's own message names only unknown keys).
fn failing_key(settings: &Value) -> String {
    settings
        .as_object()
        .into_iter()
        .flatten()
        .find(|(k, v)| {
            let alone = serde_json::json!({ k.as_str(): v });
            shops_live::from_stored(&alone).is_err()
        })
        .map(|(k, _)| format!(".{k}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::plain_url;

    #[test]
    fn plain_urls_are_the_documented_pattern() {
        for ok in [
            "https://api.ometria.com",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:65535",
            "https://eu.api/v2/x_y-z",
        ] {
            assert!(plain_url(ok), "{ok}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https://Api.com",
            "https://a..b",
            "https://a:65536",
            "https://a:01234",
            "https://a//",
            "https://a/b?c",
            "https://a b",
        ] {
            assert!(!plain_url(bad), "{bad}");
        }
    }
}
