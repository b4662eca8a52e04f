//! The Ometria accounts this worker pushes to: the `[ometria]` one, and one
//! per distinct endpoint and key among the shops' `[shops.*.ometria]`.
//! Each account has its own client (so its own request budget and its own
//! pause after a 429) and its own pusher, so one account's rate limit or
//! outage never holds another's requests. A shop managed in the store whose
//! account changes (its key, its endpoint) is pointed at its new account at
//! the next registry revision ([`Accounts::apply`]), built then if new.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use so_domain::ShopDomain;
use so_ometria::{Client, RateLimiter};
use so_platform::Config;

use crate::pusher::{PushLoop, Pusher};

/// One Ometria account: a client and the pusher that shares its budget.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) client: Client,
    pub(crate) pusher: Pusher,
    /// Recent accepted pushes, for the rejection watcher.
    pub(crate) journal: Arc<crate::rejections::Journal>,
    /// Names the account in the store (a digest, not the key).
    pub(crate) digest: String,
    /// Endpoint and key, to find the account of a changed shop.
    key: (String, String),
}

pub(crate) struct Accounts {
    /// `None` when `[ometria]` has no key (every shop has its own).
    default: Option<Arc<Account>>,
    by_shop: RwLock<HashMap<String, Arc<Account>>>,
    /// Every account built, the default first.
    every: RwLock<Vec<Arc<Account>>>,
    several: AtomicBool,
    /// Told by every account's pusher when its next requests have room.
    room: Arc<tokio::sync::Notify>,
    /// What an account built later needs.
    make: Make,
}

/// The worker's settings every account's pusher and journal take.
#[derive(Clone)]
struct Make {
    concurrency: usize,
    coalescing: so_ometria::Coalescing,
    journal: std::time::Duration,
    journal_bytes: usize,
}

impl Accounts {
    /// `default` is the `[ometria]` account's client (tests pass their own).
    pub(crate) fn build(
        config: &Config,
        default: Option<Client>,
        coalescing: so_ometria::Coalescing,
    ) -> Result<(Accounts, Vec<PushLoop>), so_ometria::Error> {
        let make = Make {
            concurrency: usize::from(config.worker.concurrency),
            coalescing,
            journal: config.rejections.journal,
            journal_bytes: config.rejections.journal_max_mib.saturating_mul(1 << 20),
        };
        let has_default = default.is_some();
        let mut clients: Vec<((String, String), Client, usize)> = default
            .map(|c| {
                (
                    config.ometria.account_key(),
                    c,
                    config.ometria.batch_max_records,
                )
            })
            .into_iter()
            .collect();
        let mut shop_index: Vec<(String, usize)> = Vec::new();
        for (domain, shop) in &config.shops {
            if shop.ometria.is_empty() {
                continue;
            }
            let Ok(parsed) = ShopDomain::parse(domain) else {
                continue;
            };
            let settings = config.ometria_for(&parsed);
            let id = settings.account_key();
            let index = match clients.iter().position(|(i, _, _)| *i == id) {
                Some(i) => i,
                None => {
                    clients.push((id, Client::new(&settings)?, settings.batch_max_records));
                    clients.len() - 1
                }
            };
            shop_index.push((domain.clone(), index));
        }
        let several = clients.len() > 1;
        let mut loops = Vec::new();
        let room = Arc::new(tokio::sync::Notify::new());
        let accounts: Vec<Arc<Account>> = clients
            .into_iter()
            .map(|(account_key, client, max_records)| {
                let (account, push_loop) =
                    make.account(account_key, client, max_records, several, &room);
                loops.push(push_loop);
                account
            })
            .collect();
        let by_shop = shop_index
            .into_iter()
            .map(|(domain, i)| (domain, accounts[i].clone()))
            .collect();
        let several = accounts.len() > 1;
        Ok((
            Accounts {
                default: has_default.then(|| accounts[0].clone()),
                by_shop: RwLock::new(by_shop),
                every: RwLock::new(accounts),
                several: AtomicBool::new(several),
                room,
                make,
            },
            loops,
        ))
    }

    /// The account `shop` pushes to; `None` for a shop without a key.
    pub(crate) fn for_shop(&self, shop: &ShopDomain) -> Option<Arc<Account>> {
        let by_shop = self.by_shop.read().unwrap_or_else(PoisonError::into_inner);
        by_shop
            .get(shop.as_str())
            .or(self.default.as_ref())
            .cloned()
    }

    /// Points every shop managed in the store at the account its settings
    /// name now (its own key and endpoint, else `[ometria]`), building an
    /// account not seen before with its pusher. The accounts built are
    /// returned with their push loops, for the caller to run them and give
    /// them what the accounts built at start have (a rejection watcher, a
    /// share of the budget, a wait at shutdown). TOML shops keep the accounts
    /// they started with.
    pub(crate) fn apply(
        &self,
        snapshot: &so_platform::shops_live::ShopsSnapshot,
    ) -> Vec<(Arc<Account>, PushLoop)> {
        let config = snapshot.effective_config();
        let mut built = Vec::new();
        for (domain, live) in &snapshot.shops {
            if live.source != so_store::ShopSource::Store {
                continue;
            }
            let Ok(shop) = ShopDomain::parse(domain) else {
                continue;
            };
            let wanted = (!live.settings.ometria.is_empty()).then(|| config.ometria_for(&shop));
            match self.point(domain, wanted.as_ref()) {
                Ok(Some(new)) => built.push(new),
                Ok(None) => {}
                // The shop keeps its previous account; the error names no key.
                Err(e) => {
                    tracing::error!(shop = %shop, error = %e, "Cannot build the shop's Ometria account; it keeps the one it had.");
                }
            }
        }
        built
    }

    /// `domain` pushes to the account of `settings` (`None`: the default);
    /// an account built for it is returned with its loop.
    fn point(
        &self,
        domain: &str,
        settings: Option<&so_ometria::OmetriaSettings>,
    ) -> Result<Option<(Arc<Account>, PushLoop)>, so_ometria::Error> {
        let Some(settings) = settings.filter(|s| s.api_key.is_some()) else {
            let mut by_shop = self.by_shop.write().unwrap_or_else(PoisonError::into_inner);
            if by_shop.remove(domain).is_some() {
                tracing::info!(
                    shop = domain,
                    "Shop pushes to the default Ometria account now."
                );
            }
            return Ok(None);
        };
        let key = settings.account_key();
        let current = self.for_shop_domain(domain);
        if current.as_ref().is_some_and(|a| a.key == key) {
            return Ok(None);
        }
        let found = {
            let every = self.every.read().unwrap_or_else(PoisonError::into_inner);
            every.iter().find(|a| a.key == key).cloned()
        };
        let (account, built) = match found {
            Some(a) => (a, None),
            None => {
                let client = so_ometria::Client::new(settings)?;
                self.several.store(true, Ordering::Relaxed);
                let (account, push_loop) =
                    self.make
                        .account(key, client, settings.batch_max_records, true, &self.room);
                let mut every = self.every.write().unwrap_or_else(PoisonError::into_inner);
                every.push(account.clone());
                (account.clone(), Some((account, push_loop)))
            }
        };
        tracing::info!(shop = domain, account = %account.digest, "Shop pushes to its Ometria account from now on.");
        let mut by_shop = self.by_shop.write().unwrap_or_else(PoisonError::into_inner);
        by_shop.insert(domain.to_owned(), account);
        Ok(built)
    }

    fn for_shop_domain(&self, domain: &str) -> Option<Arc<Account>> {
        let by_shop = self.by_shop.read().unwrap_or_else(PoisonError::into_inner);
        by_shop.get(domain).cloned()
    }

    /// More than one account: a rate-limited one hands its events to the
    /// broker instead of holding the batch.
    pub(crate) fn several(&self) -> bool {
        self.several.load(Ordering::Relaxed)
    }

    /// Told when some account's next requests have room for more records.
    pub(crate) fn room(&self) -> Arc<tokio::sync::Notify> {
        self.room.clone()
    }

    /// Every account in use once.
    pub(crate) fn all(&self) -> Vec<Arc<Account>> {
        let by_shop = self.by_shop.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<Arc<Account>> = Vec::new();
        for a in self.default.iter().chain(by_shop.values()) {
            if !out.iter().any(|o| Arc::ptr_eq(o, a)) {
                out.push(a.clone());
            }
        }
        out
    }

    /// Every account's pusher.
    pub(crate) fn pushers(&self) -> Vec<crate::pusher::Pusher> {
        self.all().iter().map(|a| a.pusher.clone()).collect()
    }

    /// Every account's push budget, for splitting between worker processes.
    pub(crate) fn limiters(&self) -> Vec<RateLimiter> {
        self.all()
            .iter()
            .map(|a| a.client.rate_limiter().clone())
            .collect()
    }
}

impl Make {
    /// One account: its client, pusher (and the loop to spawn) and journal.
    fn account(
        &self,
        key: (String, String),
        client: Client,
        max_records: usize,
        several: bool,
        room: &Arc<tokio::sync::Notify>,
    ) -> (Arc<Account>, PushLoop) {
        // With several accounts in one batch, a 429 goes to the
        // broker's retry tiers rather than holding the batch.
        let client = if several {
            client.handing_off_rate_limits()
        } else {
            client
        };
        let (pusher, push_loop) = crate::pusher::pusher(
            client.clone(),
            max_records,
            self.concurrency,
            self.coalescing,
            room.clone(),
        );
        let journal = Arc::new(crate::rejections::Journal::new(
            self.journal,
            self.journal_bytes,
        ));
        let digest = crate::rejections::account_digest(&key);
        let account = Arc::new(Account {
            client,
            pusher,
            journal,
            digest,
            key,
        });
        (account, push_loop)
    }
}
