//! The Rust-side control API of one shop: seeding, fault switches, bucket
//! settings and recordings.

use std::sync::Arc;
use std::time::Duration;

use crate::bulk::BulkStatus;
use crate::config::ClientApp;
use crate::generate::{Dataset, GenerateSpec, generate};
use crate::model::{AbandonedCheckout, Customer, Order, Product};
use crate::records::{ConsentWrite, RequestRecord, ShopStats, TokenRequestRecord, WebhookEcho};
use crate::store::Shared;
use crate::store::Shop;

/// Handle on one shop of a [`crate::FakeShopify`]. Cheap to clone.
///
/// # Panics
/// Every method panics if the shop does not exist: a test bug.
#[derive(Debug, Clone)]
pub struct FakeShop {
    shared: Arc<Shared>,
    domain: String,
}

impl FakeShop {
    pub(crate) fn new(shared: Arc<Shared>, domain: &str) -> Self {
        FakeShop {
            shared,
            domain: domain.to_owned(),
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Shop) -> R) -> R {
        let mut state = self.shared.lock();
        match state.shops.get_mut(&self.domain) {
            Some(shop) => f(shop),
            None => panic!("fake Shopify has no shop {}", self.domain),
        }
    }

    /// `{name}.myshopify.com`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The accepted access token.
    pub fn access_token(&self) -> String {
        self.with(|s| s.config.access_token.clone())
    }

    /// What a client uses in place of `https://{shop}`.
    pub fn base_url(&self) -> String {
        let root = self.shared.lock().root_url.clone();
        format!("{root}/shops/{}", self.domain)
    }

    // --- seeding -----------------------------------------------------------

    /// Adds or replaces customers (by id).
    pub fn seed_customers(&self, customers: impl IntoIterator<Item = Customer>) {
        self.with(|s| {
            for c in customers {
                s.store.customers.insert(c.id, c);
            }
        });
    }

    /// Adds or replaces orders (by id), with their lines and refunds.
    pub fn seed_orders(&self, orders: impl IntoIterator<Item = Order>) {
        self.with(|s| {
            for o in orders {
                s.store.orders.insert(o.id, o);
            }
        });
    }

    /// Adds or replaces products (by id), with their variants.
    pub fn seed_products(&self, products: impl IntoIterator<Item = Product>) {
        self.with(|s| {
            for p in products {
                s.store.products.insert(p.id, p);
            }
        });
    }

    /// Adds or replaces abandoned checkouts (by id).
    pub fn seed_checkouts(&self, checkouts: impl IntoIterator<Item = AbandonedCheckout>) {
        self.with(|s| {
            for c in checkouts {
                s.store.checkouts.insert(c.id, c);
            }
        });
    }

    /// Seeds everything in a generated dataset.
    pub fn seed_dataset(&self, data: &Dataset) {
        self.seed_products(data.products.iter().cloned());
        self.seed_customers(data.customers.iter().cloned());
        self.seed_orders(data.orders.iter().cloned());
        self.seed_checkouts(data.checkouts.iter().cloned());
    }

    /// Generates a dataset (see [`GenerateSpec::new`]), seeds it and returns
    /// it so a test knows what to expect.
    pub fn seed_generated(
        &self,
        customers: usize,
        orders_per_customer: usize,
        subscriber_share: f64,
    ) -> Dataset {
        let data = generate(&GenerateSpec::new(
            customers,
            orders_per_customer,
            subscriber_share,
        ));
        self.seed_dataset(&data);
        data
    }

    /// A customer as the fake holds it now (after any consent writes).
    pub fn customer(&self, id: u64) -> Option<Customer> {
        self.with(|s| s.store.customers.get(&id).cloned())
    }

    /// Removes a customer (e.g. deleted in Shopify since the backfill).
    pub fn remove_customer(&self, id: u64) -> Option<Customer> {
        self.with(|s| s.store.customers.remove(&id))
    }

    // --- bucket and access ---------------------------------------------------

    /// New bucket size and restore rate; the bucket starts full.
    pub fn set_bucket(&self, max_available: f64, restore_rate: f64) {
        self.with(|s| {
            s.config.max_available = max_available;
            s.config.restore_rate = restore_rate;
            s.bucket.set(max_available, restore_rate);
        });
    }

    /// Drops the bucket to `points`, as if another client spent the rest.
    pub fn set_available(&self, points: f64) {
        self.with(|s| s.bucket.set_available(points));
    }

    /// Points available now.
    pub fn available(&self) -> f64 {
        self.with(|s| s.bucket.available())
    }

    /// THROTTLED answers use HTTP 429 (`true`) or 200 (`false`, default).
    pub fn throttle_with_429(&self, on: bool) {
        self.with(|s| s.config.throttle_with_429 = on);
    }

    /// Grants or withdraws `read_all_orders` (without it, orders created more
    /// than 60 days ago are invisible).
    pub fn set_read_all_orders(&self, on: bool) {
        self.with(|s| s.config.read_all_orders = on);
    }

    // --- client credentials ------------------------------------------------

    /// Replaces the shop's client credentials app (`None`: no app).
    pub fn set_client_app(&self, app: Option<ClientApp>) {
        self.with(|s| s.config.client_app = app);
    }

    /// Changes the shop's client credentials app in place.
    ///
    /// # Panics
    /// If the shop has no app.
    pub fn edit_client_app(&self, f: impl FnOnce(&mut ClientApp)) {
        self.with(|s| match s.config.client_app.as_mut() {
            Some(app) => f(app),
            None => panic!("fake shop {} has no client app", s.config.domain),
        });
    }

    /// Every token issued so far is expired from now on, as if its 24 hours
    /// had passed while the client still holds it.
    pub fn expire_issued_tokens(&self) {
        self.with(Shop::expire_issued);
    }

    /// Every token issued so far expires right after the next `n`
    /// successful Admin API answers (for a client out of the test's reach,
    /// such as the binary).
    pub fn expire_tokens_after(&self, n: u32) {
        self.with(|s| s.faults.expire_tokens_after = (n > 0).then_some(n));
    }

    /// Every token issued, oldest first (to look for them in logs).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with(|s| s.issued.iter().map(|t| t.token.clone()).collect())
    }

    /// Every request to the token endpoint, in arrival order.
    pub fn token_requests(&self) -> Vec<TokenRequestRecord> {
        self.with(|s| s.token_requests.clone())
    }

    /// The next `n` token requests answer `status` before any other check.
    pub fn fail_next_token(&self, n: u32, status: u16) {
        self.with(|s| s.faults.fail_next_token = (n > 0).then_some((n, status)));
    }

    // --- bulk --------------------------------------------------------------

    /// An operation completes on its `polls`-th poll, or once `after` has
    /// passed since it was created.
    pub fn set_bulk_timing(&self, polls: u32, after: Option<Duration>) {
        self.with(|s| {
            s.config.bulk_polls_to_complete = polls;
            s.config.bulk_complete_after = after;
        });
    }

    /// The next bulk operation to finish ends FAILED (`INTERNAL_SERVER_ERROR`).
    pub fn fail_next_bulk(&self) {
        self.with(|s| s.faults.fail_next_bulk = true);
    }

    /// Bulk files list all root objects first and children after, as
    /// Shopify may without `groupObjects`.
    pub fn bulk_ungrouped(&self, on: bool) {
        self.with(|s| s.faults.bulk_ungrouped = on);
    }

    /// Status of every bulk operation, oldest first.
    pub fn bulk_statuses(&self) -> Vec<BulkStatus> {
        self.with(|s| s.bulk.iter().map(|o| o.status).collect())
    }

    // --- faults --------------------------------------------------------------

    /// The next `n` requests answer `status` (e.g. 502) before any other check.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.with(|s| s.faults.fail_next = (n > 0).then_some((n, status)));
    }

    /// The next `n` responses are held back by `delay` (client timeouts).
    pub fn delay_next(&self, n: u32, delay: Duration) {
        self.with(|s| s.faults.delay_next = (n > 0).then_some((n, delay)));
    }

    // --- recordings --------------------------------------------------------

    /// Counters over every request.
    pub fn stats(&self) -> ShopStats {
        self.with(|s| s.stats)
    }

    /// Every GraphQL request, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.with(|s| s.requests.clone())
    }

    /// API versions requested, in first-seen order.
    pub fn versions_seen(&self) -> Vec<String> {
        self.with(|s| {
            let mut out: Vec<String> = Vec::new();
            for r in &s.requests {
                if !out.contains(&r.version) {
                    out.push(r.version.clone());
                }
            }
            out
        })
    }

    /// Every `customerEmailMarketingConsentUpdate` call, applied or not.
    pub fn consent_writes(&self) -> Vec<ConsentWrite> {
        self.with(|s| s.consent_writes.clone())
    }

    /// Webhooks Shopify would have sent because of API writes.
    pub fn webhooks(&self) -> Vec<WebhookEcho> {
        self.with(|s| s.webhooks.clone())
    }

    /// Like [`FakeShop::webhooks`], emptying the record.
    pub fn take_webhooks(&self) -> Vec<WebhookEcho> {
        self.with(|s| std::mem::take(&mut s.webhooks))
    }
}
