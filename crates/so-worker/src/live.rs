//! Keeps the worker's shop rules in step with the live shop registry: the
//! TOML shops are written to the store, the stored pauses and settings are
//! read before the first delivery, and every later change is applied within
//! `shopify.shops_refresh_ms`, without a restart: the rules, and the Ometria
//! account of a shop managed in the store.

use std::sync::Arc;

use so_platform::shops_live::{ShopsLive, seed};
use so_platform::{Config, Shutdown};
use so_store::Store;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::rules::Rules;

/// Seeds, applies the store's shops once, then follows them until
/// `shutdown`. A store that cannot be read leaves the TOML rules in place.
pub(crate) async fn follow_shops(
    config: Arc<Config>,
    store: Store,
    rules: Arc<Rules>,
    accounts: Arc<Accounts>,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    if let Err(e) = seed(&store, &config, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "Cannot write the configured shops to the store; will use the configuration as it is.");
    }
    let live = ShopsLive::new(config, Some(store));
    match live.refresh().await {
        Ok(_) => {
            let snap = live.snapshot();
            accounts.apply(&snap);
            rules.apply(&snap);
        }
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the shops from the store; serving the configured ones.")
        }
    }
    let mut changes = live.subscribe();
    let refresh = tokio::spawn(live.run(shutdown.clone()));
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let snap = changes.borrow_and_update().clone();
            tracing::info!(revision = ?snap.revision, "Shops changed; rules and accounts rebuilt.");
            // Accounts first: an event the new rules admit finds its account.
            accounts.apply(&snap);
            rules.apply(&snap);
        }
        let _stopped = refresh.await;
    })
}
