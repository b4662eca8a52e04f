//! The daily automatic profile send of a shop, "send now", and what a
//! shop's status shows of its sends.

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_platform::{Config, ShopSettings};
use so_queue::Publisher;
use so_shopify_admin::AdminClient;
use so_store::{ProfileSendRow, Store};
use tokio_util::sync::CancellationToken;

use super::choices::{Kind, auto_choices};
use super::claim::Claimant;
use super::schedule::{Clock, Daily};
use super::send::{ProfileSend, SendProgress};
use crate::SyncError;

/// What runs automatic sends: the scheduler's process, or a command.
pub struct AutoSends<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub publisher: &'a Publisher,
    pub clock: &'a dyn Clock,
    /// This process, naming its sends' claims.
    pub holder: &'a str,
}

/// The daily send's time, when the shop has one switched on.
pub fn daily_of(shop: &ShopSettings) -> Option<Daily> {
    let p = &shop.profile_sends;
    p.daily.then_some(())?;
    Some(Daily {
        at: p.time_of_day()?,
        zone: shop.time_zone(),
    })
}

impl AutoSends<'_> {
    /// One scheduler check of `shop`: runs its daily send if it is due and
    /// no other process runs it; the record of the send it ran.
    pub async fn tick(
        &self,
        shop: &ShopDomain,
        admin: &AdminClient,
        stop: &CancellationToken,
    ) -> Result<Option<ProfileSendRow>, SyncError> {
        let Some(daily) = daily_of(self.config.shop(shop)) else {
            return Ok(None);
        };
        if !self.due(shop, &daily).await? {
            return Ok(None);
        }
        // The shop's send claim (its expiry in the store's real time, whatever the clock)
        // is held from the second check to the send's end.
        let by = Claimant::new(self.holder, "scheduler");
        match by.claim(self.store, shop).await {
            Ok(()) => {}
            Err(SyncError::SendRunning { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        // Another process may have run it between the check and the claim.
        let result = match self.due(shop, &daily).await {
            Ok(true) => self
                .send_now(shop, admin, &crate::backfill::Quiet, stop, &by)
                .await
                .map(Some),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        };
        by.release(self.store, shop).await;
        result
    }

    /// Whether the daily send of `shop` is due now. A send a shutdown
    /// interrupted does not count: it runs again (from the start).
    async fn due(&self, shop: &ShopDomain, daily: &Daily) -> Result<bool, SyncError> {
        let last = self
            .store
            .last_profile_send(shop, Some(Kind::Auto.as_str()), false)
            .await?
            .filter(|r| r.outcome != "interrupted");
        Ok(daily.due(self.clock.now(), last.map(|r| r.started_at)))
    }

    /// "Send now": the shop's automatic settings, at once, recorded as an
    /// automatic send (the next daily one is still planned at its time).
    pub async fn send_now(
        &self,
        shop: &ShopDomain,
        admin: &AdminClient,
        progress: &dyn SendProgress,
        stop: &CancellationToken,
        by: &Claimant,
    ) -> Result<ProfileSendRow, SyncError> {
        let choices = auto_choices(self.config.shop(shop), self.clock.now())
            .map_err(|e| SyncError::Invalid(format!("shops.\"{shop}\".{e}")))?;
        ProfileSend {
            admin,
            publisher: self.publisher,
            store: self.store,
            shop,
            api_version: &self.config.shopify_admin.api_version,
            kind: Kind::Auto,
            choices,
            clock: self.clock,
            progress,
            stop,
            by,
        }
        .run()
        .await
    }
}

/// A shop's profile sends as its status shows them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SendStatus {
    pub timezone: String,
    pub last_completed: Option<SendSummary>,
    /// The next daily send; `None` when it is off.
    pub next_planned: Option<DateTime<Utc>>,
    pub next_planned_local: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SendSummary {
    pub id: String,
    pub kind: String,
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at` in the shop's time zone.
    pub finished_local: Option<String>,
    pub counts: so_store::ProfileSendCounts,
    pub outcome: String,
}

impl SendSummary {
    pub fn of(row: &ProfileSendRow, shop: &ShopSettings) -> SendSummary {
        SendSummary {
            id: row.id.clone(),
            kind: row.kind.clone(),
            finished_at: row.finished_at,
            finished_local: row.finished_at.map(|t| local(t, shop)),
            counts: row.counts,
            outcome: row.outcome.clone(),
        }
    }
}

/// The last completed send of `shop` and the next planned one, for
/// `shops show` and the admin API.
pub async fn status(
    config: &Config,
    store: &Store,
    shop: &ShopDomain,
    now: DateTime<Utc>,
) -> Result<SendStatus, SyncError> {
    let settings = config.shop(shop);
    let last = store.last_profile_send(shop, None, true).await?;
    // As `due` counts it: an interrupted send runs again.
    let last_auto = store
        .last_profile_send(shop, Some(Kind::Auto.as_str()), false)
        .await?
        .filter(|r| r.outcome != "interrupted");
    let next = daily_of(settings).map(|d| d.next(now, last_auto.map(|r| r.started_at)));
    Ok(SendStatus {
        timezone: settings.time_zone().to_string(),
        last_completed: last.as_ref().map(|r| SendSummary::of(r, settings)),
        next_planned: next,
        next_planned_local: next.map(|t| local(t, settings)),
    })
}

/// `at` in the shop's time zone, e.g. `2026-12-01 09:30:00 GMT (Europe/London)`.
pub fn local(at: DateTime<Utc>, shop: &ShopSettings) -> String {
    shop.local_time(at)
}
