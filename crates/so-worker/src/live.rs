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
    pub(crate) late: Arc<Late>,
}

/// What an Ometria account built after start (a store-managed shop given its own account)
/// gets, as those built at start have it: its push loop, a watcher of Ometria's asynchronous
/// rejections, a share of its budget split between the worker processes, and a wait for both
/// at shutdown.
pub(crate) struct Late {
    pub(crate) store: Store,
    pub(crate) publisher: so_queue::Publisher,
    pub(crate) rules: Arc<Rules>,
    pub(crate) settings: so_platform::config::RejectionSettings,
    pub(crate) budgets: Arc<crate::membership::Budgets>,
    pub(crate) shutdown: Shutdown,
    pub(crate) tasks: std::sync::Mutex<LateTasks>,
}

/// The late accounts' running parts. Watchers are awaited first: they hold the accounts'
/// pushers, whose loops end only after them.
#[derive(Default)]
pub(crate) struct LateTasks {
    watchers: Vec<JoinHandle<()>>,
    loops: Vec<JoinHandle<()>>,
}

impl Late {
    fn start(&self, account: Arc<crate::accounts::Account>, push_loop: crate::pusher::PushLoop) {
        self.budgets.add(account.client.rate_limiter().clone());
        let watcher = crate::rejections::Watcher {
            account,
            store: self.store.clone(),
            publisher: self.publisher.clone(),
            rules: self.rules.clone(),
            settings: self.settings.clone(),
        };
        let watching = tokio::spawn(watcher.run(self.shutdown.clone()));
        let pushing = tokio::spawn(push_loop.run());
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks.watchers.push(watching);
        tasks.loops.push(pushing);
    }

    /// Waits for the watchers, then the push loops, of the accounts built after start.
    pub(crate) async fn finish(&self) {
        let LateTasks { watchers, loops } = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for w in watchers {
            let _watched = w.await;
        }
        for l in loops {
            let _pushed = l.await;
        }
    }
}

impl Follow {
    /// Rebuilds from `snap`, then records its revision as applied.
    async fn apply(&self, snap: &ShopsSnapshot) {
        // Accounts first: an event the new rules admit finds its account.
        for (account, push_loop) in self.accounts.apply(snap) {
            self.late.start(account, push_loop);
        }
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
