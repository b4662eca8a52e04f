//! The Ometria accounts this worker pushes to: the `[ometria]` one, and one
//! per distinct endpoint and key among the shops' `[shops.*.ometria]`.
//! Each account has its own client (so its own request budget and its own
//! pause after a 429) and its own pusher, so one account's rate limit or
//! outage never holds another's requests.

use std::collections::HashMap;
use std::sync::Arc;

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
}

pub(crate) struct Accounts {
    /// `None` when `[ometria]` has no key (every shop has its own).
    default: Option<Arc<Account>>,
    by_shop: HashMap<String, Arc<Account>>,
    several: bool,
    /// Told by every account's pusher when its next requests have room.
    room: Arc<tokio::sync::Notify>,
}

impl Accounts {
    /// `default` is the `[ometria]` account's client (tests pass their own).
    pub(crate) fn build(
        config: &Config,
        default: Option<Client>,
        coalescing: so_ometria::Coalescing,
    ) -> Result<(Accounts, Vec<PushLoop>), so_ometria::Error> {
        let concurrency = usize::from(config.worker.concurrency);
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
                    concurrency,
                    coalescing,
                    room.clone(),
                );
                loops.push(push_loop);
                let journal = Arc::new(crate::rejections::Journal::new(
                    config.rejections.journal,
                    config.rejections.journal_max_mib.saturating_mul(1 << 20),
                ));
                let digest = crate::rejections::account_digest(&account_key);
                Arc::new(Account {
                    client,
                    pusher,
                    journal,
                    digest,
                })
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
                by_shop,
                several,
                room,
            },
            loops,
        ))
    }

    /// The account `shop` pushes to; `None` for a shop without a key.
    pub(crate) fn for_shop(&self, shop: &ShopDomain) -> Option<&Arc<Account>> {
        self.by_shop.get(shop.as_str()).or(self.default.as_ref())
    }

    /// More than one account: a rate-limited one hands its events to the
    /// broker instead of holding the batch.
    pub(crate) fn several(&self) -> bool {
        self.several
    }

    /// Told when some account's next requests have room for more records.
    pub(crate) fn room(&self) -> Arc<tokio::sync::Notify> {
        self.room.clone()
    }

    /// Every account once.
    pub(crate) fn all(&self) -> Vec<Arc<Account>> {
        let mut out: Vec<Arc<Account>> = Vec::new();
        for a in self.default.iter().chain(self.by_shop.values()) {
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
