//! State changes of the events in the current batch that are not committed
//! yet. Later events of the same batch read through this overlay, so two
//! updates of one order in one batch see each other.

use std::collections::{HashMap, HashSet};

use so_domain::ShopDomain;
use so_domain::freshness::{Watermark, WatermarkKey};
use so_domain::mapping::{OrderState, TagSet};
use so_domain::shopify::ShopifyId;
use so_store::{CheckoutChange, HeldChange};

fn checkout_token(c: &CheckoutChange) -> &str {
    match c {
        CheckoutChange::Seen { token, .. }
        | CheckoutChange::Completed { token }
        | CheckoutChange::Notified { token, .. } => token,
    }
}

/// Everything one event changes once its records are accepted.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    pub(crate) ledger: Option<so_store::LedgerEntry>,
    pub(crate) watermarks: Vec<(WatermarkKey, Watermark)>,
    pub(crate) order_states: Vec<(ShopDomain, OrderState)>,
    pub(crate) tags: Vec<(ShopDomain, ShopifyId, TagSet)>,
    pub(crate) variants: Vec<(ShopDomain, ShopifyId, Vec<ShopifyId>)>,
    pub(crate) checkouts: Vec<(ShopDomain, CheckoutChange)>,
    pub(crate) subscriptions: Vec<(ShopDomain, String, bool)>,
    pub(crate) held: Vec<(ShopDomain, HeldChange)>,
    /// Contacts whose attributes are due once this commits.
    pub(crate) behaviour_dirty: Vec<(ShopDomain, so_domain::mapping::Buyer)>,
    /// Property snapshots its contact records carry (shop, contact, version).
    pub(crate) properties_pushed: Vec<(ShopDomain, so_domain::mapping::Buyer, i64)>,
    /// Schedule this message's abandonment check this many seconds from
    /// now (before it is acked).
    pub(crate) check_after_secs: Option<u64>,
    /// Product records this event delivers from its order lines.
    pub(crate) products_known: Vec<(ShopDomain, so_store::ProductRecordKey)>,
    /// Contacts whose email consent this event sets explicitly, and
    /// whether with `@force_optin`.
    pub(crate) consent_set: Vec<(ShopDomain, String, bool)>,
    /// Customers whose listing, as this event used it, is a choice of this
    /// batch not stored yet (see `Cache::defer_listing`).
    pub(crate) deferred_listings: Vec<(ShopDomain, ShopifyId)>,
}

/// The batch's uncommitted view.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    webhooks: HashSet<(ShopDomain, String)>,
    watermarks: HashMap<WatermarkKey, Watermark>,
    orders: HashMap<(ShopDomain, ShopifyId), OrderState>,
    tags: HashMap<(ShopDomain, ShopifyId), TagSet>,
    variants: HashMap<(ShopDomain, ShopifyId), Vec<ShopifyId>>,
    /// Order ids per (shop, Ometria contact id).
    orders_by_buyer: HashMap<(ShopDomain, String), HashSet<ShopifyId>>,
    subscriptions: HashMap<(ShopDomain, String), bool>,
    /// Records held in this batch per contact; `released` once a later
    /// event of the batch sent them (the store's rows go with the commit).
    held: HashMap<(ShopDomain, String), Held>,
    checkouts: Vec<(ShopDomain, CheckoutChange)>,
    products_known: HashSet<(ShopDomain, so_store::ProductRecordKey)>,
    /// Whether forced, per contact whose consent the batch set.
    consent_set: HashMap<(ShopDomain, String), bool>,
}

#[derive(Debug, Default)]
pub(crate) struct Held {
    pub(crate) released: bool,
    pub(crate) records: Vec<so_domain::ometria::PushRecord>,
}

impl Pending {
    pub(crate) fn seen(&self, shop: &ShopDomain, webhook_id: &str) -> bool {
        self.webhooks
            .contains(&(shop.clone(), webhook_id.to_owned()))
    }

    pub(crate) fn watermark(&self, key: &WatermarkKey) -> Option<&Watermark> {
        self.watermarks.get(key)
    }

    pub(crate) fn order(&self, shop: &ShopDomain, id: ShopifyId) -> Option<&OrderState> {
        self.orders.get(&(shop.clone(), id))
    }

    pub(crate) fn tags(&self, shop: &ShopDomain, id: ShopifyId) -> Option<&TagSet> {
        self.tags.get(&(shop.clone(), id))
    }

    pub(crate) fn variants(&self, shop: &ShopDomain, id: ShopifyId) -> Option<&Vec<ShopifyId>> {
        self.variants.get(&(shop.clone(), id))
    }

    /// Whether an earlier event of the batch delivered this product record.
    pub(crate) fn product_known(
        &self,
        shop: &ShopDomain,
        key: &so_store::ProductRecordKey,
    ) -> bool {
        self.products_known.contains(&(shop.clone(), *key))
            || key.1.is_none() && self.variants.contains_key(&(shop.clone(), key.0))
            || key.1.is_some_and(|v| {
                self.variants
                    .get(&(shop.clone(), key.0))
                    .is_some_and(|vs| vs.contains(&v))
            })
    }

    /// Whether an earlier event of the batch set the contact's consent
    /// (`None`: none did), and whether it forced it.
    pub(crate) fn consent_set(&self, shop: &ShopDomain, contact: &str) -> Option<bool> {
        self.consent_set
            .get(&(shop.clone(), contact.to_owned()))
            .copied()
    }

    /// This batch's orders of one contact.
    pub(crate) fn orders_of(&self, shop: &ShopDomain, buyer: &str) -> Vec<&OrderState> {
        self.orders_by_buyer
            .get(&(shop.clone(), buyer.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|id| self.orders.get(&(shop.clone(), *id)))
            .filter(|o| o.buyer.as_ref().is_some_and(|b| b.id == buyer))
            .collect()
    }

    pub(crate) fn subscription(&self, shop: &ShopDomain, contact: &str) -> Option<bool> {
        self.subscriptions
            .get(&(shop.clone(), contact.to_owned()))
            .copied()
    }

    pub(crate) fn held(&self, shop: &ShopDomain, contact: &str) -> Option<&Held> {
        self.held.get(&(shop.clone(), contact.to_owned()))
    }

    /// Checkout changes of this batch for one token, oldest first.
    pub(crate) fn checkout_changes<'a>(
        &'a self,
        shop: &'a ShopDomain,
        token: &'a str,
    ) -> impl Iterator<Item = &'a CheckoutChange> + 'a {
        self.checkouts
            .iter()
            .filter(move |(s, c)| s == shop && checkout_token(c) == token)
            .map(|(_, c)| c)
    }

    /// Tokens of this batch's checkouts seen with `cart_token`.
    pub(crate) fn checkout_tokens_by_cart(&self, shop: &ShopDomain, cart: &str) -> Vec<String> {
        self.checkouts
            .iter()
            .filter_map(|(s, c)| match c {
                CheckoutChange::Seen {
                    token, cart_token, ..
                } if s == shop && cart_token.as_deref() == Some(cart) => Some(token.clone()),
                _ => None,
            })
            .collect()
    }

    /// Makes an event's changes visible to the rest of the batch.
    pub(crate) fn absorb(&mut self, c: &Changes) {
        if let Some(l) = &c.ledger {
            self.webhooks
                .insert((l.shop.clone(), l.webhook_id.as_str().to_owned()));
        }
        for (k, w) in &c.watermarks {
            let newer = self
                .watermarks
                .get(k)
                .is_none_or(|old| w.version >= old.version);
            if newer {
                self.watermarks.insert(k.clone(), w.clone());
            }
        }
        for (shop, state) in &c.order_states {
            if let Some(b) = &state.buyer {
                self.orders_by_buyer
                    .entry((shop.clone(), b.id.clone()))
                    .or_default()
                    .insert(state.order_id);
            }
            self.orders
                .insert((shop.clone(), state.order_id), state.clone());
        }
        for (shop, contact, subscribed) in &c.subscriptions {
            self.subscriptions
                .insert((shop.clone(), contact.clone()), *subscribed);
        }
        for (shop, change) in &c.held {
            match change {
                HeldChange::Hold {
                    contact, record, ..
                } => {
                    let held = self
                        .held
                        .entry((shop.clone(), contact.clone()))
                        .or_default();
                    held.released = false;
                    match held
                        .records
                        .iter_mut()
                        .find(|r| r.record_type == record.record_type && r.id == record.id)
                    {
                        Some(r) => r.merge(record.clone()),
                        None => held.records.push(record.clone()),
                    }
                }
                HeldChange::Release { contact } => {
                    let held = self
                        .held
                        .entry((shop.clone(), contact.clone()))
                        .or_default();
                    held.released = true;
                    held.records.clear();
                }
            }
        }
        self.checkouts.extend(c.checkouts.iter().cloned());
        for (shop, id, tags) in &c.tags {
            self.tags.insert((shop.clone(), *id), tags.clone());
        }
        for (shop, id, v) in &c.variants {
            self.variants.insert((shop.clone(), *id), v.clone());
        }
        self.products_known.extend(c.products_known.iter().cloned());
        for (shop, contact, forced) in &c.consent_set {
            let entry = self
                .consent_set
                .entry((shop.clone(), contact.clone()))
                .or_default();
            *entry |= forced;
        }
    }
}
