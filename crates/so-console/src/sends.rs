//! Profile sends started from the Data Sync page: run in the background by the same code as
//! `shopify-ometria send-profiles` (`so_sync::profiles::ProfileSend`), one at a time per shop
//! across processes (the send's claim in the store), with the progress the page shows while it
//! runs. The record of a finished send is in the store (its last send time and counts); this
//! process keeps only what is running and how the last run here ended, and the tasks, so a
//! shutdown can wait for them to save their checkpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_queue::Publisher;
use so_store::{ProfileSendCounts, Store};
use so_sync::profiles::{Choices, Claimant, Kind, ProfileSend, SendProgress, SystemClock};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::ConsoleError;

/// A send started here: its counts as the pages come in, and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) kind: Kind,
    pub(crate) actor: String,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) counts: ProfileSendCounts,
    pub(crate) state: RunState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunState {
    Running,
    Completed,
    /// Why it stopped (no customer data: the sync error's own text).
    Failed(String),
}

/// The runs of this process, by shop, and their tasks; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sends {
    runs: Arc<Mutex<HashMap<String, Run>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// Feeds a run's counts from the send's page reports.
struct Tracker {
    sends: Sends,
    shop: String,
}

impl SendProgress for Tracker {
    fn page(&self, c: &ProfileSendCounts) {
        self.sends.update(&self.shop, |r| r.counts = *c);
    }
}

/// What a send needs besides its choices.
pub(crate) struct Wiring {
    pub(crate) admin: so_shopify_admin::AdminClient,
    pub(crate) publisher: Publisher,
    pub(crate) store: Store,
    pub(crate) api_version: String,
    /// Cancelled when the service stops: the send saves its checkpoint.
    pub(crate) stop: CancellationToken,
}

impl Sends {
    /// The run of `shop` in this process, if any.
    pub(crate) fn of(&self, shop: &str) -> Option<Run> {
        self.lock().get(shop).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Run>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the sends running here to end (after the service's stop, each at its next
    /// page, its checkpoint saved and its claim released).
    pub(crate) async fn stopped(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            let _ended = task.await;
        }
    }

    fn update(&self, shop: &str, f: impl FnOnce(&mut Run)) {
        if let Some(run) = self.lock().get_mut(shop) {
            f(run);
        }
    }

    /// Starts a send of `shop` in the background once it holds the shop's claim; refused
    /// ([`so_sync::SyncError::SendRunning`]) while a send of it runs here or elsewhere.
    pub(crate) async fn start(
        &self,
        shop: ShopDomain,
        kind: Kind,
        choices: Choices,
        actor: String,
        wiring: Wiring,
    ) -> Result<(), ConsoleError> {
        let by = Claimant::new("console", &actor);
        by.claim(&wiring.store, &shop).await?;
        self.lock().insert(
            shop.to_string(),
            Run {
                kind,
                actor: actor.clone(),
                started_at: Utc::now(),
                counts: ProfileSendCounts::default(),
                state: RunState::Running,
            },
        );
        tracing::info!(shop = %shop, kind = kind.as_str(), %actor, "Console: profile send started.");
        let sends = self.clone();
        let task = tokio::spawn(async move {
            let tracker = Tracker {
                sends: sends.clone(),
                shop: shop.to_string(),
            };
            let result = ProfileSend {
                admin: &wiring.admin,
                publisher: &wiring.publisher,
                store: &wiring.store,
                shop: &shop,
                api_version: &wiring.api_version,
                kind,
                choices,
                clock: &SystemClock,
                progress: &tracker,
                stop: &wiring.stop,
                by: &by,
            }
            .run()
            .await;
            let state = match result {
                Ok(row) => {
                    tracing::info!(shop = %shop, send = %row.id, published = row.counts.published, %actor, "Console: profile send finished.");
                    sends.update(shop.as_str(), |r| r.counts = row.counts);
                    RunState::Completed
                }
                Err(e) => {
                    tracing::warn!(shop = %shop, error = %e, %actor, "Console: profile send failed.");
                    RunState::Failed(e.to_string())
                }
            };
            sends.update(shop.as_str(), |r| r.state = state);
        });
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
        Ok(())
    }
}
