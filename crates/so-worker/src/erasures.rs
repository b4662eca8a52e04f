//! Follows Ometria data-deletion requests until Ometria reports them done.
//!
//! Ometria processes them asynchronously (within 14 days); the store keeps
//! each request until then, and `so_ometria_erasures_open` shows how many
//! are still open, so an operator can answer "was this person erased?".

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use so_platform::{Shutdown, metrics};
use so_store::Store;

use crate::accounts::Accounts;

pub(crate) struct Erasures {
    pub(crate) store: Store,
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) every: Duration,
}

impl Erasures {
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(self.every);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.check().await {
                tracing::warn!(error = %e, "Cannot check Ometria data-deletion requests; will try again.");
            }
        }
    }

    async fn check(&self) -> Result<(), so_store::Error> {
        let open = self.store.open_erasures().await?;
        let mut still_open = open.len();
        for row in &open {
            let (Some(id), Some(account)) = (&row.ometria_id, self.accounts.for_shop(&row.shop))
            else {
                continue;
            };
            match account.client.erasure_request(id).await {
                Ok(Some(request)) if request.completed() => {
                    self.store
                        .complete_erasure(
                            &row.shop,
                            &row.fingerprint,
                            Utc::now(),
                            request.summary.as_deref(),
                        )
                        .await?;
                    still_open -= 1;
                    tracing::info!(ometria_request = %id, shop = %row.shop, "Ometria completed a data-deletion request.");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "Data-deletion request status unavailable.");
                }
            }
        }
        metrics::erasures_open(still_open);
        Ok(())
    }
}
