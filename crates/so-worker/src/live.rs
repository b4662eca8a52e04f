//! Keeps the worker's shop rules in step with the live shop registry: the
//! TOML shops are written to the store, the stored pauses and settings are
//! read before the first delivery, and every later change is applied within
//! `shopify.shops_refresh_ms`, without a restart: the rules, and the Ometria
//! account of a shop managed in the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use so_platform::shops_live::{ShopsLive, ShopsSnapshot, seed};
use so_platform::{Config, Shutdown};
use so_store::Store;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::rules::Rules;

/// What follows the shops: the parts rebuilt, and this process's record of
/// the revision it applied (for a resume waiting on every worker).
pub(crate) struct Follow {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) rules: Arc<Rules>,
    pub(crate) accounts: Arc<Accounts>,
    /// This process's member id.
    pub(crate) me: String,
    pub(crate) applied: Arc<AtomicI64>,
}

impl Follow {
    /// Rebuilds from `snap`, then records its revision as applied.
    async fn apply(&self, snap: &ShopsSnapshot) {
        // Accounts first: an event the new rules admit finds its account.
        self.accounts.apply(snap);
        self.rules.apply(snap);
        if let Some(revision) = snap.revision {
            self.applied.fetch_max(revision, Ordering::Relaxed);
            if let Err(e) = self.store.worker_applied_shops(&self.me, revision).await {
                tracing::debug!(error = %e, "Cannot record the applied shop revision; the next heartbeat does.");
            }
        }
    }
}

/// Seeds, applies the store's shops once, then follows them until
/// `shutdown`. A store that cannot be read leaves the TOML rules in place.
pub(crate) async fn follow_shops(follow: Follow, shutdown: Shutdown) -> JoinHandle<()> {
    if let Err(e) = seed(&follow.store, &follow.config, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "Cannot write the configured shops to the store; will use the configuration as it is.");
    }
    let live = ShopsLive::new(follow.config.clone(), Some(follow.store.clone()));
    match live.refresh().await {
        Ok(_) => follow.apply(&live.snapshot()).await,
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
            follow.apply(&snap).await;
        }
        let _stopped = refresh.await;
    })
}
