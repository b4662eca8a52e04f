//! Sends behavioural attributes (orders count, total spent, ...) from the
//! store's outbox.
//!
//! A contact's orders are spread over partitions (orders are keyed by order
//! id, so a refund meets its order), so no batch sees all of them at once:
//! two batches summing concurrently would each miss the other's order, and
//! whichever pushed last would win. Instead an order change marks its
//! contact in the commit that stores it, and this loop computes the
//! attributes from committed state and clears the mark once Ometria took
//! them. A later change re-marks the contact, so the last push always
//! reflects every order; a crash leaves the mark for the next run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use so_domain::behaviour;
use so_domain::freshness::{EntityKind, WatermarkKey};
use so_domain::identity::CustomerStatus;
use so_domain::merchant::ProfileFilter;
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::shopify::ShopifyId;
use so_platform::Shutdown;
use so_store::{Commit, DirtyContact, HeldChange, Store};

use crate::accounts::{Account, Accounts};
use crate::rules::Rules;

/// Contacts handled per round.
const PAGE: u32 = 500;

/// While an account's budget is the limit (a full request waits for a
/// slot), a contact is sent only once its last mark is this old: its
/// further order changes, which usually follow within seconds (the order's
/// lifecycle, the customer's other orders), then go out in one update
/// instead of one each. Without a backlog nothing waits.
const SETTLE_WHEN_SATURATED: Duration = Duration::from_secs(5);

pub(crate) struct Attributes {
    pub(crate) store: Store,
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) rules: Arc<Rules>,
    /// Pause between rounds when the outbox is empty (or Ometria failed).
    pub(crate) idle: Duration,
    /// Shops whose marks wait (paused, or without an account): fixed by
    /// the configuration.
    pub(crate) waiting: Vec<so_domain::ShopDomain>,
    /// Off: marks go out as soon as they are read, never settling.
    pub(crate) coalescing: so_ometria::Coalescing,
}

/// One contact's update, waiting for its account's answer.
struct Due {
    shop: so_domain::ShopDomain,
    seq: i64,
    /// The contact (its id is the record's).
    buyer: so_domain::mapping::Buyer,
    /// The property snapshot's version the update carries.
    version: i64,
}

impl Attributes {
    pub(crate) async fn run(self, shutdown: Shutdown) {
        loop {
            let full = match self.round().await {
                Ok(n) => n == PAGE as usize,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot send behavioural attributes; will try again.");
                    false
                }
            };
            if shutdown.is_cancelled() {
                return;
            }
            // A full page goes on sooner, but never back to back: the
            // drain yields to the batches it competes with for the store.
            let pause = if full { self.idle / 4 } else { self.idle };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One page of the outbox; returns how many marks it read.
    async fn round(&self) -> Result<usize, so_store::Error> {
        let saturated = self.coalescing == so_ometria::Coalescing::ByKey
            && self.accounts.all().iter().any(|a| a.pusher.saturated());
        let marked_before = saturated.then(|| {
            Utc::now() - chrono::TimeDelta::from_std(SETTLE_WHEN_SATURATED).unwrap_or_default()
        });
        let dirty = self
            .store
            .settled_dirty_contacts(PAGE, &self.waiting, marked_before)
            .await?;
        let mut commit = Commit::default();
        let mut due = Vec::new();
        let mut updates = Vec::new();
        for d in &dirty {
            if let Some(update) = self.update_for(d, &mut commit).await? {
                due.push(d);
                updates.push((d.shop.clone(), d.buyer.id.clone(), update));
            }
        }
        // One write transaction for the page's snapshots, not one per contact.
        let snapshots = self.store.merge_contact_properties_many(&updates).await?;
        let mut groups: Vec<(Arc<Account>, Vec<PushRecord>, Vec<Due>)> = Vec::new();
        for (d, snapshot) in due.into_iter().zip(snapshots) {
            let version = snapshot.version;
            let Some(record) = self.record_for(d, snapshot, &mut commit).await? else {
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
            match groups.iter_mut().find(|(a, _, _)| Arc::ptr_eq(a, account)) {
                Some((_, records, dues)) => {
                    records.push(record);
                    dues.push(due);
                }
                None => groups.push((account.clone(), vec![record], vec![due])),
            }
        }
        let answers = futures::future::join_all(groups.into_iter().map(
            |(account, records, dues)| async move {
                let parts = account.pusher.push(RecordType::Contact, records).await;
                (parts, dues)
            },
        ))
        .await;
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
            return Ok(dirty.len());
        }
        let _written = self.store.commit(&commit).await?;
        Ok(dirty.len())
    }

    /// The attribute keys to merge into one marked contact's snapshot, or
    /// `None` when nothing is to be pushed now (cleared or kept for later
    /// in `commit`).
    async fn update_for(
        &self,
        d: &DirtyContact,
        commit: &mut Commit,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, so_store::Error> {
        let rules = self.rules.for_shop(&d.shop);
        if !rules.settings.enabled || self.accounts.for_shop(&d.shop).is_none() {
            // Kept until the shop is enabled or has an account again.
            return Ok(None);
        }
        let on = rules.settings.behaviour;
        let customer = d
            .buyer
            .customer_id
            .as_deref()
            .and_then(|c| c.strip_prefix(rules.ns.as_str()))
            .and_then(ShopifyId::parse);
        if let Some(id) = customer {
            let status = self
                .store
                .identity_snapshot(&d.shop, Some(id), None)
                .await?;
            if status.customer != CustomerStatus::Active {
                // Redacted, deleted or merged away: nothing more is sent
                // about this listing.
                commit
                    .behaviour_sent
                    .push((d.shop.clone(), d.buyer.id.clone(), d.seq));
                return Ok(None);
            }
        }
        let orders = self.store.orders_of_contact(&d.shop, &d.buyer.id).await?;
        let summary = behaviour::summarise(&orders);
        let owned = match customer {
            Some(id) => self
                .store
                .watermark(&WatermarkKey {
                    shop: d.shop.clone(),
                    kind: EntityKind::PurchasingSummary,
                    id: id.to_string(),
                })
                .await?
                .is_some(),
            None => false,
        };
        Ok(Some(summary.properties(&on, owned)))
    }

    /// The contact record carrying the merged snapshot, or `None` when it
    /// is not pushed now (cleared or held in `commit`).
    ///
    /// The whole property set, not only the attributes: Ometria may replace
    /// `properties` whole (docs/identity.md). A mark without new attributes
    /// (one re-made because a newer snapshot was pushed out of order) sends
    /// the snapshot as it is.
    async fn record_for(
        &self,
        d: &DirtyContact,
        snapshot: so_store::PropertySnapshot,
        commit: &mut Commit,
    ) -> Result<Option<PushRecord>, so_store::Error> {
        let rules = self.rules.for_shop(&d.shop);
        let sent = (d.shop.clone(), d.buyer.id.clone(), d.seq);
        let Some(mut record) = behaviour::contact_update(&d.buyer, snapshot.properties) else {
            commit.behaviour_sent.push(sent);
            return Ok(None);
        };
        rules
            .settings
            .lists
            .apply(std::slice::from_mut(&mut record));
        if rules.settings.profiles == ProfileFilter::Subscribers
            && self.store.subscription(&d.shop, &d.buyer.id).await? != Some(true)
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
            return Ok(None);
        }
        Ok(Some(record))
    }
}
