//! The worker service: consumers, processors, shutdown.

use std::sync::Arc;
use std::time::Duration;

use so_domain::freshness::DedupeWindow;
use so_ometria::Client;
use so_queue::{Broker, Publisher, consume_partitions};
use so_runtime::{Config, Shutdown};
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
}

/// A running worker, built from its parts.
pub struct Worker {
    broker: Broker,
    processors: Vec<Processor>,
    push_loop: crate::pusher::PushLoop,
    lease: Duration,
    limiter: so_ometria::RateLimiter,
    prefetch: u16,
    store: Store,
    window: DedupeWindow,
}

impl Worker {
    pub fn build(config: Arc<Config>, broker: Broker, store: Store) -> Result<Worker, StartError> {
        let client = Client::new(&config.ometria).map_err(StartError::Ometria)?;
        Worker::with_client(config, broker, store, client)
    }

    /// Uses a client the caller built (tests share its rate limiter).
    pub fn with_client(
        config: Arc<Config>,
        broker: Broker,
        store: Store,
        client: Client,
    ) -> Result<Worker, StartError> {
        so_runtime::metrics::ometria_request_budget(config.ometria.requests_per_second);
        let hours = config.worker.dedupe_window_hours;
        let window = DedupeWindow::new(Duration::from_secs(hours * 3600))
            .map_err(|_| StartError::DedupeWindow)?;
        let publisher = Publisher::new(broker.clone());
        let (pusher, push_loop) = crate::pusher::pusher(
            client.clone(),
            config.ometria.batch_max_records,
            usize::from(config.worker.concurrency),
        );
        let processors = (0..config.worker.concurrency)
            .map(|_| Processor {
                preparer: Preparer {
                    store: store.clone(),
                    config: config.clone(),
                    window,
                    client: client.clone(),
                },
                disposer: Disposer {
                    store: store.clone(),
                    publisher: publisher.clone(),
                    max_attempts: config.worker.max_attempts,
                },
                client: client.clone(),
                pusher: pusher.clone(),
                batch_max: config.worker.batch_max_events,
                window: Duration::from_millis(config.worker.batch_window_ms),
            })
            .collect();
        drop(pusher);
        Ok(Worker {
            broker,
            processors,
            push_loop,
            lease: Duration::from_secs(config.worker.lease_secs),
            limiter: client.rate_limiter().clone(),
            prefetch: config.worker.prefetch,
            store,
            window,
        })
    }

    /// Runs until `shutdown`, then drains: no new deliveries are taken, the
    /// batches in hand are finished and acked, and the rest return to their
    /// queues.
    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        let drained = CancellationToken::new();
        // Ends once every processor (each holds a handle) has finished.
        let pushing = tokio::spawn(self.push_loop.run());
        let mut senders = Vec::new();
        let mut tasks = Vec::new();
        for p in self.processors {
            let (tx, rx) = mpsc::channel(usize::from(self.prefetch).max(64));
            senders.push(tx);
            tasks.push(tokio::spawn(p.run(rx)));
        }
        let pruner = tokio::spawn(prune_ledger(
            self.store.clone(),
            self.window,
            shutdown.clone(),
        ));
        let partitions = self.broker.names().partitions();
        let (assign_tx, assigned) = tokio::sync::watch::channel((0..partitions).collect());
        let (consuming_tx, consuming) = tokio::sync::watch::channel(Default::default());
        let membership = crate::membership::Membership {
            store: self.store.clone(),
            me: uuid::Uuid::new_v4().to_string(),
            partitions,
            lease: self.lease,
            limiter: self.limiter,
        };
        let membership = tokio::spawn(membership.run(assign_tx, consuming, shutdown.clone()));
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
        let _pushed = pushing.await;
        drained.cancel();
        let _stopped = consumer.await;
        let _left = membership.await;
        let _pruned = pruner.await;
        tracing::info!("Worker drained and stopped.");
    }
}

/// Forgets webhook ids older than the dedupe window, hourly.
async fn prune_ledger(store: Store, window: DedupeWindow, shutdown: Shutdown) {
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
    }
}
