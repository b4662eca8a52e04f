//! Reading the queues for operators: listing and opening messages from the
//! letter index, the listing by scan it replaced, and rebuilding the index
//! from a scan.

use chrono::Utc;
use serde::Serialize;
use so_queue::QueueScan;

use super::walk::{Tally, next_match};
use super::{QueueOps, TargetQueue};
use crate::letter::{self, LetterDetail, LetterSummary};
use crate::{Filter, OpsError, index};

/// What a listing found.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub queue: String,
    /// Ready messages in the queue (RabbitMQ's count).
    pub depth: u32,
    /// Messages considered: the index's rows for the queue (a listing by
    /// scan: the messages walked).
    pub scanned: u32,
    pub matched: u32,
    /// Rows of the queue in the index; unlike `depth` it counts messages a
    /// running operation holds. `depth != indexed` on a quiet queue is
    /// drift: run `dlq reindex`.
    pub indexed: u64,
    /// Matches skipped before `items`.
    pub offset: u64,
    /// The offset of the next page, if there are more matches.
    pub next_offset: Option<u64>,
    /// Up to `limit` matches from `offset`, oldest first; `position` is the
    /// rank among all matches.
    pub items: Vec<LetterSummary>,
}

/// What a reindex did.
#[derive(Debug, Clone, Serialize)]
pub struct ReindexReport {
    pub queue: String,
    /// Messages the scan walked.
    pub scanned: u32,
    /// Rows added (or brought back) because the index lacked them.
    pub added: u64,
    /// Rows dropped because their message was no longer in the queue.
    pub dropped: u64,
    /// Rows of the queue in the index afterwards.
    pub indexed: u64,
}

impl QueueOps {
    /// Lists matching messages from the index (at most `limit` in `items`;
    /// all are counted).
    pub async fn list(
        &self,
        queue: TargetQueue,
        filter: &Filter,
        limit: usize,
    ) -> Result<Listing, OpsError> {
        self.list_page(queue, filter, 0, limit).await
    }

    /// One page of the matching messages, from the index: never walks the
    /// queue (issue 17).
    pub async fn list_page(
        &self,
        queue: TargetQueue,
        filter: &Filter,
        offset: u64,
        limit: usize,
    ) -> Result<Listing, OpsError> {
        filter.validate()?;
        let name = queue.name(&self.broker);
        let q = so_store::LetterQuery {
            queue: queue.as_str().to_owned(),
            ids: filter.ids.clone(),
            topics: filter.topics.clone(),
            shops: filter.shops.clone(),
            reasons: filter.reasons.clone(),
            stages: filter.stages.clone(),
            since: filter.since,
            until: filter.until,
            offset,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        };
        let (page, depth) = tokio::join!(
            self.store.letters(&q),
            so_queue::stats::queue_depth(&self.broker, &name)
        );
        let page = page?;
        let shown = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
        let next = offset.saturating_add(shown);
        Ok(Listing {
            queue: name,
            depth: depth?,
            scanned: u32::try_from(page.indexed).unwrap_or(u32::MAX),
            matched: u32::try_from(page.matched).unwrap_or(u32::MAX),
            indexed: page.indexed,
            offset,
            next_offset: (next < page.matched && shown > 0).then_some(next),
            items: page
                .items
                .into_iter()
                .zip(offset..)
                .map(|(l, i)| index::summary(l, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect(),
        })
    }

    /// Lists matching messages by walking the whole queue (the way before
    /// the index; kept for comparison and to check the index).
    pub async fn list_by_scan(
        &self,
        queue: TargetQueue,
        filter: &Filter,
        limit: usize,
    ) -> Result<Listing, OpsError> {
        filter.validate()?;
        let name = queue.name(&self.broker);
        let mut scan = QueueScan::open(&self.broker, &name).await?;
        let depth = scan.initial_depth();
        let mut tally = Tally::keeping(limit);
        let result = async {
            while next_match(&mut scan, &|s| filter.matches(s), &mut tally)
                .await?
                .is_some()
            {}
            Ok::<_, OpsError>(())
        }
        .await;
        scan.finish().await;
        result?;
        Ok(Listing {
            queue: name,
            depth,
            scanned: tally.scanned,
            matched: u32::try_from(tally.matched).unwrap_or(u32::MAX),
            indexed: 0,
            offset: 0,
            next_offset: None,
            items: tally.kept,
        })
    }

    /// One message by webhook id (the first copy, if there are several):
    /// from the index, masked; revealing it reads the queue itself, since
    /// the index keeps no customer data in clear.
    pub async fn show(
        &self,
        queue: TargetQueue,
        id: &str,
        reveal: bool,
    ) -> Result<LetterDetail, OpsError> {
        if !reveal {
            return match self.store.letter(queue.as_str(), id).await? {
                Some(l) => Ok(index::detail(l)),
                None => Err(OpsError::NotFound(id.to_owned())),
            };
        }
        let name = queue.name(&self.broker);
        let mut scan = QueueScan::open(&self.broker, &name).await?;
        let found = async {
            while let Some(m) = scan.next().await? {
                if m.headers().message_id.as_deref() == Some(id) {
                    return Ok(Some(letter::detail(&m, reveal)));
                }
            }
            Ok::<_, OpsError>(None)
        }
        .await;
        scan.finish().await;
        found?.ok_or_else(|| OpsError::NotFound(id.to_owned()))
    }

    /// Rebuilds the queue's rows of the index from a walk through the
    /// queue: adds what is missing, drops rows of messages no longer there.
    /// Messages stay where they are, in their order.
    pub async fn reindex(&self, queue: TargetQueue) -> Result<ReindexReport, OpsError> {
        let name = queue.name(&self.broker);
        let started = Utc::now();
        let mut scan = QueueScan::open(&self.broker, &name).await?;
        let mut rows = Vec::new();
        let walked = async {
            while let Some(m) = scan.next().await? {
                rows.push(index::scanned_row(queue, &m));
            }
            Ok::<_, OpsError>(())
        }
        .await;
        scan.finish().await;
        walked?;
        let (added, dropped) = self
            .store
            .letters_reindexed(queue.as_str(), &rows, started)
            .await?;
        let indexed = self.store.letters_count(queue.as_str()).await?;
        tracing::info!(queue = %name, scanned = rows.len(), added, dropped, "Letter index rebuilt.");
        Ok(ReindexReport {
            queue: name,
            scanned: u32::try_from(rows.len()).unwrap_or(u32::MAX),
            added,
            dropped,
            indexed,
        })
    }
}
