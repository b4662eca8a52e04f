//! One shop's state: its records, bucket, bulk operations, faults and
//! recordings. The whole fake is a map of these behind one mutex.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::bucket::Bucket;
use crate::bulk::BulkOp;
use crate::config::{ClientApp, ShopConfig};
use crate::model::{AbandonedCheckout, Customer, Order, Product};
use crate::records::{ConsentWrite, RequestRecord, ShopStats, TokenRequestRecord, WebhookEcho};
use crate::subscriptions::Subscriptions;

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
    /// The next `n` token requests answer this status.
    pub(crate) fail_next_token: Option<(u32, u16)>,
    /// After this many more successful Admin API answers, every issued
    /// token expires.
    pub(crate) expire_tokens_after: Option<u32>,
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
    /// Tokens issued by the client credentials grant.
    pub(crate) issued: Vec<IssuedToken>,
    pub(crate) token_requests: Vec<TokenRequestRecord>,
    /// Shop-specific webhook subscriptions.
    pub(crate) subscriptions: Subscriptions,
    /// The authorization code grant (`authcode.rs`).
    pub(crate) authcode: crate::authcode::AuthCodeState,
}

/// A token of the client credentials grant.
#[derive(Debug)]
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    pub(crate) expires_at: Instant,
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
            issued: Vec::new(),
            token_requests: Vec::new(),
            subscriptions: Subscriptions::default(),
            authcode: crate::authcode::AuthCodeState::default(),
        }
    }

    /// Whether `presented` opens the Admin API now: the static token, or an
    /// issued one that has not expired.
    pub(crate) fn token_valid(&self, presented: &str) -> bool {
        let now = Instant::now();
        presented == self.config.access_token
            || self
                .issued
                .iter()
                .any(|t| t.token == presented && now < t.expires_at)
    }

    /// A new token for `app`, remembered with its expiry.
    pub(crate) fn issue_token(&mut self, app: &ClientApp) -> String {
        let now = Instant::now();
        if app.reissue_revokes_previous {
            for t in &mut self.issued {
                t.expires_at = t.expires_at.min(now);
            }
        }
        // Unpredictable, like Shopify's: a test cannot pass by guessing.
        let random = RandomState::new().hash_one(self.issued.len());
        let token = format!("shpat_{random:016x}{:08x}", self.issued.len());
        self.issued.push(IssuedToken {
            token: token.clone(),
            expires_at: now + Duration::from_secs(app.expires_in_secs),
        });
        self.stats.tokens_issued += 1;
        token
    }

    /// Every issued token is expired from now on.
    pub(crate) fn expire_issued(&mut self) {
        let now = Instant::now();
        for t in &mut self.issued {
            t.expires_at = t.expires_at.min(now);
        }
    }

    /// Counts a successful Admin API answer towards `expire_tokens_after`.
    pub(crate) fn answered(&mut self) {
        let Some(n) = self.faults.expire_tokens_after.as_mut() else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.faults.expire_tokens_after = None;
            self.expire_issued();
        }
    }

    /// Consumes one injected token-endpoint failure, if any.
    pub(crate) fn take_token_failure(&mut self) -> Option<u16> {
        let (n, status) = self.faults.fail_next_token.as_mut()?;
        let status = *status;
        *n -= 1;
        if *n == 0 {
            self.faults.fail_next_token = None;
        }
        Some(status)
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
