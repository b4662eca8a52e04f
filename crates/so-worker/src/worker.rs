//! The worker service: consumers, processors, shutdown.

use std::sync::Arc;
use std::time::Duration;

use so_domain::freshness::DedupeWindow;
use so_ometria::Client;
use so_platform::{Config, Shutdown};
use so_queue::{Broker, Publisher, consume_partitions};
use so_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::dispose::Disposer;
use crate::prepare::Preparer;
use crate::processor::Processor;

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("worker.dedupe_window_hours is out of range")]
    DedupeWindow,
    #[error("cannot build the Ometria client")]
    Ometria(#[source] so_ometria::Error),
    #[error("invalid shop settings")]
    Rules(#[source] crate::rules::RulesError),
    #[error(
        "database.email_key is not set (or shorter than 16 bytes): guest emails are stored as fingerprints keyed with it"
    )]
    EmailKey,
}

/// A running worker, built from its parts.
pub struct Worker {
    broker: Broker,
    processors: Vec<Processor>,
    push_loops: Vec<crate::pusher::PushLoop>,
    lease: Duration,
    limiters: Vec<so_ometria::RateLimiter>,
    prefetch: u16,
    store: Store,
    window: DedupeWindow,
    attributes: crate::attributes::Attributes,
    erasures: crate::erasures::Erasures,
    watchers: Vec<crate::rejections::Watcher>,
    /// Publishes what the watchers of accounts built after start dead-letter.
    publisher: Publisher,
    config: Arc<Config>,
    rules: Arc<crate::rules::Rules>,
    accounts: Arc<crate::accounts::Accounts>,
}

impl Worker {
    pub fn build(config: Arc<Config>, broker: Broker, store: Store) -> Result<Worker, StartError> {
        let client = match Client::new(&config.ometria) {
            Ok(c) => Some(c),
            // A deployment whose every shop has its own account needs none.
            Err(so_ometria::Error::MissingApiKey)
                if !config.shops.is_empty()
                    && config.shops.values().all(|s| s.ometria.api_key.is_some()) =>
            {
                None
            }
            Err(e) => return Err(StartError::Ometria(e)),
        };
        Worker::with_default_account(config, broker, store, client)
    }

    /// Uses a client the caller built (tests share its rate limiter).
    pub fn with_client(
        config: Arc<Config>,
        broker: Broker,
        store: Store,
        client: Client,
    ) -> Result<Worker, StartError> {
        Worker::with_default_account(config, broker, store, Some(client))
    }

    fn with_default_account(
        config: Arc<Config>,
        broker: Broker,
        store: Store,
        client: Option<Client>,
    ) -> Result<Worker, StartError> {
        so_platform::metrics::ometria_request_budget(config.ometria.requests_per_second);
        let key = config
            .database
            .email_key
            .as_ref()
            .and_then(|k| {
                so_store::EmailKey::new(secrecy::ExposeSecret::expose_secret(k).as_bytes()).ok()
            })
            .ok_or(StartError::EmailKey)?;
        let store = store.with_email_key(key);
        let hours = config.worker.dedupe_window_hours;
        let window = DedupeWindow::new(Duration::from_secs(hours * 3600))
            .map_err(|_| StartError::DedupeWindow)?;
        let publisher = Publisher::new(broker.clone());
        let coalescing = if config.worker.coalesce {
            so_ometria::Coalescing::ByKey
        } else {
            so_ometria::Coalescing::Off
        };
        let (accounts, push_loops) = crate::accounts::Accounts::build(&config, client, coalescing)
            .map_err(StartError::Ometria)?;
        let accounts = Arc::new(accounts);
        let rules = Arc::new(crate::rules::Rules::build(&config).map_err(StartError::Rules)?);
        let claims = Arc::new(crate::attributes::Claims::default());
        // The in-flight window: what the broker may hand this worker before
        // its acks, bounded by `worker.window_max_bytes`.
        let prefetch = config.worker.window_prefetch(config.amqp.partitions);
        let processors = (0..config.worker.concurrency)
            .map(|_| Processor {
                preparer: Preparer {
                    store: store.clone(),
                    window,
                    rules: rules.clone(),
                    export_retention: chrono::TimeDelta::days(i64::from(
                        config.worker.export_retention_days,
                    )),
                    checks: crate::prepare::due::CheckGate {
                        partitions: config.amqp.partitions,
                        max_defer: chrono::TimeDelta::from_std(config.worker.abandonment_max_defer)
                            .unwrap_or(chrono::TimeDelta::hours(1)),
                    },
                },
                disposer: Disposer {
                    store: store.clone(),
                    rules: rules.clone(),
                    publisher: publisher.clone(),
                    max_attempts: config.worker.max_attempts,
                    coalescing,
                },
                riders: crate::attributes::Riders {
                    store: store.clone(),
                    rules: rules.clone(),
                    claims: claims.clone(),
                    coalescing,
                },
                accounts: accounts.clone(),
                gathering: crate::gather::Gathering {
                    window: config.worker.batch_window,
                    max_events: config.worker.batch_max_events,
                    held_at_most: crate::gather::Gathering::held_at_most(
                        config.amqp.partitions,
                        config.worker.concurrency,
                        prefetch,
                    ),
                    coalescing,
                },
                coalescing,
            })
            .collect();
        let limiters = accounts.limiters();
        let watchers = accounts
            .all()
            .into_iter()
            .map(|account| crate::rejections::Watcher {
                account,
                store: store.clone(),
                publisher: publisher.clone(),
                rules: rules.clone(),
                settings: config.rejections.clone(),
            })
            .collect();
        let erasures = crate::erasures::Erasures {
            store: store.clone(),
            accounts: accounts.clone(),
            every: config.worker.erasure_poll,
        };
        let shop_rules = rules.clone();
        let shop_accounts = accounts.clone();
        let attributes = crate::attributes::Attributes {
            store: store.clone(),
            waiting: rules.waiting_shops(&accounts),
            room: accounts.room(),
            claims,
            accounts,
            rules,
            idle: config.worker.batch_window.max(Duration::from_millis(100)),
            coalescing,
        };
        Ok(Worker {
            broker,
            processors,
            push_loops,
            lease: config.worker.lease,
            limiters,
            prefetch,
            store,
            window,
            attributes,
            erasures,
            watchers,
            publisher,
            config,
            rules: shop_rules,
            accounts: shop_accounts,
        })
    }

    /// Runs until `shutdown`, then drains: no new deliveries are taken, the
    /// batches in hand are finished and acked, and the rest return to their
    /// queues.
    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        // Guest rows from before emails were fingerprinted; until rewritten,
        // their guests are not found (a second guest would be made).
        match self.store.fingerprint_guest_emails().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "Guest emails rewritten as keyed fingerprints."),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot rewrite plain guest emails; will try at the next start.")
            }
        }
        let me = uuid::Uuid::new_v4().to_string();
        let applied = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let budgets = Arc::new(crate::membership::Budgets::new(self.limiters));
        let late = Arc::new(crate::live::Late {
            store: self.store.clone(),
            publisher: self.publisher.clone(),
            rules: self.rules.clone(),
            settings: self.config.rejections.clone(),
            budgets: budgets.clone(),
            shutdown: shutdown.clone(),
            tasks: std::sync::Mutex::default(),
        });
        let shops = crate::live::follow_shops(
            crate::live::Follow {
                config: self.config.clone(),
                store: self.store.clone(),
                rules: self.rules.clone(),
                // Moved, not cloned: the pushers' loops end only once every
                // holder of the accounts is gone.
                accounts: self.accounts,
                me: me.clone(),
                applied: applied.clone(),
                late: late.clone(),
            },
            shutdown.clone(),
        )
        .await;
        let drained = CancellationToken::new();
        // Ends once every processor (each holds a handle) has finished.
        let pushing: Vec<_> = self
            .push_loops
            .into_iter()
            .map(|l| tokio::spawn(l.run()))
            .collect();
        let (consuming_tx, consuming) = tokio::sync::watch::channel(Default::default());
        // Unknown (no progress written) until membership has read the store.
        let (elsewhere_tx, elsewhere) = tokio::sync::watch::channel(None);
        let in_hand = Arc::new(crate::progress::InHand::default());
        let mut senders = Vec::new();
        let mut tasks = Vec::new();
        let processors = u16::try_from(self.processors.len()).unwrap_or(u16::MAX);
        for (index, p) in (0..processors).zip(self.processors) {
            let (tx, rx) = mpsc::channel(usize::from(self.prefetch).max(64));
            senders.push(tx);
            let progress = crate::progress::Tracker {
                store: self.store.clone(),
                index,
                processors,
                consuming: consuming.clone(),
                elsewhere: elsewhere.clone(),
                kept: so_store::Progress::default(),
                in_hand: in_hand.clone(),
            };
            tasks.push(tokio::spawn(p.run(rx, progress)));
        }
        // Holds the pushers too: it must end before they can.
        let attributes = tokio::spawn(self.attributes.run(shutdown.clone()));
        let erasures = tokio::spawn(self.erasures.run(shutdown.clone()));
        // They hold the pushers too.
        let watchers: Vec<_> = self
            .watchers
            .into_iter()
            .map(|w| tokio::spawn(w.run(shutdown.clone())))
            .collect();
        let pruner = tokio::spawn(prune(self.store.clone(), self.window, shutdown.clone()));
        let partitions = self.broker.names().partitions();
        let (assign_tx, assigned) = tokio::sync::watch::channel((0..partitions).collect());
        let membership = crate::membership::Membership {
            store: self.store.clone(),
            me,
            partitions,
            lease: self.lease,
            budgets,
            applied,
            in_hand,
        };
        let membership =
            tokio::spawn(membership.run(assign_tx, consuming, elsewhere_tx, shutdown.clone()));
        let consumer = tokio::spawn(consume_partitions(
            self.broker,
            self.prefetch,
            senders,
            assigned,
            consuming_tx,
            shutdown,
            drained.clone(),
        ));
        for t in tasks {
            let _finished = t.await;
        }
        let _sent = attributes.await;
        let _checked = erasures.await;
        for w in watchers {
            let _watched = w.await;
        }
        for p in pushing {
            let _pushed = p.await;
        }
        // Accounts built after start: their watchers and push loops, the same way.
        late.finish().await;
        drained.cancel();
        let _stopped = consumer.await;
        let _left = membership.await;
        let _pruned = pruner.await;
        let _followed = shops.await;
        tracing::info!("Worker drained and stopped.");
    }
}

/// Hourly: forgets webhook ids older than the dedupe window and deletes
/// expired data exports.
async fn prune(store: Store, window: DedupeWindow, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match store
            .prune_ledger(window.expiry_before(chrono::Utc::now()))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(removed = n, "Pruned the dedupe ledger."),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Cannot prune the dedupe ledger; will try again."),
        }
        // Holds older than the longest deferral no longer count.
        let stale = chrono::Utc::now() - chrono::TimeDelta::days(7);
        if let Err(e) = store.prune_progress_holds(stale).await {
            tracing::warn!(error = %e, "Cannot prune old progress holds; will try again.");
        }
        match store.prune_exports(chrono::Utc::now()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "Deleted expired data exports."),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "Cannot delete expired data exports; will try again.")
            }
        }
    }
}
