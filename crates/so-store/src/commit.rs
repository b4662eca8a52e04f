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
use crate::progress::{Progress, put_progress};
use crate::properties::{remark_if_superseded, stored_versions};
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
    /// Property snapshots Ometria took, by version: a contact whose snapshot has moved on since
    /// is marked again (see `properties.rs`).
    pub properties_pushed: Vec<(ShopDomain, Buyer, i64)>,
    /// Product records pushed from order lines (Ometria has them now).
    pub products_known: Vec<(ShopDomain, ProductRecordKey)>,
    /// Contacts whose email consent was just set explicitly, and whether
    /// with `@force_optin`.
    pub consent_set: Vec<(ShopDomain, String, bool)>,
    /// The worker's progress (see `progress.rs`), written with the batch so a batch costs one
    /// transaction; with its records, or not at all.
    pub progress: Progress,
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
        // A fixed row order, table by table and key by key within each: two PostgreSQL
        // transactions touching the same rows (the same minimal products from two batches, one
        // contact's attribute mark) then lock them in the same order and cannot deadlock each
        // other. (A deadlock is detected after a second and aborts one of them, whose events
        // are then redelivered and pushed again.) Rows of one key keep their order.
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
        let mut ledger = commit.ledger.clone();
        ledger.sort_by(|a, b| {
            (a.shop.as_str(), a.webhook_id.as_str()).cmp(&(b.shop.as_str(), b.webhook_id.as_str()))
        });
        ledger::insert_all(&mut tx, &ledger).await?;
        for (shop, state) in sorted(&commit.order_states, |(s, o)| (s.as_str(), o.order_id)) {
            put_order_state(&mut tx, shop, state).await?;
        }
        for (shop, customer_id, tags) in sorted(&commit.tags, |(s, id, _)| (s.as_str(), *id)) {
            put_tags(&mut tx, shop, *customer_id, tags).await?;
        }
        for (shop, product_id, variants) in sorted(&commit.variants, |(s, id, _)| (s.as_str(), *id))
        {
            put_variants(&mut tx, shop, *product_id, variants).await?;
        }
        for (shop, change) in sorted(&commit.checkouts, |(s, c)| (s.as_str(), checkout_token(c))) {
            put_checkout(&mut tx, shop, change).await?;
        }
        for (shop, contact, subscribed) in
            sorted(&commit.subscriptions, |(s, c, _)| (s.as_str(), c.as_str()))
        {
            put_subscription(&mut tx, shop, contact, *subscribed).await?;
        }
        for (shop, change) in sorted(&commit.held, |(s, c)| (s.as_str(), held_contact(c))) {
            put_held(&mut tx, shop, change).await?;
        }
        apply_behaviour(&mut tx, commit).await?;
        for (shop, key) in sorted(&commit.products_known, |(s, k)| (s.as_str(), *k)) {
            put_known_product(&mut tx, shop, key).await?;
        }
        for (shop, contact, forced) in
            sorted(&commit.consent_set, |(s, c, _)| (s.as_str(), c.as_str()))
        {
            put_consent_set(&mut tx, shop, contact, *forced).await?;
        }
        put_progress(&mut tx, &commit.progress, Utc::now()).await?;
        tx.commit().await?;
        Ok(CommitOutcome::Committed)
    }
}

/// `items` in the order of `key`, rows of one key in their given order.
fn sorted<'a, T, K: Ord + 'a>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut out: Vec<&T> = items.iter().collect();
    out.sort_by_key(|a| key(a));
    out
}

fn checkout_token(c: &CheckoutChange) -> &str {
    match c {
        CheckoutChange::Seen { token, .. }
        | CheckoutChange::Completed { token }
        | CheckoutChange::Notified { token, .. } => token,
    }
}

fn held_contact(c: &HeldChange) -> &str {
    match c {
        HeldChange::Hold { contact, .. } | HeldChange::Release { contact } => contact,
    }
}

/// The attribute outbox's marks, clears and re-marks, contact by contact in one pass (three
/// passes would lock one contact's row in one and another's in the next, in a different order
/// than a concurrent commit). Per contact the order is unchanged: its new mark, then the
/// clearing of the mark that was read (refused if the mark moved on), then the re-mark of a
/// superseded snapshot.
async fn apply_behaviour(conn: &mut sqlx::AnyConnection, commit: &Commit) -> Result<()> {
    enum Op<'a> {
        Mark(&'a Buyer),
        Clear(i64),
        Pushed(&'a Buyer, i64),
    }
    let mut ops: Vec<(&ShopDomain, &str, Op<'_>)> = Vec::new();
    ops.extend(
        commit
            .behaviour_dirty
            .iter()
            .map(|(s, b)| (s, b.id.as_str(), Op::Mark(b))),
    );
    ops.extend(
        commit
            .behaviour_sent
            .iter()
            .map(|(s, c, seq)| (s, c.as_str(), Op::Clear(*seq))),
    );
    ops.extend(
        commit
            .properties_pushed
            .iter()
            .map(|(s, b, v)| (s, b.id.as_str(), Op::Pushed(b, *v))),
    );
    // Stable: per contact, marks before clears before re-marks, as listed.
    ops.sort_by(|(s1, c1, _), (s2, c2, _)| (s1.as_str(), *c1).cmp(&(s2.as_str(), *c2)));
    // The pushed snapshots' stored versions in a few reads, not one per contact (a drain
    // page commits 500); a plain read, as each one was, so it locks nothing.
    let mut pushed: Vec<(&str, &str)> = commit
        .properties_pushed
        .iter()
        .map(|(s, b, _)| (s.as_str(), b.id.as_str()))
        .collect();
    pushed.sort_unstable();
    pushed.dedup();
    let stored = stored_versions(conn, &pushed).await?;
    let now = Utc::now();
    for (shop, contact, op) in ops {
        match op {
            Op::Mark(buyer) => mark_dirty(conn, shop, buyer, now).await?,
            Op::Clear(seq) => clear_dirty(conn, shop, contact, seq).await?,
            Op::Pushed(buyer, version) => {
                let key = (shop.as_str().to_owned(), contact.to_owned());
                remark_if_superseded(conn, shop, buyer, version, stored.get(&key).copied()).await?;
            }
        }
    }
    Ok(())
}
