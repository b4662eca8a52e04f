//! Every shop's state at a glance (the console's Shops page): the list's summary with what
//! `shops show` reads per shop, read for all shops at once, and the worker's backlog, which
//! the queues cannot split by shop, shown once.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use so_domain::ShopDomain;

use super::detail::Waiting;
use super::{ShopOps, ShopStatus};
use crate::OpsError;

/// What the Shops page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ShopsOverview {
    pub shops: Vec<ShopLine>,
    /// Ready messages in the work and retry queues, every shop's.
    pub waiting: Waiting,
    /// Every message the ingress received before this is settled (the worker's partition
    /// progress); `None` until every partition has recorded progress.
    pub settled_before: Option<DateTime<Utc>>,
    /// `now - settled_before` in whole seconds: how far behind the worker is.
    pub lag_secs: Option<i64>,
}

/// One shop's line.
#[derive(Debug, Clone, Serialize)]
pub struct ShopLine {
    #[serde(flatten)]
    pub status: ShopStatus,
    /// `connected`, `refused` or `uninstalled` for an OAuth install; `configured` for a token
    /// or client credentials in the settings; `none` when the Admin API is not reachable.
    pub connection: &'static str,
    pub last_webhook_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// The last subscription check's verdict, `None` when none ran.
    pub subscriptions_in_order: Option<bool>,
    pub subscriptions_checked_at: Option<DateTime<Utc>>,
    pub dead_lettered: u64,
    pub parked: u64,
    /// Ometria's asynchronous rejections over the last 24 hours.
    pub rejections_last_day: u64,
}

impl ShopOps {
    /// Every served shop at a glance, in a fixed number of store reads whatever the number
    /// of shops, plus one look at the queues' depths.
    pub async fn overview(&self) -> Result<ShopsOverview, OpsError> {
        let list = self.list().await?;
        let domains: Vec<ShopDomain> = list
            .iter()
            .filter_map(|s| ShopDomain::parse(&s.shop).ok())
            .collect();
        let now = Utc::now();
        let store = self.queue.store();
        // Holds older than the checks' bound are taken for lost, as the checks take them.
        let holds_since = now
            - TimeDelta::from_std(self.config.worker.abandonment_max_defer)
                .unwrap_or(TimeDelta::hours(1));
        let (glances, settled, waiting) = tokio::join!(
            store.shops_at_a_glance(
                &domains,
                now - TimeDelta::hours(24),
                super::SYNTHESIZED_ID_PREFIX
            ),
            store.settled_before(self.config.amqp.partitions, holds_since),
            self.waiting(),
        );
        let mut glances = glances?;
        let settled_before = settled?;
        let shops = list
            .into_iter()
            .map(|status| {
                let g = glances.remove(&status.shop).unwrap_or_default();
                ShopLine {
                    connection: connection(&status, g.install.as_deref()),
                    last_webhook_at: g.last_webhook_at,
                    last_push_at: g.last_push_at,
                    subscriptions_in_order: g.subscriptions.map(|s| s.1),
                    subscriptions_checked_at: g.subscriptions.map(|s| s.0),
                    dead_lettered: g.dead_lettered,
                    parked: g.parked,
                    rejections_last_day: g.rejections,
                    status,
                }
            })
            .collect();
        Ok(ShopsOverview {
            shops,
            waiting,
            lag_secs: settled_before.map(|t| (now - t).num_seconds().max(0)),
            settled_before,
        })
    }
}

/// Settings that reach the Admin API come first: they work whatever became of an install.
fn connection(status: &ShopStatus, install: Option<&str>) -> &'static str {
    match (status.admin_access, install) {
        ("none", Some("connected")) => "connected",
        ("none", Some("refused")) => "refused",
        ("none", Some("uninstalled")) => "uninstalled",
        ("none", _) => "none",
        _ => "configured",
    }
}
