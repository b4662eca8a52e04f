//! What the batch read from the store up front, in a few bulk queries,
//! plus identity snapshots reused until the batch writes identity.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use so_domain::freshness::{Watermark, WatermarkKey};
use so_domain::identity::{CustomerListing, CustomerStatus, IdentityDecision, IdentitySnapshot};
use so_domain::mapping::OrderState;
use so_domain::mapping::line_product_keys;
use so_domain::shopify::{ShopifyId, ShopifyPayload};
use so_domain::{EventMeta, ShopDomain, WebhookId};
use so_store::{ProductRecordKey, Store};

use crate::screen::{Screened, lookups};

type SnapshotKey = (ShopDomain, Option<ShopifyId>, Option<String>);

#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Shops whose ledger was loaded for every webhook id of the batch.
    ledger_shops: BTreeSet<ShopDomain>,
    ledger: HashMap<(ShopDomain, String), DateTime<Utc>>,
    watermarks: HashMap<WatermarkKey, Option<Watermark>>,
    orders: HashMap<(ShopDomain, ShopifyId), Option<OrderState>>,
    snapshots: HashMap<SnapshotKey, IdentitySnapshot>,
    /// Lifecycle state of the batch's shops (uninstalled, redacted).
    shop_states: HashMap<ShopDomain, Option<(so_store::ShopStatus, DateTime<Utc>)>>,
    /// Of the product records the batch's order lines name, those Ometria
    /// already has, per shop: one lookup per batch instead of two per order
    /// event (the lookups were a third of the worker's store round trips).
    known_products: HashMap<ShopDomain, HashSet<ProductRecordKey>>,
    /// Listing choices of first-seen customers made by this batch and not
    /// stored yet: the batch stores them together before it pushes
    /// (`Store::set_listings`), instead of one write transaction each.
    deferred_listings: Vec<(ShopDomain, ShopifyId, CustomerListing)>,
}

impl Cache {
    /// Loads ledger entries, watermarks and order states for `events`.
    pub(crate) async fn load(
        store: &Store,
        events: &[(&EventMeta, &Screened)],
    ) -> Result<Cache, so_store::Error> {
        let mut cache = Cache::default();
        let mut by_shop: HashMap<&ShopDomain, (Vec<WebhookId>, Vec<ShopifyId>)> = HashMap::new();
        let mut products: HashMap<&ShopDomain, Vec<ProductRecordKey>> = HashMap::new();
        let mut keys = Vec::new();
        for (meta, screened) in events {
            let entry = by_shop.entry(&meta.shop).or_default();
            entry.0.push(meta.webhook_id.clone());
            if let ShopifyPayload::Order(order) = &screened.payload {
                let lines = products.entry(&meta.shop).or_default();
                lines.extend(line_product_keys(order));
            }
            let (marks, order) = lookups(&screened.payload);
            entry.1.extend(order);
            keys.extend(marks.into_iter().map(|(kind, id)| WatermarkKey {
                shop: meta.shop.clone(),
                kind,
                id,
            }));
        }
        for (shop, (webhooks, orders)) in by_shop {
            cache
                .shop_states
                .insert(shop.clone(), store.shop_status(shop).await?);
            for (id, at) in store.ledger_seen(shop, &webhooks).await? {
                cache.ledger.insert((shop.clone(), id), at);
            }
            cache.ledger_shops.insert(shop.clone());
            let mut orders = orders;
            orders.sort_unstable();
            orders.dedup();
            let mut found = store.order_states(shop, &orders).await?;
            for id in orders {
                cache.orders.insert((shop.clone(), id), found.remove(&id));
            }
        }
        for (shop, mut lines) in products {
            lines.sort_unstable();
            lines.dedup();
            let known = store.known_product_records(shop, &lines).await?;
            cache.known_products.insert(shop.clone(), known);
        }
        keys.sort_by(|a, b| {
            (a.shop.as_str(), a.kind, &a.id).cmp(&(b.shop.as_str(), b.kind, &b.id))
        });
        keys.dedup();
        let values = store.watermarks(&keys).await?;
        cache.watermarks = keys.into_iter().zip(values).collect();
        Ok(cache)
    }

    /// The shop's lifecycle state as loaded for the batch.
    pub(crate) fn shop_state(
        &self,
        shop: &ShopDomain,
    ) -> Option<(so_store::ShopStatus, DateTime<Utc>)> {
        self.shop_states.get(shop).copied().flatten()
    }

    /// After this batch changed a shop's state.
    pub(crate) fn set_shop_state(
        &mut self,
        shop: &ShopDomain,
        state: Option<(so_store::ShopStatus, DateTime<Utc>)>,
    ) {
        self.shop_states.insert(shop.clone(), state);
    }

    /// `Some(lookup)` when the batch loaded this shop's ledger.
    pub(crate) fn ledger(
        &self,
        shop: &ShopDomain,
        webhook_id: &str,
    ) -> Option<Option<DateTime<Utc>>> {
        self.ledger_shops.contains(shop).then(|| {
            self.ledger
                .get(&(shop.clone(), webhook_id.to_owned()))
                .copied()
        })
    }

    pub(crate) fn watermark(&self, key: &WatermarkKey) -> Option<&Option<Watermark>> {
        self.watermarks.get(key)
    }

    pub(crate) fn order(&self, shop: &ShopDomain, id: ShopifyId) -> Option<&Option<OrderState>> {
        self.orders.get(&(shop.clone(), id))
    }

    /// Which of `keys` (the lines of one of the batch's orders) Ometria
    /// already had when the batch started; `None` if the batch did not load
    /// them (the caller asks the store).
    pub(crate) fn known_products(
        &self,
        shop: &ShopDomain,
        keys: &[ProductRecordKey],
    ) -> Option<HashSet<ProductRecordKey>> {
        let known = self.known_products.get(shop)?;
        Some(keys.iter().filter(|k| known.contains(k)).copied().collect())
    }

    pub(crate) fn snapshot(&self, key: &SnapshotKey) -> Option<&IdentitySnapshot> {
        self.snapshots.get(key)
    }

    pub(crate) fn remember_snapshot(&mut self, key: SnapshotKey, snapshot: IdentitySnapshot) {
        self.snapshots.insert(key, snapshot);
    }

    /// Identity was written: cached snapshots may be out of date.
    pub(crate) fn forget_snapshots(&mut self) {
        self.snapshots.clear();
    }

    /// After `decisions` were applied in `shop`: forgets the snapshots they
    /// may have changed and keeps the rest, so that a first-seen customer's
    /// listing choice (most batches make some) does not send every later
    /// event of the batch back to the store. Decisions that reach further
    /// (merges, deletions, redactions) forget everything.
    pub(crate) fn forget_snapshots_after(
        &mut self,
        shop: &ShopDomain,
        decisions: &[IdentityDecision],
    ) {
        for decision in decisions {
            match decision {
                IdentityDecision::RememberGuest { email, .. } => {
                    self.forget_email(shop, email.as_str());
                }
                IdentityDecision::LinkGuestToCustomer { guest_id, .. } => {
                    self.snapshots.retain(|(s, _, _), snap| {
                        s != shop || snap.guest.as_ref().is_none_or(|g| &g.guest_id != guest_id)
                    });
                }
                IdentityDecision::SetListing { customer_id, .. } => {
                    let id = *customer_id;
                    self.snapshots.retain(|(s, customer, _), snap| {
                        s != shop
                            || !(*customer == Some(id)
                                || snap.customer == CustomerStatus::MergedInto(id)
                                || snap.guest.as_ref().and_then(|g| g.linked_customer) == Some(id))
                    });
                }
                IdentityDecision::RedirectCustomer { .. }
                | IdentityDecision::MarkCustomerDeleted { .. }
                | IdentityDecision::MarkCustomerRedacted { .. } => self.forget_snapshots(),
            }
        }
    }

    /// A first-seen customer's listing choice, kept for the batch to store
    /// before it pushes; meanwhile the batch's snapshots of that customer
    /// show it, so its later events resolve the same way. Snapshots that
    /// reach the customer another way (merged into it, or an email linked
    /// to it) are read again.
    pub(crate) fn defer_listing(
        &mut self,
        shop: &ShopDomain,
        customer: ShopifyId,
        listing: CustomerListing,
    ) {
        self.snapshots.retain(|(s, c, _), snap| {
            if s != shop {
                return true;
            }
            if *c == Some(customer) && snap.customer == CustomerStatus::Active {
                snap.listing.get_or_insert_with(|| listing.clone());
                return true;
            }
            !(*c == Some(customer)
                || snap.customer == CustomerStatus::MergedInto(customer)
                || snap.guest.as_ref().and_then(|g| g.linked_customer) == Some(customer))
        });
        self.deferred_listings
            .push((shop.clone(), customer, listing));
    }

    /// Whether `customer`'s listing is one this batch chose and has not
    /// stored yet.
    pub(crate) fn listing_is_deferred(&self, shop: &ShopDomain, customer: ShopifyId) -> bool {
        self.deferred_listings
            .iter()
            .any(|(s, c, _)| s == shop && *c == customer)
    }

    /// The deferred listing choices, to store now.
    pub(crate) fn take_deferred_listings(
        &mut self,
    ) -> Vec<(ShopDomain, ShopifyId, CustomerListing)> {
        std::mem::take(&mut self.deferred_listings)
    }

    /// Forgets the snapshots of `email` in `shop` (its guest row changed).
    pub(crate) fn forget_email(&mut self, shop: &ShopDomain, email: &str) {
        self.snapshots
            .retain(|(s, _, e), _| s != shop || e.as_deref() != Some(email));
    }
}

#[cfg(test)]
mod tests {
    use so_domain::ShopDomain;
    use so_domain::identity::{CustomerListing, IdentityDecision, IdentitySnapshot};
    use so_domain::shopify::ShopifyId;

    use super::Cache;

    fn id(n: u64) -> ShopifyId {
        ShopifyId::parse(&n.to_string()).unwrap()
    }

    fn cache_of(shop: &ShopDomain, customers: &[u64]) -> Cache {
        let mut cache = Cache::default();
        for &c in customers {
            let key = (shop.clone(), Some(id(c)), Some(format!("{c}@example.com")));
            cache.remember_snapshot(key, IdentitySnapshot::default());
        }
        cache
    }

    #[test]
    fn a_listing_choice_forgets_only_that_customers_snapshots() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let other = ShopDomain::parse("b.myshopify.com").unwrap();
        let mut cache = cache_of(&shop, &[1, 2]);
        cache.remember_snapshot(
            (other.clone(), Some(id(1)), None),
            IdentitySnapshot::default(),
        );
        cache.forget_snapshots_after(
            &shop,
            &[IdentityDecision::SetListing {
                customer_id: id(1),
                listing: CustomerListing::Own,
            }],
        );
        let has = |cache: &Cache, shop: &ShopDomain, c: u64, email: Option<String>| {
            cache
                .snapshot(&(shop.clone(), Some(id(c)), email))
                .is_some()
        };
        assert!(
            !has(&cache, &shop, 1, Some("1@example.com".into())),
            "its own is stale"
        );
        assert!(
            has(&cache, &shop, 2, Some("2@example.com".into())),
            "another customer's stays"
        );
        assert!(has(&cache, &other, 1, None), "another shop's stays");
        cache.forget_snapshots_after(
            &shop,
            &[IdentityDecision::MarkCustomerDeleted { customer_id: id(9) }],
        );
        assert!(
            !has(&cache, &shop, 2, Some("2@example.com".into())),
            "a deletion forgets all"
        );
    }

    #[test]
    fn a_deferred_listing_shows_in_the_customers_snapshots_until_stored() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let mut cache = cache_of(&shop, &[1, 2]);
        cache.defer_listing(&shop, id(1), CustomerListing::Own);
        let key = (shop.clone(), Some(id(1)), Some("1@example.com".to_owned()));
        assert_eq!(
            cache.snapshot(&key).and_then(|s| s.listing.clone()),
            Some(CustomerListing::Own),
            "later events of the batch see the choice"
        );
        assert!(cache.listing_is_deferred(&shop, id(1)));
        assert!(!cache.listing_is_deferred(&shop, id(2)));
        assert_eq!(cache.take_deferred_listings().len(), 1);
        assert!(
            !cache.listing_is_deferred(&shop, id(1)),
            "stored: no longer deferred"
        );
    }
}
