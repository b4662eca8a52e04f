//! What a page of contacts' behavioural attributes are computed from, read
//! in a few queries (orders, customer statuses, purchasing-summary
//! ownership), and the computation, optionally through a batch's own
//! uncommitted order states.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use so_domain::ShopDomain;
use so_domain::behaviour;
use so_domain::freshness::{EntityKind, WatermarkKey};
use so_domain::identity::CustomerStatus;
use so_domain::mapping::{Buyer, OrderState};
use so_domain::shopify::ShopifyId;
use so_store::Store;

use crate::rules::Rules;

/// The committed state behind some contacts' attributes.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// Customers that are not active (absent: active).
    inactive: HashSet<(ShopDomain, ShopifyId)>,
    orders: HashMap<(ShopDomain, String), Vec<OrderState>>,
    /// Customers whose count and total Shopify's purchasing summary owns.
    owned: HashSet<(ShopDomain, ShopifyId)>,
}

/// A batch's own order states and purchasing summaries, not committed yet:
/// the attributes of a contact the batch sends count them.
#[derive(Debug, Default)]
pub(crate) struct Overlay<'a> {
    /// The batch's last state of each order it changed.
    orders: HashMap<(ShopDomain, ShopifyId), &'a OrderState>,
    /// Those states by their buyer.
    by_buyer: HashMap<(ShopDomain, String), Vec<&'a OrderState>>,
    /// Customers with a purchasing summary applied in the batch.
    summaries: HashSet<(ShopDomain, String)>,
}

impl<'a> Overlay<'a> {
    /// The overlay of these changes, in batch order (a later state of an
    /// order replaces an earlier one).
    pub(crate) fn of(changes: impl Iterator<Item = &'a crate::pending::Changes>) -> Overlay<'a> {
        let mut out = Overlay::default();
        for c in changes {
            for (shop, state) in &c.order_states {
                out.orders.insert((shop.clone(), state.order_id), state);
            }
            for (key, _) in &c.watermarks {
                if key.kind == EntityKind::PurchasingSummary {
                    out.summaries.insert((key.shop.clone(), key.id.clone()));
                }
            }
        }
        for ((shop, _), state) in &out.orders {
            if let Some(b) = &state.buyer {
                out.by_buyer
                    .entry((shop.clone(), b.id.clone()))
                    .or_default()
                    .push(state);
            }
        }
        out
    }
}

/// The Shopify customer behind a contact, if it is a customer's listing.
pub(crate) fn customer_of(rules: &Rules, shop: &ShopDomain, buyer: &Buyer) -> Option<ShopifyId> {
    let ns = rules.for_shop(shop).ns.clone();
    buyer
        .customer_id
        .as_deref()
        .and_then(|c| c.strip_prefix(ns.as_str()))
        .and_then(ShopifyId::parse)
}

impl Facts {
    /// Reads the facts of `contacts` (several shops allowed): per shop, one
    /// query per chunk for each kind of fact.
    pub(crate) async fn read(
        store: &Store,
        rules: &Rules,
        contacts: &[(ShopDomain, Buyer)],
    ) -> Result<Facts, so_store::Error> {
        let mut by_shop: HashMap<&ShopDomain, (Vec<String>, Vec<ShopifyId>)> = HashMap::new();
        for (shop, buyer) in contacts {
            let (ids, customers) = by_shop.entry(shop).or_default();
            ids.push(buyer.id.clone());
            customers.extend(customer_of(rules, shop, buyer));
        }
        let mut facts = Facts::default();
        let mut summary_keys = Vec::new();
        for (shop, (ids, customers)) in by_shop {
            for (contact, orders) in store.orders_of_contacts(shop, &ids).await? {
                facts.orders.insert((shop.clone(), contact), orders);
            }
            for (id, status) in store.customer_statuses(shop, &customers).await? {
                if status != CustomerStatus::Active {
                    facts.inactive.insert((shop.clone(), id));
                }
            }
            summary_keys.extend(customers.iter().map(|id| WatermarkKey {
                shop: shop.clone(),
                kind: EntityKind::PurchasingSummary,
                id: id.to_string(),
            }));
        }
        let marks = store.watermarks(&summary_keys).await?;
        for (key, mark) in summary_keys.into_iter().zip(marks) {
            if mark.is_some()
                && let Some(id) = ShopifyId::parse(&key.id)
            {
                facts.owned.insert((key.shop, id));
            }
        }
        Ok(facts)
    }

    /// The switched-on attributes of one contact as property keys, or
    /// `None` when nothing more is to be sent about it (its customer was
    /// deleted, redacted or merged away). `overlay`: the batch's own
    /// uncommitted order states, counted as if committed.
    pub(crate) fn attributes(
        &self,
        rules: &Rules,
        shop: &ShopDomain,
        buyer: &Buyer,
        overlay: Option<&Overlay<'_>>,
    ) -> Option<Map<String, Value>> {
        let customer = customer_of(rules, shop, buyer);
        if customer.is_some_and(|id| self.inactive.contains(&(shop.clone(), id))) {
            return None;
        }
        let key = (shop.clone(), buyer.id.clone());
        let committed = self.orders.get(&key).into_iter().flatten();
        let orders: Vec<&OrderState> = match overlay {
            None => committed.collect(),
            Some(o) => committed
                // A state the batch changed counts as the batch left it
                // (below), or not at all if it moved to another buyer.
                .filter(|s| !o.orders.contains_key(&(shop.clone(), s.order_id)))
                .chain(o.by_buyer.get(&key).into_iter().flatten().copied())
                .collect(),
        };
        let summary = behaviour::summarise(orders);
        let owned = customer.is_some_and(|id| {
            self.owned.contains(&(shop.clone(), id))
                || overlay.is_some_and(|o| o.summaries.contains(&(shop.clone(), id.to_string())))
        });
        Some(summary.properties(&rules.for_shop(shop).settings.behaviour, owned))
    }
}

#[cfg(test)]
mod tests;
