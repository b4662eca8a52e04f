//! The periodic jobs inside a worker process: each shop's daily profile
//! send at its local time (checked every minute), the consent write-back every
//! `sync.consent_interval_secs` (5 minutes) and the reconciliation every
//! `sync.reconcile_interval_secs` (daily) and the webhook subscription
//! check and repair every `sync.webhooks_interval_secs` (daily, with
//! `shopify.public_url` set), for every shop with Admin API access. The shops
//! are listed at every tick from the live registry, so a shop installed or
//! added through the admin API gets its jobs without a restart, and a paused
//! or uninstalled one is skipped. A store lease per job and shop makes several
//! worker processes run each job once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use so_domain::ShopDomain;
use so_platform::shops_live::ShopsLive;
use so_platform::{Config, Shutdown};
use so_queue::Publisher;
use so_shopify_admin::AdminClient;
use so_store::{Store, TokenState};

use crate::profiles::Clock;
use crate::reconcile::Reconcile;
use crate::{SyncError, clients};

#[derive(Clone)]
pub struct Scheduler {
    pub config: Arc<Config>,
    pub store: Store,
    pub publisher: Publisher,
    /// This process, as the lease holder.
    pub holder: String,
    /// The shops served now; read at every tick.
    pub shops: Arc<ShopsLive>,
    /// When daily profile sends are due (tests drive it by hand).
    pub clock: Arc<dyn Clock>,
    /// One client per shop and settings version, kept between ticks: a
    /// client credentials token (24 h) and the memory of a refused secret
    /// carry over from one run to the next instead of being asked for every
    /// time; a changed shop gets a new one.
    pub admins: Arc<Mutex<BTreeMap<ShopDomain, (i64, AdminClient)>>>,
}

/// The periodic jobs, each run for every due shop at its tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Consent,
    Reconcile,
    Webhooks,
    ProfileSends,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Consent => "consent",
            Job::Reconcile => "reconcile",
            Job::Webhooks => "webhooks",
            Job::ProfileSends => "profile_send",
        }
    }
}

impl Scheduler {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        publisher: Publisher,
        holder: String,
        shops: Arc<ShopsLive>,
    ) -> Scheduler {
        Scheduler {
            config,
            store,
            publisher,
            holder,
            shops,
            clock: Arc::new(crate::profiles::SystemClock),
            admins: Arc::default(),
        }
    }

    pub async fn run(self, shutdown: Shutdown) {
        // Every decision series exists from the start, so a rate over it is
        // defined before the first unsubscribe.
        for reason in crate::consent::Reason::ALL {
            so_platform::metrics::consent_decisions(reason.decision(), reason.as_str(), 0);
        }
        let consent_every = self.config.sync.consent_interval;
        let reconcile_every = self.config.sync.reconcile_interval;
        let mut consent_tick = tokio::time::interval(consent_every);
        let mut reconcile_tick =
            tokio::time::interval(reconcile_every.max(Duration::from_secs(60)));
        // Profile sends run on their own task: a long send must not hold
        // the consent write-back's ticks.
        let sends = tokio::spawn(self.clone().profile_sends(shutdown.clone()));
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
                _ = consent_tick.tick() => self.tick(Job::Consent, &shutdown).await,
                _ = reconcile_tick.tick(), if !reconcile_every.is_zero() => {
                    self.tick(Job::Reconcile, &shutdown).await;
                }
                _ = webhooks_tick.tick(), if webhooks_on => {
                    self.tick(Job::Webhooks, &shutdown).await;
                }
            }
        }
    }

    /// One tick of `job`: runs it for every shop served now that can run it.
    pub async fn tick(&self, job: Job, stop: &Shutdown) {
        let (config, due) = self.due_shops(job).await;
        for (shop, admin) in &due {
            let hold = match job {
                Job::Consent => config.sync.consent_interval,
                Job::Reconcile => config.sync.reconcile_interval,
                Job::Webhooks => config.sync.webhooks_interval,
                Job::ProfileSends => {
                    self.profile_send(&config, shop, admin, stop).await;
                    continue;
                }
            };
            let run = async {
                match job {
                    Job::Consent => self.consent(&config, shop, admin).await,
                    Job::Reconcile => self.reconcile(&config, shop, admin).await,
                    _ => self.webhooks(&config, shop, admin).await,
                }
            };
            self.leased(job.as_str(), shop, hold, run, admin).await;
        }
    }

    /// The shops served now (the configuration with them) and the client of
    /// each one `job` runs for; the others are logged with why (no PII: the
    /// shop's domain and a reason).
    async fn due_shops(&self, job: Job) -> (Config, Vec<(ShopDomain, AdminClient)>) {
        let snapshot = self.shops.snapshot();
        let config = snapshot.effective_config();
        let mut due = Vec::new();
        for (shop, skipped) in clients::job_shops(&config) {
            let skipped = match skipped {
                Some(why) => Some(why),
                None => self.install_gone(&config, &shop).await,
            };
            if let Some(why) = skipped {
                tracing::debug!(job = job.as_str(), shop = %shop, reason = why, "Shop skipped by the scheduled job.");
                continue;
            }
            let version = snapshot.shops.get(shop.as_str()).map_or(0, |s| s.version);
            if let Some(admin) = self.admin(&config, &shop, version) {
                due.push((shop, admin));
            }
        }
        (config, due)
    }

    /// Why a shop without its own credentials cannot be reached through an
    /// OAuth install: never installed, uninstalled, or its token refused.
    async fn install_gone(&self, config: &Config, shop: &ShopDomain) -> Option<&'static str> {
        if config.shop(shop).admin.has_access() {
            return None;
        }
        match self.store.shop_token_status(shop.as_str()).await {
            Ok(None) => Some("not installed"),
            Ok(Some(s)) => match s.state {
                TokenState::Connected => None,
                TokenState::Refused => Some("Admin API token refused"),
                _ => Some("uninstalled"),
            },
            // The job's own run reports a store that does not answer.
            Err(_) => None,
        }
    }

    /// The shop's kept client, or a new one when its settings changed.
    fn admin(&self, config: &Config, shop: &ShopDomain, version: i64) -> Option<AdminClient> {
        let mut admins = self.admins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((v, admin)) = admins.get(shop)
            && *v == version
        {
            return Some(admin.clone());
        }
        match clients::admin_client(config, &self.store, shop) {
            Ok(admin) => {
                admins.insert(shop.clone(), (version, admin.clone()));
                Some(admin)
            }
            Err(e) => {
                tracing::warn!(shop = %shop, error = %crate::error_chain(&e), "No Admin API client for this shop; its scheduled jobs are skipped.");
                None
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
    async fn profile_sends(self, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => self.tick(Job::ProfileSends, &shutdown).await,
            }
        }
    }

    /// The shop's daily profile send, if due (its own lease inside).
    async fn profile_send(
        &self,
        config: &Config,
        shop: &ShopDomain,
        admin: &AdminClient,
        stop: &Shutdown,
    ) {
        let sends = crate::profiles::AutoSends {
            config,
            store: &self.store,
            publisher: &self.publisher,
            clock: self.clock.as_ref(),
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

    async fn consent(
        &self,
        config: &Config,
        shop: &ShopDomain,
        admin: &AdminClient,
    ) -> Result<(), SyncError> {
        if !config.consent_sync_enabled(shop) {
            // `shops."<domain>".sync.consent = false`: this shop's
            // unsubscribes stay in Ometria.
            return Ok(());
        }
        let setup = clients::consent_setup_with(config, shop, admin.clone())?;
        let mut sync = setup.sync(&self.store, shop);
        sync.republish = Some(crate::consent::Republish {
            publisher: &self.publisher,
            api_version: &config.shopify_admin.api_version,
        });
        let report = sync.run_once().await?;
        tracing::info!(shop = %shop, read = report.read, sent = report.sent, "Consent write-back ran.");
        Ok(())
    }

    async fn reconcile(
        &self,
        config: &Config,
        shop: &ShopDomain,
        admin: &AdminClient,
    ) -> Result<(), SyncError> {
        let to = Utc::now();
        let from = to - chrono::Duration::days(i64::from(config.sync.reconcile_window_days));
        let report = Reconcile {
            admin,
            store: &self.store,
            publisher: &self.publisher,
            shop,
            api_version: &config.shopify_admin.api_version,
            from,
            to,
            repair: config.sync.reconcile_repair,
            // Scheduled runs stay within Shopify and the store: the Ometria
            // side costs one request per customer of the shared budget.
            ometria: None,
        }
        .run()
        .await?;
        tracing::info!(shop = %shop, drift = report.drift.len(), repaired = report.repaired, "Reconciliation ran.");
        Ok(())
    }

    async fn webhooks(
        &self,
        config: &Config,
        shop: &ShopDomain,
        admin: &AdminClient,
    ) -> Result<(), SyncError> {
        let report = crate::webhooks::after_connect(config, shop, admin).await?;
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
