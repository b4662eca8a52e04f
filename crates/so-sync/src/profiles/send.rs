//! One profile send: a backfill of the shop's customers through the
//! send's filters, each published as a `customers/update` webhook marked
//! with the send's list.
//!
//! Resumable: the backfill checkpoint `profile_send:<id>` holds the cursor
//! of the next page, moved once the page's publishes are confirmed. The
//! same command with the same choices resumes the interrupted send under
//! its id; events published twice around a crash carry the same webhook id
//! and are dropped by the worker's dedupe.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_domain::merchant::ProfileFilter;
use so_queue::Publisher;
use so_shopify_admin::{
    AdminClient, Customer, EmailMarketingState, MAX_PAGE_SIZE, customer_webhook, fold_pages,
};
use so_store::{BackfillCheckpoint, ProfileSendCounts, ProfileSendRow, Store};
use tokio_util::sync::CancellationToken;

use super::choices::{Choices, Kind};
use super::claim::Claimant;
use super::schedule::Clock;
use crate::SyncError;
use crate::publish::republish;

/// Progress of a send (the CLI prints it on stderr).
pub trait SendProgress: Send + Sync {
    fn page(&self, counts: &ProfileSendCounts);
}

impl SendProgress for crate::backfill::Quiet {
    fn page(&self, _: &ProfileSendCounts) {}
}

pub struct ProfileSend<'a> {
    pub admin: &'a AdminClient,
    pub publisher: &'a Publisher,
    pub store: &'a Store,
    pub shop: &'a ShopDomain,
    pub api_version: &'a str,
    pub kind: Kind,
    pub choices: Choices,
    pub clock: &'a dyn Clock,
    pub progress: &'a dyn SendProgress,
    /// Set to stop after the page in hand, saving the checkpoint.
    pub stop: &'a CancellationToken,
    /// The send's claim on its shop, taken (or renewed) before it starts and released when it
    /// ends: one send per shop across processes.
    pub by: &'a Claimant,
}

impl ProfileSend<'_> {
    /// Runs (or resumes) the send; its record ends `completed`, `failed`
    /// or `interrupted`.
    /// Refused with [`SyncError::SendRunning`] while another send of the shop runs.
    pub async fn run(&self) -> Result<ProfileSendRow, SyncError> {
        self.by.claim(self.store, self.shop).await?;
        let stop = self.stop.child_token();
        let result = self
            .by
            .held(self.store, self.shop, &stop, self.claimed(&stop))
            .await;
        self.by.release(self.store, self.shop).await;
        result
    }

    async fn claimed(&self, stop: &CancellationToken) -> Result<ProfileSendRow, SyncError> {
        let mut row = self.open().await?;
        let result = self.pages(&mut row, stop).await;
        row.finished_at = Some(self.clock.now());
        row.outcome = match &result {
            Ok(()) => "completed",
            Err(SyncError::Interrupted) => "interrupted",
            Err(_) => "failed",
        }
        .to_owned();
        row.detail = result.as_ref().err().map(|e| crate::error_chain(e));
        self.store.save_profile_send(&row).await?;
        result.map(|()| row)
    }

    /// The interrupted send with these choices, or a new one.
    async fn open(&self) -> Result<ProfileSendRow, SyncError> {
        let choices = serde_json::to_string(&self.choices)
            .map_err(|e| SyncError::Invalid(format!("profile send choices: {e}")))?;
        let resumed = self
            .store
            .unfinished_profile_send(self.shop, self.kind.as_str(), &choices)
            .await?;
        let row = match resumed {
            Some(mut r) => {
                r.outcome = "running".to_owned();
                r.finished_at = None;
                r.detail = None;
                r
            }
            None => ProfileSendRow {
                id: uuid::Uuid::new_v4().simple().to_string(),
                shop: self.shop.clone(),
                kind: self.kind.as_str().to_owned(),
                choices,
                started_at: self.clock.now(),
                finished_at: None,
                counts: ProfileSendCounts::default(),
                outcome: "running".to_owned(),
                detail: None,
            },
        };
        self.store.save_profile_send(&row).await?;
        Ok(row)
    }

    async fn pages(
        &self,
        row: &mut ProfileSendRow,
        stop: &CancellationToken,
    ) -> Result<(), SyncError> {
        let job = format!("profile_send:{}", row.id);
        let mut checkpoint = match self.store.backfill_checkpoint(self.shop, &job).await? {
            Some(c) => c,
            None => BackfillCheckpoint {
                options: row.choices.clone(),
                operation_id: None,
                lines_done: 0,
                published: 0,
                started_at: self.clock.now(),
                finished_at: None,
            },
        };
        if checkpoint.finished_at.is_some() {
            return Ok(());
        }
        let ordered = self.ordered_in_range().await?;
        let filter = self.customer_filter();
        let mut after = checkpoint.operation_id.clone();
        loop {
            if stop.is_cancelled() {
                return Err(SyncError::Interrupted);
            }
            let page = self
                .admin
                .customers_page(after.as_deref(), filter.as_deref(), MAX_PAGE_SIZE)
                .await?;
            let mut sends = Vec::new();
            for c in &page.nodes {
                row.counts.read += 1;
                if self.matches(c, ordered.as_ref()) {
                    row.counts.matched += 1;
                    sends.push(self.publish(c, &row.id));
                }
            }
            let sent = futures::future::try_join_all(sends).await?;
            row.counts.published += sent.len() as u64;
            after = page.next_cursor().map(str::to_owned);
            checkpoint.operation_id.clone_from(&after);
            checkpoint.lines_done = row.counts.read;
            checkpoint.published = row.counts.published;
            checkpoint.finished_at = after.is_none().then(|| self.clock.now());
            self.store
                .save_backfill_checkpoint(self.shop, &job, &checkpoint)
                .await?;
            self.store.save_profile_send(row).await?;
            self.progress.page(&row.counts);
            if after.is_none() {
                return Ok(());
            }
        }
    }

    /// What the Admin API's search filters: subscribers. The activity
    /// range is an OR of the customer's update and its orders, which one
    /// customer search cannot say: it is filtered here.
    fn customer_filter(&self) -> Option<String> {
        (self.choices.profiles == ProfileFilter::Subscribers)
            .then(|| "email_marketing_state:SUBSCRIBED".to_owned())
    }

    /// Customers with an order placed in the range; `None` without one.
    async fn ordered_in_range(&self) -> Result<Option<HashSet<u64>>, SyncError> {
        if self.choices.active_from.is_none() && self.choices.active_to.is_none() {
            return Ok(None);
        }
        let filter = range_filter(
            "created_at",
            self.choices.active_from,
            self.choices.active_to,
        );
        let admin = self.admin;
        let fetch = |after: Option<String>| {
            let filter = filter.clone();
            async move {
                admin
                    .orders_page(after.as_deref(), Some(&filter), MAX_PAGE_SIZE)
                    .await
            }
        };
        let (from, to) = (self.choices.active_from, self.choices.active_to);
        let take = |ids: &mut HashSet<u64>, orders: Vec<so_shopify_admin::Order>| {
            // The search index may lag: the order's own time decides.
            ids.extend(
                orders
                    .iter()
                    .filter(|o| in_range(Some(o.created_at), from, to))
                    .filter_map(|o| o.customer.as_ref().map(|c| c.id.id())),
            );
        };
        Ok(Some(fold_pages(HashSet::new(), fetch, take).await?))
    }

    fn matches(&self, c: &Customer, ordered: Option<&HashSet<u64>>) -> bool {
        let subscribed = c
            .email_marketing_consent
            .as_ref()
            .is_some_and(|m| m.marketing_state == EmailMarketingState::Subscribed);
        let wanted = self.choices.profiles == ProfileFilter::All || subscribed;
        let active = ordered.is_none_or(|ids| {
            ids.contains(&c.id.id())
                || in_range(
                    c.updated_at,
                    self.choices.active_from,
                    self.choices.active_to,
                )
        });
        wanted && active
    }

    async fn publish(&self, c: &Customer, send_id: &str) -> Result<(), SyncError> {
        let mut event = customer_webhook(c);
        so_domain::profile_send::mark(&mut event.body, send_id, self.choices.list);
        // Its own webhook id per send: a customer sent before is sent again.
        republish(
            self.publisher,
            self.shop,
            self.api_version,
            &event,
            &format!("ps-{send_id}"),
        )
        .await
    }
}

/// `field:>='from' AND field:<'to'` in the Admin API's search syntax.
fn range_filter(field: &str, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut terms = Vec::new();
    if let Some(f) = from {
        terms.push(format!("{field}:>='{}'", fmt(f)));
    }
    if let Some(t) = to {
        terms.push(format!("{field}:<'{}'", fmt(t)));
    }
    terms.join(" AND ")
}

fn in_range(
    at: Option<DateTime<Utc>>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> bool {
    at.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e))
}
