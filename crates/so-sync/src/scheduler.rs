//! The periodic jobs inside a worker process: the consent write-back every
//! `sync.consent_interval_secs` (5 minutes) and the reconciliation every
//! `sync.reconcile_interval_secs` (daily), for every shop with Admin API
//! access. A store lease per job and shop makes several worker processes
//! run each job once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use so_domain::ShopDomain;
use so_platform::{Config, Shutdown};
use so_queue::Publisher;
use so_shopify_admin::AdminClient;
use so_store::Store;

use crate::reconcile::Reconcile;
use crate::{SyncError, clients};

pub struct Scheduler {
    pub config: Arc<Config>,
    pub store: Store,
    pub publisher: Publisher,
    /// This process, as the lease holder.
    pub holder: String,
}

impl Scheduler {
    pub async fn run(self, shutdown: Shutdown) {
        // Every decision series exists from the start, so a rate over it is
        // defined before the first unsubscribe.
        for reason in crate::consent::Reason::ALL {
            so_platform::metrics::consent_decisions(reason.decision(), reason.as_str(), 0);
        }
        let shops = clients::admin_shops(&self.config);
        if shops.is_empty() {
            tracing::info!(
                "No shop has Admin API access: consent write-back and reconciliation are off."
            );
            return;
        }
        // One client per shop for the scheduler's life: a client credentials
        // token (24 h) and the memory of a refused secret carry over from
        // one run to the next instead of being asked for every time.
        let mut admins = BTreeMap::new();
        for shop in &shops {
            match clients::admin_client_in(&self.config, Some(&self.store), shop) {
                Ok(admin) => {
                    admins.insert(shop.clone(), admin);
                }
                Err(e) => {
                    tracing::warn!(shop = %shop, error = %crate::error_chain(&e), "No Admin API client for this shop; its scheduled jobs are off.");
                }
            }
        }
        let consent_every = self.config.sync.consent_interval;
        let reconcile_every = self.config.sync.reconcile_interval;
        let mut consent_tick = tokio::time::interval(consent_every);
        let mut reconcile_tick =
            tokio::time::interval(reconcile_every.max(Duration::from_secs(60)));
        consent_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reconcile_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = consent_tick.tick() => {
                    for (shop, admin) in &admins {
                        self.leased("consent", shop, consent_every, self.consent(shop, admin), admin).await;
                    }
                }
                _ = reconcile_tick.tick(), if !reconcile_every.is_zero() => {
                    for (shop, admin) in &admins {
                        self.leased("reconcile", shop, reconcile_every, self.reconcile(shop, admin), admin).await;
                    }
                }
            }
        }
    }

    /// Runs `job` if this process holds the job's lease for the shop.
    async fn leased(
        &self,
        job: &str,
        shop: &ShopDomain,
        hold: Duration,
        run: impl Future<Output = Result<(), SyncError>>,
        admin: &AdminClient,
    ) {
        let name = format!("{job}:{shop}");
        // The lease outlives the run a little so the next tick of another
        // process does not start it again at once.
        let until =
            Utc::now() + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::minutes(5));
        match self.store.try_lease(&name, &self.holder, until).await {
            Ok(true) => {
                let outcome = run.await;
                crate::access_report::report(shop, admin, &outcome);
                if let Err(e) = outcome {
                    tracing::warn!(job, shop = %shop, error = %crate::error_chain(&e), "Scheduled job failed; it runs again at its next tick.");
                }
            }
            Ok(false) => tracing::debug!(job, shop = %shop, "Another process runs this job."),
            Err(e) => tracing::warn!(job, error = %e, "Cannot take the job lease."),
        }
    }

    async fn consent(&self, shop: &ShopDomain, admin: &AdminClient) -> Result<(), SyncError> {
        if !self.config.consent_sync_enabled(shop) {
            // `shops."<domain>".sync.consent = false`: this shop's
            // unsubscribes stay in Ometria.
            return Ok(());
        }
        let setup = clients::consent_setup_with(&self.config, shop, admin.clone())?;
        let mut sync = setup.sync(&self.store, shop);
        sync.republish = Some(crate::consent::Republish {
            publisher: &self.publisher,
            api_version: &self.config.shopify_admin.api_version,
        });
        let report = sync.run_once().await?;
        tracing::info!(shop = %shop, read = report.read, sent = report.sent, "Consent write-back ran.");
        Ok(())
    }

    async fn reconcile(&self, shop: &ShopDomain, admin: &AdminClient) -> Result<(), SyncError> {
        let to = Utc::now();
        let from = to - chrono::Duration::days(i64::from(self.config.sync.reconcile_window_days));
        let report = Reconcile {
            admin,
            store: &self.store,
            publisher: &self.publisher,
            shop,
            api_version: &self.config.shopify_admin.api_version,
            from,
            to,
            repair: self.config.sync.reconcile_repair,
            // Scheduled runs stay within Shopify and the store: the Ometria
            // side costs one request per customer of the shared budget.
            ometria: None,
        }
        .run()
        .await?;
        tracing::info!(shop = %shop, drift = report.drift.len(), repaired = report.repaired, "Reconciliation ran.");
        Ok(())
    }
}
