//! Everything one processed event changes, written in one transaction.

use chrono::{DateTime, Utc};
use so_domain::freshness::{Watermark, WatermarkKey};
use so_domain::mapping::{Buyer, OrderState, TagSet};
use so_domain::{ShopDomain, ShopifyId, TopicName, WebhookId};

use crate::connect::Store;
use crate::entities::{put_order_state, put_tags, put_variants};
use crate::error::Result;
use crate::ledger;
use crate::mapping_state::{ProductRecordKey, put_consent_set, put_known_product};
use crate::merchant::{
    CheckoutChange, HeldChange, clear_dirty, mark_dirty, put_checkout, put_held, put_subscription,
};
use crate::watermark::{Advance, advance};

/// One processed delivery, for the dedupe ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub shop: ShopDomain,
    pub webhook_id: WebhookId,
    pub topic: TopicName,
    /// `X-Shopify-Event-Id`, when Shopify sent one.
    pub event_id: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// The writes of one processed event. Applying the same `Commit` twice changes nothing more.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub ledger: Vec<LedgerEntry>,
    /// Each only moves forward (see [`CommitOutcome::Superseded`]).
    pub watermarks: Vec<(WatermarkKey, Watermark)>,
    pub order_states: Vec<(ShopDomain, OrderState)>,
    /// The full tag set per customer (replaces the stored one).
    pub tags: Vec<(ShopDomain, ShopifyId, TagSet)>,
    /// The full variant list per product (replaces the stored one).
    pub variants: Vec<(ShopDomain, ShopifyId, Vec<ShopifyId>)>,
    pub checkouts: Vec<(ShopDomain, CheckoutChange)>,
    /// Email subscription per (shop, contact), for subscribers-only shops.
    pub subscriptions: Vec<(ShopDomain, String, bool)>,
    /// In event order.
    pub held: Vec<(ShopDomain, HeldChange)>,
    /// Contacts whose orders changed: their attributes are due.
    pub behaviour_dirty: Vec<(ShopDomain, Buyer)>,
    /// Attributes sent for these marks (shop, contact, seq).
    pub behaviour_sent: Vec<(ShopDomain, String, i64)>,
    /// Product records pushed from order lines (Ometria has them now).
    pub products_known: Vec<(ShopDomain, ProductRecordKey)>,
    /// Contacts whose email consent was just set explicitly, and whether
    /// with `@force_optin`.
    pub consent_set: Vec<(ShopDomain, String, bool)>,
}

/// What [`Store::commit`] did.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// Another worker stored a strictly newer version for these keys after this event's
    /// freshness decision; nothing was written, since the event's state would overwrite newer
    /// state. The event is now stale: commit its ledger entries alone and drop it.
    Superseded {
        keys: Vec<WatermarkKey>,
    },
}

impl Store {
    /// Writes `commit` atomically: all of it, or nothing (on error or [`CommitOutcome::Superseded`]).
    pub async fn commit(&self, commit: &Commit) -> Result<CommitOutcome> {
        // A fixed row order: two PostgreSQL transactions touching the same rows then lock them
        // in the same order and cannot deadlock each other.
        let mut watermarks: Vec<&(WatermarkKey, Watermark)> = commit.watermarks.iter().collect();
        watermarks.sort_by(|(a, _), (b, _)| {
            (a.shop.as_str(), a.kind, a.id.as_str()).cmp(&(b.shop.as_str(), b.kind, b.id.as_str()))
        });

        let mut tx = self.begin_write().await?;
        let mut superseded = Vec::new();
        for (key, mark) in watermarks {
            if advance(&mut tx, key, mark).await? == Advance::Superseded {
                superseded.push(key.clone());
            }
        }
        if !superseded.is_empty() {
            tx.rollback().await?;
            return Ok(CommitOutcome::Superseded { keys: superseded });
        }
        ledger::insert_all(&mut tx, &commit.ledger).await?;
        for (shop, state) in &commit.order_states {
            put_order_state(&mut tx, shop, state).await?;
        }
        for (shop, customer_id, tags) in &commit.tags {
            put_tags(&mut tx, shop, *customer_id, tags).await?;
        }
        for (shop, product_id, variants) in &commit.variants {
            put_variants(&mut tx, shop, *product_id, variants).await?;
        }
        for (shop, change) in &commit.checkouts {
            put_checkout(&mut tx, shop, change).await?;
        }
        for (shop, contact, subscribed) in &commit.subscriptions {
            put_subscription(&mut tx, shop, contact, *subscribed).await?;
        }
        for (shop, change) in &commit.held {
            put_held(&mut tx, shop, change).await?;
        }
        let now = Utc::now();
        for (shop, buyer) in &commit.behaviour_dirty {
            mark_dirty(&mut tx, shop, buyer, now).await?;
        }
        for (shop, contact, seq) in &commit.behaviour_sent {
            clear_dirty(&mut tx, shop, contact, *seq).await?;
        }
        for (shop, key) in &commit.products_known {
            put_known_product(&mut tx, shop, key).await?;
        }
        for (shop, contact, forced) in &commit.consent_set {
            put_consent_set(&mut tx, shop, contact, *forced).await?;
        }
        tx.commit().await?;
        Ok(CommitOutcome::Committed)
    }
}
