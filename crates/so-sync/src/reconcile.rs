//! Reconciliation: for one shop and a time window, what Shopify has against
//! what this service delivered to Ometria, and (with `repair`) re-syncs of
//! what drifted, through the same queue as webhooks.
//!
//! Compared:
//! - orders created in the window: present here at all (a missing one was
//!   never delivered, e.g. a lost webhook), and their total net of refunds
//!   (Shopify's `currentTotalPriceSet` against the stored order with its
//!   refunds applied);
//! - customers updated in the window: applied here at that version;
//! - their email consent: Shopify's `consentUpdatedAt` not newer than the
//!   consent version applied here;
//! - with an [`OmetriaSide`], the same customers in Ometria itself: held as
//!   a contact of this shop, with the consent Shopify has
//!   ([`ometria`] module).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use so_domain::freshness::{EntityKind, WatermarkKey};
use so_domain::mapping::OrderState;
use so_domain::shopify::Money;
use so_domain::{ShopDomain, ShopifyId};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, Customer, Order, customer_webhook, fold_pages, order_webhook};
use so_store::Store;

use crate::SyncError;
use crate::publish::republish;

mod ometria;

pub use ometria::{OmetriaSide, OmetriaTotals};

/// Totals of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub orders: u64,
    /// Sum of order totals net of refunds, shop currency, as a decimal.
    pub revenue_net: String,
    pub customers: u64,
    pub subscribed: u64,
}

/// One drifted entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// One of [`DRIFT_KINDS`].
    pub kind: &'static str,
    pub id: String,
    /// What Shopify says and what is held here, for the report.
    pub shopify: String,
    pub here: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    pub shop: String,
    pub from: String,
    pub to: String,
    pub shopify: Totals,
    pub delivered: Totals,
    pub drift: Vec<Drift>,
    /// What Ometria itself holds, when it was asked.
    pub ometria: Option<OmetriaTotals>,
    /// Entities re-synced through the queue (with `repair`).
    pub repaired: u64,
}

impl DriftReport {
    pub fn count(&self, kind: &str) -> usize {
        self.drift.iter().filter(|d| d.kind == kind).count()
    }

    /// The text report.
    pub fn text(&self) -> String {
        let mut out = format!(
            "reconciliation of {} from {} to {}\n\n{:<22} {:>12} {:>12}\n",
            self.shop, self.from, self.to, "", "shopify", "delivered"
        );
        for (label, a, b) in [
            (
                "orders",
                self.shopify.orders.to_string(),
                self.delivered.orders.to_string(),
            ),
            (
                "revenue net of refunds",
                self.shopify.revenue_net.clone(),
                self.delivered.revenue_net.clone(),
            ),
            (
                "customers updated",
                self.shopify.customers.to_string(),
                self.delivered.customers.to_string(),
            ),
            (
                "email subscribers",
                self.shopify.subscribed.to_string(),
                self.delivered.subscribed.to_string(),
            ),
        ] {
            out.push_str(&format!("{label:<22} {a:>12} {b:>12}\n"));
        }
        if let Some(o) = &self.ometria {
            out.push_str(&format!(
                "\nin Ometria: {} customers looked up, {} found, {} missing, \
                 {} with another consent; {} not looked up\n",
                o.checked, o.found, o.missing, o.consent_differs, o.not_checked
            ));
        }
        if self.drift.is_empty() {
            out.push_str("\nno drift\n");
        } else {
            out.push_str(&format!("\n{} drifted:\n", self.drift.len()));
            for d in &self.drift {
                out.push_str(&format!(
                    "  {:<15} {:<22} shopify: {:<28} here: {}\n",
                    d.kind, d.id, d.shopify, d.here
                ));
            }
        }
        if self.repaired > 0 {
            out.push_str(&format!("{} re-synced through the queue\n", self.repaired));
        }
        out
    }
}

/// Drift kinds, for the metric's bounded label. The last two compare with
/// Ometria itself.
pub const DRIFT_KINDS: [&str; 6] = [
    "order_missing",
    "order_total",
    "customer_stale",
    "consent_stale",
    "contact_missing",
    "consent_differs",
];

pub struct Reconcile<'a> {
    pub admin: &'a AdminClient,
    pub store: &'a Store,
    pub publisher: &'a Publisher,
    pub shop: &'a ShopDomain,
    pub api_version: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub repair: bool,
    /// Also compare with Ometria's profiles (`None`: Shopify and the store only).
    pub ometria: Option<OmetriaSide<'a>>,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn shopify_net(order: &Order) -> Option<Money> {
    order
        .current_total_price_set
        .as_ref()
        .or(order.total_price_set.as_ref())
        .and_then(|m| Money::parse(&m.shop_money.amount).ok())
}

impl Reconcile<'_> {
    pub async fn run(&self) -> Result<DriftReport, SyncError> {
        let window = format!("'{}'", stamp(self.from));
        let until = format!("'{}'", stamp(self.to));
        let orders = self
            .orders(&format!("created_at:>={window} AND created_at:<{until}"))
            .await?;
        let customers = self
            .customers(&format!("updated_at:>={window} AND updated_at:<{until}"))
            .await?;
        let mut drift = Vec::new();
        let mut to_repair_orders = Vec::new();
        let mut to_repair_customers = Vec::new();

        let ids: Vec<ShopifyId> = orders.iter().map(|o| ShopifyId::new(o.id.id())).collect();
        let stored: HashMap<ShopifyId, OrderState> =
            self.store.order_states(self.shop, &ids).await?;
        let mut shopify = Totals::default();
        let mut delivered = Totals::default();
        let (mut shopify_sum, mut delivered_sum) = (Money::ZERO, Money::ZERO);
        for o in &orders {
            let id = ShopifyId::new(o.id.id());
            let theirs = shopify_net(o).unwrap_or(Money::ZERO);
            shopify.orders += 1;
            shopify_sum = shopify_sum + theirs;
            match stored.get(&id) {
                None => {
                    drift.push(Drift {
                        kind: "order_missing",
                        id: id.to_string(),
                        shopify: format!("{} {theirs}", o.name),
                        here: "never delivered".to_owned(),
                    });
                    to_repair_orders.push(o);
                }
                Some(state) => {
                    let ours = state.net_total();
                    delivered.orders += 1;
                    delivered_sum = delivered_sum + ours;
                    if ours != theirs {
                        drift.push(Drift {
                            kind: "order_total",
                            id: id.to_string(),
                            shopify: theirs.to_string(),
                            here: ours.to_string(),
                        });
                        to_repair_orders.push(o);
                    }
                }
            }
        }
        shopify.revenue_net = shopify_sum.to_string();
        delivered.revenue_net = delivered_sum.to_string();

        for c in &customers {
            shopify.customers += 1;
            let consent = c.email_marketing_consent.as_ref();
            let subscribed = consent.is_some_and(|m| {
                m.marketing_state == so_shopify_admin::EmailMarketingState::Subscribed
            });
            shopify.subscribed += u64::from(subscribed);
            let key = |kind| WatermarkKey {
                shop: self.shop.clone(),
                kind,
                id: c.id.id().to_string(),
            };
            let applied = self.store.watermark(&key(EntityKind::Customer)).await?;
            let stale = match (applied.as_ref(), c.updated_at) {
                (None, _) => true,
                (Some(w), Some(t)) => w.version < t,
                (Some(_), None) => false,
            };
            if stale {
                drift.push(Drift {
                    kind: "customer_stale",
                    id: c.id.id().to_string(),
                    shopify: c.updated_at.map(stamp).unwrap_or_default(),
                    here: applied.map_or_else(|| "never applied".to_owned(), |w| stamp(w.version)),
                });
            } else {
                delivered.customers += 1;
            }
            let consent_at = consent.and_then(|m| m.consent_updated_at);
            let consent_applied = self.store.watermark(&key(EntityKind::EmailConsent)).await?;
            let consent_stale = match (consent_at, consent_applied.as_ref()) {
                (Some(t), Some(w)) => w.version < t,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if consent_stale {
                drift.push(Drift {
                    kind: "consent_stale",
                    id: c.id.id().to_string(),
                    shopify: consent_at.map(stamp).unwrap_or_default(),
                    here: consent_applied
                        .map_or_else(|| "never applied".to_owned(), |w| stamp(w.version)),
                });
            } else if subscribed {
                delivered.subscribed += 1;
            }
            if stale || consent_stale {
                to_repair_customers.push(c);
            }
        }
        let ometria = match &self.ometria {
            Some(side) => {
                let (totals, findings) = side.compare(&customers).await?;
                for (c, finding) in findings {
                    drift.push(finding.drift);
                    if finding.repair {
                        to_repair_customers.push(c);
                    }
                }
                Some(totals)
            }
            None => None,
        };
        // A customer drifted in several ways is re-sent once.
        let mut seen = HashSet::new();
        to_repair_customers.retain(|c| seen.insert(c.id.id()));

        let mut repaired = 0;
        if self.repair {
            // Re-sends carry this run's mark: a version already delivered
            // (a consent Ometria holds differently, an order total) must
            // not be dropped by the dedupe ledger as that delivery.
            let run = format!("rc{}", Utc::now().timestamp_millis());
            let events = to_repair_customers
                .into_iter()
                .map(customer_webhook)
                .chain(to_repair_orders.into_iter().map(order_webhook));
            for event in events {
                republish(self.publisher, self.shop, self.api_version, &event, &run).await?;
                repaired += 1;
            }
        }
        for kind in DRIFT_KINDS {
            let count = drift.iter().filter(|d| d.kind == kind).count();
            so_platform::metrics::reconcile_drift(self.shop.as_str(), kind, count);
        }
        so_platform::metrics::reconcile_ran(self.shop.as_str(), Utc::now().timestamp());
        self.store
            .set_sync_value(self.shop, "reconciled_at", &Utc::now().to_rfc3339())
            .await?;
        crate::shop_status::keep_drift(self.store, self.shop, &drift, repaired).await?;
        Ok(DriftReport {
            shop: self.shop.as_str().to_owned(),
            from: stamp(self.from),
            to: stamp(self.to),
            shopify,
            delivered,
            drift,
            ometria,
            repaired,
        })
    }

    async fn orders(&self, filter: &str) -> Result<Vec<Order>, SyncError> {
        let admin = &self.admin;
        let fetch = |after: Option<String>| async move {
            admin
                .orders_page(
                    after.as_deref(),
                    Some(filter),
                    so_shopify_admin::MAX_PAGE_SIZE,
                )
                .await
        };
        Ok(fold_pages(Vec::new(), fetch, Vec::extend).await?)
    }

    async fn customers(&self, filter: &str) -> Result<Vec<Customer>, SyncError> {
        let admin = &self.admin;
        let fetch = |after: Option<String>| async move {
            admin
                .customers_page(
                    after.as_deref(),
                    Some(filter),
                    so_shopify_admin::MAX_PAGE_SIZE,
                )
                .await
        };
        Ok(fold_pages(Vec::new(), fetch, Vec::extend).await?)
    }
}
