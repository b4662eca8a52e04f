//! Sends behavioural attributes (orders count, total spent, ...) from the
//! store's outbox, for contacts no batch sends a contact record for.
//!
//! A contact's orders are spread over partitions (orders are keyed by order
//! id, so a refund meets its order), so no batch sees all of them at once:
//! two batches summing concurrently would each miss the other's order, and
//! whichever pushed last would win. Instead an order change marks its
//! contact in the commit that stores it, and this loop computes the
//! attributes from committed state and clears the mark once Ometria took
//! them. A later change re-marks the contact, so the last push always
//! reflects every order; a crash leaves the mark for the next run.
//!
//! A page of marks is read in a few queries (see [`Facts`]), and the next
//! page is read while one is pushed, so the pusher has the drain's records
//! before a slot comes and no slot waits for the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{FuturesUnordered, StreamExt};
use so_domain::behaviour;
use so_domain::merchant::ProfileFilter;
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::{ShopDomain, mapping::Buyer};
use so_ometria::Coalescing;
use so_platform::Shutdown;
use so_store::{Commit, DirtyContact, HeldChange, Store};
use tokio::sync::Notify;

use super::claims::{Claim, Claims, ContactKey};
use super::facts::Facts;
use crate::accounts::{Account, Accounts};
use crate::pusher::{Preparing, Sent};
use crate::rules::Rules;

/// Contacts handled per page.
const PAGE: usize = 500;

/// Pages pushed at once: one waits in the pusher while the next is read.
const PAGES_IN_FLIGHT: usize = 2;

/// While an account's budget is the limit (a full request waits for a
/// slot), a contact is sent only once its last mark is this old: its
/// further order changes (the order paid, fulfilled, refunded; the
/// customer's other orders) then go out in one update instead of one each.
/// Younger marks still go when the next requests would otherwise leave
/// part-filled (see [`Attributes::what_is_due`]), so the wait never costs
/// a slot; without a backlog nothing waits. A minute, not seconds: in the
/// `peak` benchmark an order's changes come up to a minute apart and the
/// attribute-only updates were the largest excess (31 758 for 13 910
/// contacts at 5 s, 18 461 at 60 s; docs/benchmarks.md).
const SETTLE_WHEN_SATURATED: Duration = Duration::from_secs(60);

pub(crate) struct Attributes {
    pub(crate) store: Store,
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) rules: Arc<Rules>,
    /// Pause between rounds when the outbox has nothing due (or Ometria
    /// failed).
    pub(crate) idle: Duration,
    /// Shops whose marks wait (paused, or without an account): fixed by
    /// the configuration.
    pub(crate) waiting: Vec<ShopDomain>,
    /// Off: marks go out as soon as they are read, never settling.
    pub(crate) coalescing: Coalescing,
    /// Contacts with a contact record in flight in this process.
    pub(crate) claims: Arc<Claims>,
    /// Told by the pushers when their next requests have room.
    pub(crate) room: Arc<Notify>,
}

/// One contact's update, waiting for its account's answer.
struct Due {
    shop: ShopDomain,
    seq: i64,
    /// The contact (its id is the record's).
    buyer: Buyer,
    /// The property snapshot's version the update carries.
    version: i64,
}

/// A page of updates: what to commit whatever Ometria answers, the
/// records per account, and the page's claim on its contacts.
struct Page {
    commit: Commit,
    groups: Vec<(Arc<Account>, Vec<PushRecord>, Vec<Due>)>,
    _claim: Claim,
}

/// A page with its accounts' answers (`None`: the pusher stopped).
type Answered = (Page, Vec<(Option<Vec<Sent>>, Vec<Due>)>);

impl Attributes {
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let mut flying = FuturesUnordered::new();
        loop {
            if shutdown.is_cancelled() {
                while let Some(answered) = flying.next().await {
                    self.commit(answered).await;
                }
                return;
            }
            let mut idle = false;
            while flying.len() < PAGES_IN_FLIGHT {
                // Under the budget a slot that comes meanwhile waits for
                // this page; otherwise nothing waits for the drain.
                let preparing = self
                    .budget_bound()
                    .then(|| Preparing::new(self.accounts.pushers()));
                match self.page().await {
                    Ok(Some(page)) => flying.push(send(page, preparing)),
                    Ok(None) => {
                        idle = true;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Cannot send behavioural attributes; will try again.");
                        idle = true;
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                Some(answered) = flying.next(), if !flying.is_empty() => self.commit(answered).await,
                // Woken when a request would leave part-filled, which
                // matters only while the budget is the limit.
                () = self.room.notified(), if idle && self.budget_bound() => {}
                () = tokio::time::sleep(self.idle), if idle => {}
            }
        }
    }

    /// Whether an account's budget is the limit (coalescing on).
    fn budget_bound(&self) -> bool {
        self.coalescing == Coalescing::ByKey
            && self.accounts.all().iter().any(|a| a.pusher.saturated())
    }

    /// How many of the oldest marks to read, and the cutoff they must be
    /// older than. Under the budget a full page of settled marks; but when
    /// the next request would leave part-filled for want of records, the
    /// oldest marks that fill it, settled or not: a slot left part-filled
    /// or unused costs more than a contact sent twice.
    fn what_is_due(&self) -> (usize, Option<DateTime<Utc>>) {
        if !self.budget_bound() {
            return (PAGE, None);
        }
        let accounts = self.accounts.all();
        let room = accounts
            .iter()
            .map(|a| a.pusher.room_for(RecordType::Contact))
            .max()
            .unwrap_or(0);
        if room > 0 {
            return (room.min(PAGE), None);
        }
        let settle = chrono::TimeDelta::from_std(SETTLE_WHEN_SATURATED).unwrap_or_default();
        (PAGE, Some(Utc::now() - settle))
    }

    /// The next page of due marks that no batch or page in flight holds,
    /// prepared and claimed; `None` when there is none.
    async fn page(&self) -> Result<Option<Page>, so_store::Error> {
        let (limit, marked_before) = self.what_is_due();
        // Claimed contacts are read and left: read that many more.
        let extra = self.claims.len();
        let dirty = self
            .store
            .settled_dirty_contacts(
                u32::try_from(limit + extra).unwrap_or(u32::MAX),
                &self.waiting,
                marked_before,
            )
            .await?;
        let free: Vec<DirtyContact> = dirty
            .into_iter()
            .filter(|d| !self.claims.is_claimed(&key(d)))
            .take(limit)
            .collect();
        if free.is_empty() {
            return Ok(None);
        }
        let claim = self.claims.claim(free.iter().map(key));
        let dirty: Vec<DirtyContact> = free.into_iter().filter(|d| claim.holds(&key(d))).collect();
        let mut commit = Commit::default();
        let updates = self.updates(&dirty, &mut commit).await?;
        // One write transaction for the page's snapshots, not one per contact.
        let changes: Vec<_> = updates
            .iter()
            .map(|(d, u)| (d.shop.clone(), d.buyer.id.clone(), u.clone()))
            .collect();
        let snapshots = self.store.merge_contact_properties_many(&changes).await?;
        let subscribed = self.subscriptions(&dirty).await?;
        let mut groups: Vec<(Arc<Account>, Vec<PushRecord>, Vec<Due>)> = Vec::new();
        for ((d, _), snapshot) in updates.into_iter().zip(snapshots) {
            let version = snapshot.version;
            let Some(record) = self.record_for(d, snapshot, &subscribed, &mut commit) else {
                continue;
            };
            let Some(account) = self.accounts.for_shop(&d.shop) else {
                continue;
            };
            let due = Due {
                shop: d.shop.clone(),
                seq: d.seq,
                buyer: d.buyer.clone(),
                version,
            };
            match groups.iter_mut().find(|(a, _, _)| Arc::ptr_eq(a, &account)) {
                Some((_, records, dues)) => {
                    records.push(record);
                    dues.push(due);
                }
                None => groups.push((account.clone(), vec![record], vec![due])),
            }
        }
        Ok(Some(Page {
            commit,
            groups,
            _claim: claim,
        }))
    }

    /// The attribute keys to merge into each marked contact's snapshot;
    /// marks with nothing to push now are cleared in `commit` or kept.
    async fn updates<'a>(
        &self,
        dirty: &'a [DirtyContact],
        commit: &mut Commit,
    ) -> Result<Vec<(&'a DirtyContact, serde_json::Map<String, serde_json::Value>)>, so_store::Error>
    {
        let live: Vec<&DirtyContact> = dirty
            .iter()
            .filter(|d| {
                // Kept until the shop is enabled or has an account again.
                self.rules.for_shop(&d.shop).settings.enabled
                    && self.accounts.for_shop(&d.shop).is_some()
            })
            .collect();
        let contacts: Vec<(ShopDomain, Buyer)> = live
            .iter()
            .map(|d| (d.shop.clone(), d.buyer.clone()))
            .collect();
        let facts = Facts::read(&self.store, &self.rules, &contacts).await?;
        let mut out = Vec::with_capacity(live.len());
        for d in live {
            match facts.attributes(&self.rules, &d.shop, &d.buyer, None) {
                Some(update) => out.push((d, update)),
                // Redacted, deleted or merged away: nothing more is sent
                // about this listing.
                None => commit
                    .behaviour_sent
                    .push((d.shop.clone(), d.buyer.id.clone(), d.seq)),
            }
        }
        Ok(out)
    }

    /// Whether each contact of a subscribers-only shop is subscribed.
    async fn subscriptions(
        &self,
        dirty: &[DirtyContact],
    ) -> Result<HashMap<ContactKey, bool>, so_store::Error> {
        let mut by_shop: HashMap<&ShopDomain, Vec<String>> = HashMap::new();
        for d in dirty.iter().filter(|d| {
            self.rules.for_shop(&d.shop).settings.profiles == ProfileFilter::Subscribers
        }) {
            by_shop.entry(&d.shop).or_default().push(d.buyer.id.clone());
        }
        let mut out = HashMap::new();
        for (shop, ids) in by_shop {
            for (id, subscribed) in self.store.subscriptions(shop, &ids).await? {
                out.insert((shop.clone(), id), subscribed);
            }
        }
        Ok(out)
    }

    /// The contact record carrying the merged snapshot, or `None` when it
    /// is not pushed now (cleared or held in `commit`).
    ///
    /// The whole property set, not only the attributes: Ometria may replace
    /// `properties` whole (docs/identity.md). A mark without new attributes
    /// (one re-made because a newer snapshot was pushed out of order) sends
    /// the snapshot as it is.
    fn record_for(
        &self,
        d: &DirtyContact,
        snapshot: so_store::PropertySnapshot,
        subscribed: &HashMap<ContactKey, bool>,
        commit: &mut Commit,
    ) -> Option<PushRecord> {
        let rules = self.rules.for_shop(&d.shop);
        let sent = (d.shop.clone(), d.buyer.id.clone(), d.seq);
        let Some(mut record) = behaviour::contact_update(&d.buyer, snapshot.properties) else {
            commit.behaviour_sent.push(sent);
            return None;
        };
        rules
            .settings
            .lists
            .apply(std::slice::from_mut(&mut record));
        if rules.settings.profiles == ProfileFilter::Subscribers
            && subscribed.get(&key(d)) != Some(&true)
        {
            commit.held.push((
                d.shop.clone(),
                HeldChange::Hold {
                    contact: d.buyer.id.clone(),
                    record,
                    at: Utc::now(),
                },
            ));
            commit.behaviour_sent.push(sent);
            return None;
        }
        Some(record)
    }

    /// Commits a page once Ometria answered: the marks of accepted updates
    /// are cleared (a later mark survives), the rest stay for a later round.
    async fn commit(&self, (mut page, answers): Answered) {
        let commit = &mut page.commit;
        for (parts, dues) in answers {
            let mut by_id: HashMap<String, Vec<Due>> = HashMap::new();
            for d in dues {
                by_id.entry(d.buyer.id.clone()).or_default().push(d);
            }
            for part in parts.into_iter().flatten() {
                match &*part.result {
                    Ok(outcome) => {
                        if outcome.rejected > 0 {
                            // There is no message to dead-letter: the record
                            // is logged and not retried (it would be refused
                            // again).
                            tracing::warn!(
                                request_id = %outcome.request_id,
                                rejected = outcome.rejected,
                                "Ometria refused behavioural attribute updates."
                            );
                        }
                        for r in &part.records {
                            for d in by_id.remove(&r.id).into_iter().flatten() {
                                commit.behaviour_sent.push((
                                    d.shop.clone(),
                                    d.buyer.id.clone(),
                                    d.seq,
                                ));
                                commit.properties_pushed.push((d.shop, d.buyer, d.version));
                            }
                        }
                    }
                    Err(failure) => {
                        tracing::debug!(error = %failure, "Behavioural attributes wait for Ometria.");
                    }
                }
            }
        }
        if commit.behaviour_sent.is_empty()
            && commit.held.is_empty()
            && commit.properties_pushed.is_empty()
        {
            return;
        }
        if let Err(e) = self.store.commit(commit).await {
            tracing::warn!(error = %e, "Cannot record sent behavioural attributes; they will be sent again.");
        }
    }
}

fn key(d: &DirtyContact) -> ContactKey {
    (d.shop.clone(), d.buyer.id.clone())
}

/// Hands a page to its accounts' pushers (then `preparing` ends) and
/// waits for their answers.
async fn send(mut page: Page, preparing: Option<Preparing>) -> Answered {
    let groups = std::mem::take(&mut page.groups);
    let submitted: Vec<_> = groups
        .into_iter()
        .map(|(account, records, dues)| (account.pusher.submit(RecordType::Contact, records), dues))
        .collect();
    drop(preparing);
    let mut answers = Vec::with_capacity(submitted.len());
    for (answer, dues) in submitted {
        let parts = match answer {
            Some(rx) => rx.await.ok(),
            None => None,
        };
        answers.push((parts, dues));
    }
    (page, answers)
}
