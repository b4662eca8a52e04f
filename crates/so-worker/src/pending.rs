//! State changes of the events in the current batch that are not committed
//! yet. Later events of the same batch read through this overlay, so two
//! updates of one order in one batch see each other.

use std::collections::{HashMap, HashSet};

use so_domain::ShopDomain;
use so_domain::freshness::{Watermark, WatermarkKey};
use so_domain::mapping::{OrderState, TagSet};
use so_domain::shopify::ShopifyId;

/// Everything one event changes once its records are accepted.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    pub(crate) ledger: Option<so_store::LedgerEntry>,
    pub(crate) watermarks: Vec<(WatermarkKey, Watermark)>,
    pub(crate) order_states: Vec<(ShopDomain, OrderState)>,
    pub(crate) tags: Vec<(ShopDomain, ShopifyId, TagSet)>,
    pub(crate) variants: Vec<(ShopDomain, ShopifyId, Vec<ShopifyId>)>,
}

/// The batch's uncommitted view.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    webhooks: HashSet<(ShopDomain, String)>,
    watermarks: HashMap<WatermarkKey, Watermark>,
    orders: HashMap<(ShopDomain, ShopifyId), OrderState>,
    tags: HashMap<(ShopDomain, ShopifyId), TagSet>,
    variants: HashMap<(ShopDomain, ShopifyId), Vec<ShopifyId>>,
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
            self.orders
                .insert((shop.clone(), state.order_id), state.clone());
        }
        for (shop, id, tags) in &c.tags {
            self.tags.insert((shop.clone(), *id), tags.clone());
        }
        for (shop, id, v) in &c.variants {
            self.variants.insert((shop.clone(), *id), v.clone());
        }
    }
}
