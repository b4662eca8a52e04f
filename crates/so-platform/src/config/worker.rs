//! `[worker]`: the queue consumer (`so-worker`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use so_domain::serde_duration::{millis, secs};

/// `[worker]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Batch processors per process. Each owns a fixed subset of the
    /// partitions, so one entity is only ever handled by one of them.
    pub concurrency: u16,
    /// Unacked deliveries per partition consumer. Bounds memory: at most
    /// `partitions x prefetch` messages are held by one worker.
    pub prefetch: u16,
    /// Most events collected into one batch.
    pub batch_max_events: usize,
    /// How long a batch waits for more events after its first one; longer
    /// windows coalesce more updates and fill Ometria requests better
    /// (`batch_window_ms`).
    #[serde(rename = "batch_window_ms", with = "millis")]
    pub batch_window: Duration,
    /// Spend Ometria's request budget well: records of one key within a
    /// batch merged into one, behavioural attributes riding in the contact
    /// record a batch sends anyway, attribute updates settling while the
    /// budget is the limit, wider batches under a backlog, identical
    /// product records sharing one request. `false` is the naive
    /// baseline benchmarks compare against: every event's records go as
    /// they are, in order; correctness and accounting are the same.
    pub coalesce: bool,
    /// Processing attempts before a transiently failing event is
    /// dead-lettered (`retries_exhausted`). With the default tiers, 30
    /// attempts ride out about a day of Ometria outage.
    pub max_attempts: u32,
    /// How long a webhook id is remembered for deduplication, in hours.
    pub dedupe_window_hours: u64,
    /// Database connections of the store.
    pub database_connections: u32,
    /// Worker processes sharing one store split the partitions between the
    /// ones seen within this long; a process that dies without leaving
    /// gives its partitions up after this long (`lease_secs`).
    #[serde(rename = "lease_secs", with = "secs")]
    pub lease: Duration,
    /// How many days a `customers/data_request` export is kept in the store
    /// (served by `/admin/exports`) before it is deleted.
    pub export_retention_days: u32,
    /// How often open Ometria data-deletion requests are checked
    /// (`erasure_poll_secs`).
    #[serde(rename = "erasure_poll_secs", with = "secs")]
    pub erasure_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 4,
            prefetch: 500,
            batch_max_events: 1_000,
            batch_window: Duration::from_millis(250),
            coalesce: true,
            max_attempts: 30,
            dedupe_window_hours: 72,
            database_connections: 8,
            lease: Duration::from_secs(10),
            export_retention_days: 30,
            erasure_poll: Duration::from_secs(600),
        }
    }
}

impl WorkerSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=64).contains(&self.concurrency) {
            out.push("worker.concurrency must be 1..=64".to_owned());
        }
        if !(1..=10_000).contains(&self.prefetch) {
            out.push("worker.prefetch must be 1..=10000".to_owned());
        }
        if !(1..=100_000).contains(&self.batch_max_events) {
            out.push("worker.batch_max_events must be 1..=100000".to_owned());
        }
        if !(1..=10_000).contains(&self.batch_window.as_millis()) {
            out.push("worker.batch_window_ms must be 1..=10000".to_owned());
        }
        if !(1..=100).contains(&self.max_attempts) {
            out.push("worker.max_attempts must be 1..=100".to_owned());
        }
        if !(1..=720).contains(&self.dedupe_window_hours) {
            out.push("worker.dedupe_window_hours must be 1..=720".to_owned());
        }
        if !(3..=300).contains(&self.lease.as_secs()) {
            out.push("worker.lease_secs must be 3..=300".to_owned());
        }
        if !(1..=3_650).contains(&self.export_retention_days) {
            out.push("worker.export_retention_days must be 1..=3650".to_owned());
        }
        if !(1..=86_400).contains(&self.erasure_poll.as_secs()) {
            out.push("worker.erasure_poll_secs must be 1..=86400".to_owned());
        }
        if !(1..=256).contains(&self.database_connections) {
            out.push("worker.database_connections must be 1..=256".to_owned());
        }
        out
    }
}
