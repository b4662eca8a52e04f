//! One profile send per shop across processes: a send takes the shop's claim in the store
//! before it starts (refused while another send's claim is in force), renews it while it runs
//! and releases it when it ends. A claim whose process died is not renewed and expires after
//! [`CLAIM_TTL`]; the next send takes it over.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use so_domain::ShopDomain;
use so_store::Store;
use tokio_util::sync::CancellationToken;

use crate::SyncError;

/// How long a claim lasts without renewal: the longest a dead process holds its shop.
pub const CLAIM_TTL: Duration = Duration::from_secs(90);

/// How often a running send renews its claim: three times per TTL, so one slow store write
/// does not lose it.
const RENEW_EVERY: Duration = Duration::from_secs(30);

/// Who claims: one send (`holder`, unique) started by `actor`.
#[derive(Debug, Clone)]
pub struct Claimant {
    pub holder: String,
    /// Shown to whoever is refused: `console:ana`, `send-profiles`, `scheduler`.
    pub actor: String,
}

impl Claimant {
    /// A new send of `process` (a name for logs) started by `actor`.
    pub fn new(process: &str, actor: &str) -> Claimant {
        Claimant {
            holder: format!("{process}#{}", uuid::Uuid::new_v4().simple()),
            actor: actor.to_owned(),
        }
    }

    /// Takes `shop`'s claim (renews it when this claimant holds it already);
    /// [`SyncError::SendRunning`] while another's is in force.
    pub async fn claim(&self, store: &Store, shop: &ShopDomain) -> Result<(), SyncError> {
        match store
            .claim_send(shop, &self.holder, &self.actor, until())
            .await?
        {
            Ok(()) => Ok(()),
            Err(held) => Err(SyncError::SendRunning {
                shop: shop.to_string(),
                actor: held.actor,
                since: held.since,
            }),
        }
    }

    /// Ends the claim; a failure only delays the next send until the claim expires.
    pub async fn release(&self, store: &Store, shop: &ShopDomain) {
        if let Err(e) = store.release_send_claim(shop, &self.holder).await {
            tracing::warn!(shop = %shop, error = %e, "Releasing a profile send's claim failed; it expires by itself.");
        }
    }

    /// Runs `work` while renewing the claim; `lost` is cancelled when the claim is no longer
    /// this claimant's (it expired and another send took it), so the send stops.
    pub async fn held<T>(
        &self,
        store: &Store,
        shop: &ShopDomain,
        lost: &CancellationToken,
        work: impl Future<Output = T>,
    ) -> T {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => match store.renew_send_claim(shop, &self.holder, until()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(shop = %shop, "A profile send lost its claim (it expired); stopping it at its checkpoint.");
                        lost.cancel();
                    }
                    Err(e) => tracing::warn!(shop = %shop, error = %e, "Renewing a profile send's claim failed; trying again."),
                },
            }
        }
    }
}

fn until() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(CLAIM_TTL).unwrap_or(chrono::Duration::seconds(90))
}
