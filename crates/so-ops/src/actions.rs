//! List, show, replay and purge messages of the dead-letter or parked queue,
//! and the audit trail of what was done.
//!
//! Safety rules (shared/reference/rabbitmq.md §1.5, "operator replay"):
//! a replayed message is republished with a confirm, on one channel so the
//! replayed messages keep their order, and only then removed from its queue.
//! A replay killed halfway leaves at most the confirmed-but-not-yet-removed
//! messages in both places; re-running it sends them again, and the worker's
//! dedupe ledger drops the second copy. Messages that do not match stay
//! unacknowledged during the scan and go back in their order.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use so_domain::ParkReason;
/// The headers a replay marks its messages with.
pub use so_queue::codec::{REPLAY_OPERATION, REPLAYED_AT};
use so_queue::{Broker, OrderedPublisher, QueueScan, Scanned};
use so_store::{QueueOperation, Store};

use crate::letter::LetterSummary;
use crate::{Filter, OpsError};

mod browse;
mod route;
mod target;
mod walk;

pub use browse::{Listing, ReindexReport};
pub use target::TargetQueue;
use walk::{Tally, next_match, purge_matching, settle};

/// How a replay runs.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Count and sample only; change nothing.
    pub dry_run: bool,
    /// At most this many messages per second (unset: as fast as confirms come).
    pub rate: Option<f64>,
    /// Allow an empty filter (every message of the queue).
    pub all: bool,
}

/// What a replay or purge did.
#[derive(Debug, Clone, Serialize)]
pub struct OperationReport {
    /// The audit record's id (none for dry runs).
    pub operation_id: Option<String>,
    pub operation: &'static str,
    pub queue: String,
    pub dry_run: bool,
    pub scanned: u32,
    pub matched: u64,
    /// Moved (replay) or removed (purge).
    pub done: u64,
    /// Matching messages left in place because no partition can be
    /// derived from their headers.
    pub unroutable: u64,
    /// `completed`, `failed` or `dry_run`.
    pub status: &'static str,
    pub error: Option<String>,
    /// Up to ten of the matching messages.
    pub sample: Vec<LetterSummary>,
}

const SAMPLE: usize = 10;
/// Republishes in flight at once: enough to keep confirms pipelined.
const REPLAY_WINDOW: usize = 64;

/// Operator actions; cheap to clone.
#[derive(Debug, Clone)]
pub struct QueueOps {
    broker: Broker,
    store: Store,
}

impl QueueOps {
    pub fn new(broker: Broker, store: Store) -> QueueOps {
        QueueOps { broker, store }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Moves matching messages back through the normal path (dedupe,
    /// staleness and the Ometria budget apply), in their queue order.
    pub async fn replay(
        &self,
        queue: TargetQueue,
        filter: &Filter,
        options: &ReplayOptions,
        actor: &str,
    ) -> Result<OperationReport, OpsError> {
        filter.validate()?;
        if let Some(rate) = options.rate {
            crate::limits::rate(rate)?;
        }
        if filter.is_empty() && !options.all {
            return Err(OpsError::NoFilter);
        }
        self.run(
            Operation::Replay,
            queue,
            replay_json(filter, options.rate),
            &|s| filter.matches(s),
            options,
            actor,
        )
        .await
    }

    /// Removes matching messages for good.
    pub async fn purge(
        &self,
        queue: TargetQueue,
        filter: &Filter,
        dry_run: bool,
        all: bool,
        actor: &str,
    ) -> Result<OperationReport, OpsError> {
        filter.validate()?;
        if filter.is_empty() && !all {
            return Err(OpsError::NoFilter);
        }
        let options = ReplayOptions {
            dry_run,
            rate: None,
            all,
        };
        self.run(
            Operation::Purge,
            queue,
            filter_json(filter),
            &|s| filter.matches(s),
            &options,
            actor,
        )
        .await
    }

    /// Sends the parked events of shops that are enabled again back to
    /// their partitions, in the order they were parked.
    pub async fn release_paused_shops(
        &self,
        is_enabled: &(dyn Fn(&str) -> bool + Sync),
        actor: &str,
    ) -> Result<OperationReport, OpsError> {
        let matches = |s: &LetterSummary| {
            s.reason.as_deref().and_then(ParkReason::parse) == Some(ParkReason::ShopPaused)
                && s.shop.as_deref().is_some_and(is_enabled)
        };
        // Every worker start checks; only a release that moves something is
        // worth a line in the audit trail.
        let dry = ReplayOptions {
            dry_run: true,
            ..ReplayOptions::default()
        };
        let filter = serde_json::json!({
            "reasons": [ParkReason::ShopPaused.as_str()],
            "shops": "enabled",
        })
        .to_string();
        let preview = self
            .run(
                Operation::Release,
                TargetQueue::Parked,
                filter.clone(),
                &matches,
                &dry,
                actor,
            )
            .await?;
        if preview.matched == 0 {
            return Ok(preview);
        }
        self.run(
            Operation::Release,
            TargetQueue::Parked,
            filter,
            &matches,
            &ReplayOptions::default(),
            actor,
        )
        .await
    }

    /// The latest operations, newest first.
    pub async fn history(&self, limit: u32) -> Result<Vec<QueueOperation>, OpsError> {
        Ok(self.store.operations(limit).await?)
    }

    async fn run(
        &self,
        op: Operation,
        queue: TargetQueue,
        filter_text: String,
        matches: &(dyn Fn(&LetterSummary) -> bool + Sync),
        options: &ReplayOptions,
        actor: &str,
    ) -> Result<OperationReport, OpsError> {
        let name = queue.name(&self.broker);
        let mut report = OperationReport {
            operation_id: None,
            operation: op.as_str(),
            queue: name.clone(),
            dry_run: options.dry_run,
            scanned: 0,
            matched: 0,
            done: 0,
            unroutable: 0,
            status: "dry_run",
            error: None,
            sample: Vec::new(),
        };
        let mut scan = QueueScan::open(&self.broker, &name).await?;
        let mut tally = Tally::keeping(SAMPLE);
        if options.dry_run {
            let walked = async {
                while next_match(&mut scan, matches, &mut tally).await?.is_some() {}
                Ok::<_, OpsError>(())
            }
            .await;
            scan.finish().await;
            walked?;
            tally.into_report(&mut report);
            return Ok(report);
        }

        let id = uuid::Uuid::new_v4().to_string();
        let record = QueueOperation {
            id: id.clone(),
            started_at: Utc::now(),
            finished_at: None,
            actor: actor.to_owned(),
            operation: op.as_str().to_owned(),
            queue: name.clone(),
            filter: filter_text,
            matched: 0,
            done: 0,
            status: "started".to_owned(),
            detail: None,
        };
        if let Err(e) = self.store.operation_started(&record).await {
            scan.finish().await;
            return Err(e.into());
        }
        report.operation_id = Some(id.clone());
        tracing::info!(operation = op.as_str(), queue = %name, operation_id = %id, actor, "Queue operation started.");

        let outcome = match op {
            Operation::Purge => purge_matching(&mut scan, matches, &mut tally, &mut report).await,
            Operation::Replay | Operation::Release => {
                self.republish_matching(&mut scan, matches, options, &id, &mut tally, &mut report)
                    .await
            }
        };
        scan.finish().await;
        // The index follows what actually moved, even on a partial run.
        let moved = std::mem::take(&mut tally.removed);
        if let Err(e) = self.store.letters_removed(queue.as_str(), &moved).await {
            tracing::warn!(error = %e, queue = %name, "Cannot remove moved messages from the letter index; run `dlq reindex`.");
        }
        tally.into_report(&mut report);
        report.status = if outcome.is_ok() {
            "completed"
        } else {
            "failed"
        };
        report.error = outcome.as_ref().err().map(ToString::to_string);
        let counter = match op {
            Operation::Purge => so_platform::metrics::dead_letters_purged,
            Operation::Replay | Operation::Release => so_platform::metrics::dead_letters_replayed,
        };
        counter(queue.as_str(), report.done);
        tracing::info!(
            operation = op.as_str(), queue = %name, operation_id = %id,
            matched = report.matched, done = report.done, status = report.status,
            "Queue operation finished."
        );
        self.store
            .operation_finished(
                &id,
                report.status,
                report.matched,
                report.done,
                report.error.as_deref(),
            )
            .await?;
        match outcome {
            // A partial replay is reported, not hidden: the audit record and
            // the report both say how far it got.
            Ok(()) | Err(OpsError::Publish(_) | OpsError::Queue(_)) => Ok(report),
            Err(e) => Err(e),
        }
    }

    async fn republish_matching(
        &self,
        scan: &mut QueueScan,
        matches: &(dyn Fn(&LetterSummary) -> bool + Sync),
        options: &ReplayOptions,
        operation_id: &str,
        tally: &mut Tally,
        report: &mut OperationReport,
    ) -> Result<(), OpsError> {
        let mut publisher = OrderedPublisher::open(&self.broker, REPLAY_WINDOW).await?;
        let exchange = self.broker.names().ingest_exchange();
        let mut pace = options
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / r)));
        let mut held: HashMap<u64, Scanned> = HashMap::new();
        let result = async {
            while let Some(m) = next_match(scan, matches, tally).await? {
                let (key, entity) = match route::replay_route(self.broker.names(), &m) {
                    Ok(route) => route,
                    Err(e) => {
                        // Left where it is; the others still go.
                        tracing::warn!(error = %e, "Message cannot be routed; left in its queue.");
                        report.unroutable += 1;
                        continue;
                    }
                };
                let envelope = m.envelope().replayed(operation_id, entity.as_ref());
                if let Some(p) = pace.as_mut() {
                    p.tick().await;
                }
                let tag = u64::from(m.position);
                let settled = publisher
                    .send(tag, &exchange, &key, &m.body, &envelope)
                    .await?;
                held.insert(tag, m);
                settle(&mut held, settled, report, tally).await?;
            }
            let rest = publisher.flush().await;
            settle(&mut held, rest, report, tally).await
        }
        .await;
        publisher.close().await;
        result
    }
}

fn filter_json(filter: &Filter) -> String {
    serde_json::to_string(filter).unwrap_or_else(|_| "{}".to_owned())
}

/// A replay's filter with its pace (`rate`, messages per second) when it had one: the audit
/// trail's only record of how fast it was asked to go.
fn replay_json(filter: &Filter, rate: Option<f64>) -> String {
    let mut text = serde_json::to_value(filter).unwrap_or_default();
    if let (Some(rate), Some(fields)) = (rate, text.as_object_mut()) {
        fields.insert("rate".to_owned(), serde_json::json!(rate));
    }
    text.to_string()
}

#[derive(Debug, Clone, Copy)]
enum Operation {
    Replay,
    Purge,
    Release,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Replay => "replay",
            Operation::Purge => "purge",
            Operation::Release => "release",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_replay_records_its_rate_with_its_filter() {
        let filter = Filter {
            ids: vec!["w1".into()],
            ..Filter::default()
        };
        assert_eq!(replay_json(&filter, None), r#"{"ids":["w1"]}"#);
        assert_eq!(
            replay_json(&filter, Some(2.5)),
            r#"{"ids":["w1"],"rate":2.5}"#
        );
    }
}
