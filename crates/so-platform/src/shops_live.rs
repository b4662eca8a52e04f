//! The shops every process serves, live: the TOML `[shops]` merged with the shops held in the
//! store, as one snapshot that is replaced whole when the store's shop revision moves. Readers
//! take the current snapshot without waiting; a store that cannot be reached keeps the last
//! snapshot (a webhook never fails because the store is down).
//!
//! Which wins: a shop listed in the TOML file is managed as code. Its TOML settings are written
//! to the store at start ([`seed`]) and win; only pausing is taken from the store. A shop only
//! in the store has its stored settings, with its own secrets where they were set (stored
//! sealed, opened here with `database.secrets_key`), else the deployment-wide ones
//! (`shopify.webhook_secrets`, `ometria.api_key`).

mod stored;

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use so_domain::ShopDomain;
use so_store::{ShopSource, ShopWrite, ShopWriter, Store, StoredShop};
use tokio::sync::watch;

pub use self::stored::{
    SEALED, from_stored, from_stored_sealed, reseal_secrets, seal_secrets, secret_key_in, to_stored,
};
use crate::{Config, ShopSettings, Shutdown};

/// The actor of writes made from the TOML file.
pub const CONFIG_ACTOR: &str = "config";

/// One shop as served now.
#[derive(Debug, Clone)]
pub struct LiveShop {
    /// Effective: `enabled` is false while the shop is paused.
    pub settings: ShopSettings,
    pub source: ShopSource,
    /// The stored version; 0 before the store was read.
    pub version: i64,
}

/// Every served shop at one revision of the store.
#[derive(Debug)]
pub struct ShopsSnapshot {
    /// The store's shop revision read; `None` while only the TOML file is known.
    pub revision: Option<i64>,
    pub shops: BTreeMap<String, LiveShop>,
    config: Arc<Config>,
}

impl ShopsSnapshot {
    /// The TOML shops alone: before the store answered, or without one.
    pub fn from_config(config: Arc<Config>) -> ShopsSnapshot {
        let shops = config
            .shops
            .iter()
            .map(|(d, s)| {
                let shop = LiveShop {
                    settings: s.clone(),
                    source: ShopSource::Config,
                    version: 0,
                };
                (d.clone(), shop)
            })
            .collect();
        ShopsSnapshot {
            revision: None,
            shops,
            config,
        }
    }

    /// The TOML shops with the stored ones merged in (see the module's header).
    pub fn merge(config: Arc<Config>, revision: i64, rows: &[StoredShop]) -> ShopsSnapshot {
        let mut snap = ShopsSnapshot::from_config(config);
        snap.revision = Some(revision);
        // Checked at start: a key that does not parse is refused there.
        let sealer = snap.config.database.sealer().ok().flatten();
        for row in rows {
            let live = match snap.config.shops.get(&row.domain) {
                Some(toml) => LiveShop {
                    settings: toml.clone(),
                    source: ShopSource::Config,
                    version: row.version,
                },
                None => match from_stored_sealed(&row.settings, sealer.as_ref(), &row.domain) {
                    Ok(settings) => LiveShop {
                        settings,
                        source: ShopSource::Store,
                        version: row.version,
                    },
                    Err(e) => {
                        tracing::error!(shop = %row.domain, version = row.version, error = %e, "Stored shop settings do not parse; the shop is not served.");
                        continue;
                    }
                },
            };
            let mut live = live;
            live.settings.enabled = !row.paused;
            snap.shops.insert(row.domain.clone(), live);
        }
        snap
    }

    /// The settings of `shop`: its own, else the defaults.
    pub fn shop(&self, shop: &ShopDomain) -> &ShopSettings {
        static DEFAULT: std::sync::LazyLock<ShopSettings> =
            std::sync::LazyLock::new(ShopSettings::default);
        self.shops
            .get(shop.as_str())
            .map_or(&DEFAULT, |s| &s.settings)
    }

    /// The secrets that verify webhooks of `shop`, or `None` for a shop not served: with no
    /// shop listed anywhere every shop is served with `shopify.webhook_secrets`.
    pub fn secrets_for(&self, shop: &ShopDomain) -> Option<&[SecretString]> {
        let global = self.config.shopify.webhook_secrets.as_slice();
        let secrets = if self.shops.is_empty() {
            global
        } else {
            let own = &self.shops.get(shop.as_str())?.settings;
            if own.webhook_secrets.is_empty() {
                global
            } else {
                own.webhook_secrets.as_slice()
            }
        };
        (!secrets.is_empty()).then_some(secrets)
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The configuration with `[shops]` as served now (TOML and stored shops, paused ones
    /// disabled): for code that reads a shop's settings through [`Config::shop`].
    pub fn effective_config(&self) -> Config {
        let mut config = Config::clone(&self.config);
        config.shops = self
            .shops
            .iter()
            .map(|(d, s)| (d.clone(), s.settings.clone()))
            .collect();
        config
    }
}

/// `config` with the shops held in `store` merged in, read once (a command's view).
pub async fn effective_config(config: Config, store: &Store) -> Result<Config, so_store::Error> {
    let live = ShopsLive::new(Arc::new(config), Some(store.clone()));
    live.refresh().await?;
    Ok(live.snapshot().effective_config())
}

/// The live registry: the current snapshot and its refresh from the store.
#[derive(Debug)]
pub struct ShopsLive {
    /// Set once connected; until then only the TOML shops are served.
    store: std::sync::OnceLock<Store>,
    config: Arc<Config>,
    current: watch::Sender<Arc<ShopsSnapshot>>,
}

impl ShopsLive {
    /// Starts from the TOML shops; [`ShopsLive::refresh`] reads the store.
    pub fn new(config: Arc<Config>, store: Option<Store>) -> Arc<ShopsLive> {
        let first = Arc::new(ShopsSnapshot::from_config(config.clone()));
        let cell = std::sync::OnceLock::new();
        if let Some(store) = store {
            let _first = cell.set(store);
        }
        Arc::new(ShopsLive {
            store: cell,
            config,
            current: watch::Sender::new(first),
        })
    }

    pub fn snapshot(&self) -> Arc<ShopsSnapshot> {
        self.current.borrow().clone()
    }

    /// Told of every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ShopsSnapshot>> {
        self.current.subscribe()
    }

    /// Reads the store when its revision moved; `true` when a new snapshot was published.
    pub async fn refresh(&self) -> Result<bool, so_store::Error> {
        let Some(store) = self.store.get() else {
            return Ok(false);
        };
        let revision = store.shops_revision().await?;
        if self.current.borrow().revision == Some(revision) {
            return Ok(false);
        }
        let rows = store.shops().await?;
        let snap = ShopsSnapshot::merge(self.config.clone(), revision, &rows);
        self.current.send_replace(Arc::new(snap));
        Ok(true)
    }

    /// Refreshes every `shopify.shops_refresh_ms` until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let mut failing = false;
        loop {
            match self.refresh().await {
                Ok(_) if failing => {
                    tracing::info!("The store answers again; shops are refreshed.");
                    failing = false;
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "Cannot read the shops from the store; serving the last known ones.");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.shopify.shops_refresh) => {}
            }
        }
    }
}

impl ShopsLive {
    /// For a process without a store of its own (a separate ingress): connects to `url`,
    /// retrying while it cannot (the TOML shops are served meanwhile), then refreshes until
    /// `shutdown`.
    pub async fn connect_and_run(self: Arc<Self>, url: String, shutdown: Shutdown) {
        let mut logged = false;
        while self.store.get().is_none() {
            match connect(url.clone()).await {
                Ok(store) => {
                    let _first = self.store.set(store);
                    tracing::info!("Shops are read from the store.");
                }
                Err(e) => {
                    if !logged {
                        tracing::warn!(error = %e, "Cannot open the store for the shops; serving the configured ones and retrying.");
                        logged = true;
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(self.config.shopify.shops_refresh * 5) => {}
                    }
                }
            }
        }
        self.run(shutdown).await;
    }
}

/// Connects on a thread of its own: the compiler cannot prove the connect
/// future `Send` through the migrator's borrows (a higher-ranked lifetime
/// limitation), so it cannot run inside a spawned task.
async fn connect(url: String) -> Result<Store, String> {
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _gone = tx.send(handle.block_on(Store::connect(&url, 2)));
    });
    match rx.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the connecting thread ended".to_owned()),
    }
}

/// Writes every TOML shop to the store as actor `config`, as a new version where it differs
/// from the stored one. Idempotent; several processes may seed at once.
pub async fn seed(
    store: &Store,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(String, i64)>, so_store::Error> {
    let mut written = Vec::new();
    for (domain, settings) in &config.shops {
        let Ok(shop) = ShopDomain::parse(domain) else {
            continue;
        };
        let by = ShopWriter {
            actor: CONFIG_ACTOR,
            now,
        };
        let stored = to_stored(settings);
        if let ShopWrite::Written { version } = store
            .put_shop_settings(&shop, &stored, ShopSource::Config, by)
            .await?
        {
            tracing::info!(shop = %shop, version, "Shop settings from the configuration written to the store.");
            written.push((domain.clone(), version));
        }
    }
    Ok(written)
}
