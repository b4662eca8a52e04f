//! One shop's state: its records, bucket, bulk operations, faults and
//! recordings. The whole fake is a map of these behind one mutex.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::bucket::Bucket;
use crate::bulk::BulkOp;
use crate::config::ShopConfig;
use crate::model::{AbandonedCheckout, Customer, Order, Product};
use crate::records::{ConsentWrite, RequestRecord, ShopStats, WebhookEcho};

/// Seeded records, by numeric id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) customers: BTreeMap<u64, Customer>,
    pub(crate) orders: BTreeMap<u64, Order>,
    pub(crate) products: BTreeMap<u64, Product>,
    pub(crate) checkouts: BTreeMap<u64, AbandonedCheckout>,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// The next `n` requests answer this status.
    pub(crate) fail_next: Option<(u32, u16)>,
    /// The next `n` responses are held back this long.
    pub(crate) delay_next: Option<(u32, Duration)>,
    /// The next bulk operation to finish ends FAILED.
    pub(crate) fail_next_bulk: bool,
    /// Bulk JSONL lists every root object first, then the children.
    pub(crate) bulk_ungrouped: bool,
}

#[derive(Debug)]
pub(crate) struct Shop {
    pub(crate) config: ShopConfig,
    pub(crate) bucket: Bucket,
    pub(crate) store: Store,
    pub(crate) bulk: Vec<BulkOp>,
    pub(crate) next_bulk_id: u64,
    pub(crate) faults: Faults,
    pub(crate) stats: ShopStats,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) consent_writes: Vec<ConsentWrite>,
    pub(crate) webhooks: Vec<WebhookEcho>,
}

impl Shop {
    pub(crate) fn new(config: ShopConfig) -> Self {
        Shop {
            bucket: Bucket::new(config.max_available, config.restore_rate),
            config,
            store: Store::default(),
            bulk: Vec::new(),
            next_bulk_id: 4_300_000_000_000_000_001,
            faults: Faults::default(),
            stats: ShopStats::default(),
            requests: Vec::new(),
            consent_writes: Vec::new(),
            webhooks: Vec::new(),
        }
    }

    /// Consumes one injected failure, if any.
    pub(crate) fn take_failure(&mut self) -> Option<u16> {
        let (n, status) = self.faults.fail_next.as_mut()?;
        let status = *status;
        *n -= 1;
        if *n == 0 {
            self.faults.fail_next = None;
        }
        Some(status)
    }

    pub(crate) fn take_delay(&mut self) -> Option<Duration> {
        let (n, d) = self.faults.delay_next.as_mut()?;
        let d = *d;
        *n -= 1;
        if *n == 0 {
            self.faults.delay_next = None;
        }
        Some(d)
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) shops: HashMap<String, Shop>,
    /// `http://127.0.0.1:PORT`, for bulk result URLs.
    pub(crate) root_url: String,
}

#[derive(Debug)]
pub(crate) struct Shared(Mutex<State>);

impl Shared {
    pub(crate) fn new(root_url: String, shops: Vec<ShopConfig>) -> Self {
        let shops = shops
            .into_iter()
            .map(|c| (c.domain.clone(), Shop::new(c)))
            .collect();
        Shared(Mutex::new(State { shops, root_url }))
    }

    /// Never held across an `.await`; poison is ignored so a panicking test
    /// callback leaves the fake usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
