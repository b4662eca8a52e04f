//! Historical backfill: a shop's customers, orders (with line items and
//! refunds), products and abandoned checkouts, read through Admin API bulk
//! operations and published as the webhooks they would have been.
//!
//! Resumable: per entity, the checkpoint names the bulk operation being read
//! and how many of its rows are safely published (publishes are confirmed
//! before the checkpoint moves). A killed run resumes at the checkpoint with
//! the same operation (its result stays downloadable for 7 days); rows
//! published twice around a crash carry the same webhook id and are dropped
//! by the worker's dedupe.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_queue::Publisher;
use so_shopify_admin::MAX_PAGE_SIZE;
use so_shopify_admin::{
    AdminClient, BulkParent, Customer, EmailMarketingState, Synthesized, checkout_webhook,
    checkouts_bulk_query, customer_webhook, customers_bulk_query, fold_pages, order_webhook,
    orders_bulk_query, product_webhook, products_bulk_query,
};
use so_store::{BackfillCheckpoint, Store};
use tokio_util::sync::CancellationToken;

use crate::SyncError;
use crate::publish::publish;

mod options;
mod progress;
mod rows;

pub use options::{Entity, Only, Options};
pub use progress::{EntityReport, Progress, Quiet, Report};
pub use rows::PageFetch;
use rows::{PageMark, Rows};

/// Publishes awaiting their broker confirm at once.
const IN_FLIGHT: usize = 64;

/// Name of the shop's sync value holding the last completed backfill.
pub const LAST_COMPLETED: &str = "backfill_completed_at";

pub struct Backfill<'a> {
    pub admin: &'a AdminClient,
    pub publisher: &'a Publisher,
    pub store: &'a Store,
    pub shop: &'a ShopDomain,
    pub api_version: &'a str,
    pub options: Options,
    pub progress: &'a dyn Progress,
    /// Set when the run should stop (Ctrl-C, SIGTERM): it stops after the
    /// row in hand, saving the checkpoint.
    pub stop: &'a CancellationToken,
}

impl Backfill<'_> {
    pub async fn run(&self) -> Result<Report, SyncError> {
        let started = Instant::now();
        // Entities that finished after the last complete run belong to an
        // interrupted run of the same backfill: resuming skips them.
        let last_complete = self
            .store
            .sync_value(self.shop, LAST_COMPLETED)
            .await?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut entities = Vec::new();
        let subscribers = match (self.options.only, self.needs_subscriber_set()) {
            (Only::Subscribers, true) => Some(self.subscriber_ids().await?),
            _ => None,
        };
        for entity in self.options.entities.clone() {
            if let Some(done) = self.finished_in_this_run(entity, last_complete).await? {
                entities.push((entity.as_str().to_owned(), done));
                continue;
            }
            let report = match entity {
                Entity::Customers => {
                    self.entity(
                        entity,
                        customers_bulk_query,
                        self.page_fetch(|a, after, filter| async move {
                            a.customers_page(after.as_deref(), filter.as_deref(), MAX_PAGE_SIZE)
                                .await
                        }),
                        |c| Some(customer_webhook(c)),
                        |_| true,
                    )
                    .await?
                }
                Entity::Orders => {
                    self.entity(
                        entity,
                        orders_bulk_query,
                        self.page_fetch(|a, after, filter| async move {
                            a.orders_page(after.as_deref(), filter.as_deref(), MAX_PAGE_SIZE)
                                .await
                        }),
                        |o| Some(order_webhook(o)),
                        |o: &so_shopify_admin::Order| {
                            keep(subscribers.as_ref(), o.customer.as_ref().map(|c| c.id.id()))
                        },
                    )
                    .await?
                }
                Entity::Products => {
                    self.entity(
                        entity,
                        products_bulk_query,
                        self.page_fetch(|a, after, filter| async move {
                            a.products_page(after.as_deref(), filter.as_deref(), MAX_PAGE_SIZE)
                                .await
                        }),
                        |p| Some(product_webhook(p)),
                        |_| true,
                    )
                    .await?
                }
                Entity::Checkouts => {
                    self.entity(
                        entity,
                        checkouts_bulk_query,
                        self.page_fetch(|a, after, filter| async move {
                            a.abandoned_checkouts_page(
                                after.as_deref(),
                                filter.as_deref(),
                                MAX_PAGE_SIZE,
                            )
                            .await
                        }),
                        checkout_webhook,
                        |c: &so_shopify_admin::AbandonedCheckout| {
                            keep(subscribers.as_ref(), c.customer.as_ref().map(|c| c.id.id()))
                        },
                    )
                    .await?
                }
            };
            entities.push((entity.as_str().to_owned(), report));
        }
        let finished_at = Utc::now();
        self.store
            .set_sync_value(self.shop, LAST_COMPLETED, &finished_at.to_rfc3339())
            .await?;
        let elapsed = started.elapsed();
        Ok(Report {
            shop: self.shop.as_str().to_owned(),
            entities,
            elapsed_secs: elapsed.as_secs_f64(),
            finished_at,
            budget_share: self.admin.budget().share_of_budget(elapsed),
        })
    }

    /// A report for an entity the interrupted run already finished.
    async fn finished_in_this_run(
        &self,
        entity: Entity,
        last_complete: Option<DateTime<Utc>>,
    ) -> Result<Option<EntityReport>, SyncError> {
        let saved = self
            .store
            .backfill_checkpoint(self.shop, entity.as_str())
            .await?;
        Ok(saved.and_then(|c| {
            let finished = c.finished_at?;
            let this_run = last_complete.is_none_or(|l| finished > l);
            (this_run && c.options == self.options.signature(entity)).then(|| {
                self.progress.started(entity, c.lines_done);
                let report = EntityReport {
                    resumed_from: c.lines_done,
                    ..EntityReport::default()
                };
                self.progress.finished(entity, &report);
                report
            })
        }))
    }

    fn needs_subscriber_set(&self) -> bool {
        self.options
            .entities
            .iter()
            .any(|e| matches!(e, Entity::Orders | Entity::Checkouts))
    }

    /// Ids of the customers who accepted email marketing.
    async fn subscriber_ids(&self) -> Result<HashSet<u64>, SyncError> {
        let admin = &self.admin;
        let fetch = |after: Option<String>| async move {
            admin
                .customers_page(
                    after.as_deref(),
                    Some("email_marketing_state:SUBSCRIBED"),
                    MAX_PAGE_SIZE,
                )
                .await
        };
        let keep = |ids: &mut HashSet<u64>, customers: Vec<Customer>| {
            // The search index may lag: the node's own state decides.
            ids.extend(customers.iter().filter_map(|c| {
                let subscribed = c
                    .email_marketing_consent
                    .as_ref()
                    .is_some_and(|m| m.marketing_state == EmailMarketingState::Subscribed);
                subscribed.then(|| c.id.id())
            }));
        };
        Ok(fold_pages(HashSet::new(), fetch, keep).await?)
    }

    async fn entity<T: BulkParent + Send + 'static>(
        &self,
        entity: Entity,
        query: fn(Option<&str>) -> String,
        pages: PageFetch<T>,
        convert: impl Fn(&T) -> Option<Synthesized>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<EntityReport, SyncError> {
        let signature = self.options.signature(entity);
        let saved = self
            .store
            .backfill_checkpoint(self.shop, entity.as_str())
            .await?;
        let mut checkpoint = match saved {
            // An unfinished run with the same options resumes.
            Some(c) if c.finished_at.is_none() && c.options == signature => c,
            _ => BackfillCheckpoint {
                options: signature,
                operation_id: None,
                lines_done: 0,
                published: 0,
                started_at: Utc::now(),
                finished_at: None,
            },
        };
        let mut resumed_from = checkpoint.lines_done;
        self.progress.started(entity, resumed_from);
        let filter = self.options.filter(entity);
        let mut rows = match checkpoint.operation_id.as_deref().and_then(PageMark::parse) {
            // A run that had fallen back to pages resumes with pages.
            Some(mark) => Rows::pages(pages, filter.clone(), Some(mark)),
            None => match self
                .bulk::<T>(entity, query, &filter, &mut checkpoint)
                .await
            {
                Ok(rows) => Rows::Bulk(rows),
                Err(e) => {
                    // Bulk refused or failed (another operation running, a
                    // failed operation, an expired result): page through
                    // instead, from the start; rows published twice carry
                    // the same webhook ids and are dropped as duplicates.
                    tracing::warn!(entity = entity.as_str(), error = %crate::error_chain(&e), "Bulk operation unavailable; falling back to paginated queries.");
                    checkpoint.lines_done = 0;
                    checkpoint.operation_id = Some(PageMark::START.to_text());
                    resumed_from = 0;
                    self.save(entity, &checkpoint).await?;
                    Rows::pages(pages, filter.clone(), Some(PageMark::START))
                }
            },
        };
        let mut report = EntityReport {
            resumed_from,
            ..EntityReport::default()
        };
        let mut index = rows.first_index();
        // Up to IN_FLIGHT publishes await their confirms at once; they
        // complete in order, and the checkpoint only moves past rows whose
        // publish (if any) was confirmed.
        let mut in_flight: std::collections::VecDeque<
            tokio::task::JoinHandle<Result<(u64, bool), SyncError>>,
        > = std::collections::VecDeque::new();
        let mut exhausted = false;
        let mut last_saved = resumed_from;
        loop {
            while !exhausted && in_flight.len() < IN_FLIGHT && !self.stop.is_cancelled() {
                let Some(row) = rows.next().await? else {
                    exhausted = true;
                    break;
                };
                index += 1;
                if index <= resumed_from {
                    continue;
                }
                report.read += 1;
                let event = if keep(&row) {
                    let e = convert(&row);
                    report.unconvertible += u64::from(e.is_none());
                    e
                } else {
                    report.filtered += 1;
                    None
                };
                let (publisher, shop, version, line) = (
                    self.publisher.clone(),
                    self.shop.clone(),
                    self.api_version.to_owned(),
                    index,
                );
                // A task each, so confirms progress while the next rows are
                // read and converted.
                in_flight.push_back(tokio::spawn(async move {
                    match event {
                        Some(e) => publish(&publisher, &shop, &version, &e)
                            .await
                            .map(|()| (line, true)),
                        None => Ok((line, false)),
                    }
                }));
            }
            let Some(oldest) = in_flight.pop_front() else {
                break;
            };
            let (line, published) = oldest
                .await
                .map_err(|e| SyncError::Invalid(format!("a publish task failed: {e}")))??;
            report.published += u64::from(published);
            checkpoint.published += u64::from(published);
            checkpoint.lines_done = line;
            if let Some(mark) = rows.mark_for(line) {
                checkpoint.operation_id = Some(mark.to_text());
            }
            if line - last_saved >= self.options.checkpoint_every.max(1) {
                self.save(entity, &checkpoint).await?;
                last_saved = line;
            }
            self.progress.row(entity, &report);
        }
        if !exhausted {
            // Stopped: everything in flight was settled above.
            self.save(entity, &checkpoint).await?;
            return Err(SyncError::Interrupted);
        }
        checkpoint.finished_at = Some(Utc::now());
        self.save(entity, &checkpoint).await?;
        self.progress.finished(entity, &report);
        Ok(report)
    }

    /// A page fetcher over a clone of the Admin client.
    fn page_fetch<T, F, Fut>(&self, f: F) -> PageFetch<T>
    where
        F: Fn(AdminClient, Option<String>, Option<String>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<
                Output = Result<so_shopify_admin::Page<T>, so_shopify_admin::AdminError>,
            > + Send
            + 'static,
    {
        let admin = self.admin.clone();
        Box::new(move |after, filter| Box::pin(f(admin.clone(), after, filter)))
    }

    /// Starts (or, resuming, finds again) the entity's bulk operation and
    /// opens its result.
    async fn bulk<T: BulkParent>(
        &self,
        entity: Entity,
        query: fn(Option<&str>) -> String,
        filter: &Option<String>,
        checkpoint: &mut BackfillCheckpoint,
    ) -> Result<so_shopify_admin::BulkRows<T>, SyncError> {
        let operation_id = match &checkpoint.operation_id {
            Some(id) => so_shopify_admin::BulkOperationId(id.clone()),
            None => {
                let id = self.admin.run_bulk_query(&query(filter.as_deref())).await?;
                checkpoint.operation_id = Some(id.as_str().to_owned());
                self.save(entity, checkpoint).await?;
                id
            }
        };
        self.progress.waiting_for_shopify(entity);
        let operation = self
            .admin
            .wait_bulk(&operation_id, self.options.poll_interval)
            .await?;
        Ok(self.admin.bulk_rows::<T>(&operation).await?)
    }

    async fn save(&self, entity: Entity, c: &BackfillCheckpoint) -> Result<(), SyncError> {
        Ok(self
            .store
            .save_backfill_checkpoint(self.shop, entity.as_str(), c)
            .await?)
    }
}

/// `--only subscribers`: a record of a subscribed customer; no set: all.
fn keep(subscribers: Option<&HashSet<u64>>, customer: Option<u64>) -> bool {
    match subscribers {
        None => true,
        Some(set) => customer.is_some_and(|c| set.contains(&c)),
    }
}

/// The last completed backfill in the shop's time zone, e.g.
/// `2026-12-01 09:30 (Europe/London)`.
pub fn in_time_zone(at: DateTime<Utc>, iana: Option<&str>) -> String {
    match iana.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => format!(
            "{} ({tz})",
            at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z")
        ),
        None => format!("{} (UTC)", at.format("%Y-%m-%d %H:%M:%S")),
    }
}

#[cfg(test)]
mod tests;
