//! The periodic jobs inside a worker process: each shop's daily profile
//! send at its local time (checked every minute), the consent write-back every
//! `sync.consent_interval_secs` (5 minutes) and the reconciliation every
//! `sync.reconcile_interval_secs` (daily) and the webhook subscription
//! check and repair every `sync.webhooks_interval_secs` (daily, with
//! `shopify.public_url` set), for every shop with Admin API access. A store lease per job and shop makes several worker processes
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

#[derive(Clone)]
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
        // Profile sends run on their own task: a long send must not hold
        // the consent write-back's ticks.
        let sends = tokio::spawn(self.clone().profile_sends(admins.clone(), shutdown.clone()));
        consent_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reconcile_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let webhooks_every = self.config.sync.webhooks_interval;
        let webhooks_on = !webhooks_every.is_zero() && self.config.shopify.public_url.is_some();
        let mut webhooks_tick = tokio::time::interval(webhooks_every.max(Duration::from_secs(60)));
        webhooks_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    let _stopped = sends.await;
                    return;
                }
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
                _ = webhooks_tick.tick(), if webhooks_on => {
                    for (shop, admin) in &admins {
                        self.leased("webhooks", shop, webhooks_every, self.webhooks(shop, admin), admin).await;
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

    /// Checks every minute whether a shop's daily profile send is due; a
    /// shutdown stops a running send after its page (recorded
    /// `interrupted`, it runs again at the next check).
    async fn profile_sends(self, admins: BTreeMap<ShopDomain, AdminClient>, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    for (shop, admin) in &admins {
                        self.profile_send(shop, admin, &shutdown).await;
                    }
                }
            }
        }
    }

    /// The shop's daily profile send, if due (its own lease inside).
    async fn profile_send(&self, shop: &ShopDomain, admin: &AdminClient, stop: &Shutdown) {
        let sends = crate::profiles::AutoSends {
            config: &self.config,
            store: &self.store,
            publisher: &self.publisher,
            clock: &crate::profiles::SystemClock,
            holder: &self.holder,
        };
        match sends.tick(shop, admin, stop).await {
            Ok(Some(row)) => {
                tracing::info!(shop = %shop, read = row.counts.read, published = row.counts.published, "Daily profile send ran.");
            }
            Ok(None) | Err(SyncError::Interrupted) => {}
            Err(e) => {
                tracing::warn!(shop = %shop, error = %crate::error_chain(&e), "Daily profile send failed; it runs again at its next time or with send-profiles --auto-now.");
            }
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

    async fn webhooks(&self, shop: &ShopDomain, admin: &AdminClient) -> Result<(), SyncError> {
        let report = crate::webhooks::after_connect(&self.config, shop, admin).await?;
        crate::shop_status::save(&self.store, &report).await;
        tracing::info!(
            shop = %shop,
            kind = report.kind.as_str(),
            changed = report.applied.iter().filter(|a| a.failed.is_none()).count(),
            cannot_subscribe = report.blocked().len(),
            drift = report.has_drift(),
            "Webhook subscriptions checked."
        );
        Ok(())
    }
}
