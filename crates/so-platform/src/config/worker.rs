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
    /// The in-flight window's memory bound, in bytes: under a backlog a
    /// processor holds more deliveries than `prefetch` (so more versions
    /// of one entity meet and leave as one record), up to this many bytes
    /// for the whole worker at 16 KiB each (a
    /// delivery counts as large as an order body, since it is held before
    /// it is read). `partitions x prefetch` deliveries are held whatever
    /// this is.
    pub window_max_bytes: u64,
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
    /// An abandonment check decides only once every webhook received before
    /// it fell due is processed (a lagging worker could otherwise call a
    /// bought cart abandoned); until then it is deferred, at most this long
    /// past its due time, then decided anyway with a warning
    /// (`abandonment_max_defer_secs`).
    #[serde(rename = "abandonment_max_defer_secs", with = "secs")]
    pub abandonment_max_defer: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 4,
            prefetch: 500,
            window_max_bytes: 64 * 1024 * 1024,
            batch_max_events: 1_000,
            batch_window: Duration::from_millis(250),
            coalesce: true,
            max_attempts: 30,
            dedupe_window_hours: 72,
            database_connections: 8,
            lease: Duration::from_secs(10),
            export_retention_days: 30,
            erasure_poll: Duration::from_secs(600),
            abandonment_max_defer: Duration::from_secs(3600),
        }
    }
}

/// What one held delivery counts for against `window_max_bytes`: an order
/// webhook's body (about 14 KB) with its headers.
const WINDOW_BYTES_PER_DELIVERY: u64 = 16 * 1024;
const WINDOW_MIN_BYTES: u64 = 1024 * 1024;
const WINDOW_MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;

impl WorkerSettings {
    /// Unacked deliveries per partition consumer: the window's share of
    /// `window_max_bytes` for each of `partitions`, never fewer than
    /// `prefetch` and at most 10 000 (as `prefetch`).
    pub fn window_prefetch(&self, partitions: u16) -> u16 {
        let per_partition =
            self.window_max_bytes / WINDOW_BYTES_PER_DELIVERY / u64::from(partitions.max(1));
        let capped = u16::try_from(per_partition.min(10_000)).unwrap_or(10_000);
        capped.max(self.prefetch)
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=64).contains(&self.concurrency) {
            out.push("worker.concurrency must be 1..=64".to_owned());
        }
        if !(1..=10_000).contains(&self.prefetch) {
            out.push("worker.prefetch must be 1..=10000".to_owned());
        }
        if !(WINDOW_MIN_BYTES..=WINDOW_MAX_BYTES).contains(&self.window_max_bytes) {
            out.push(format!(
                "worker.window_max_bytes must be {WINDOW_MIN_BYTES}..={WINDOW_MAX_BYTES} (1 MiB..=4 GiB)"
            ));
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
        if !(1..=604_800).contains(&self.abandonment_max_defer.as_secs()) {
            out.push("worker.abandonment_max_defer_secs must be 1..=604800".to_owned());
        }
        if !(1..=256).contains(&self.database_connections) {
            out.push("worker.database_connections must be 1..=256".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn the_window_bound_is_validated_naming_the_key() {
        for bad in ["0", "1000", "5000000000"] {
            let err = Config::load(None, [("SO_WORKER__WINDOW_MAX_BYTES", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("worker.window_max_bytes"), "{bad}: {err}");
        }
        let c = Config::load(None, [("SO_WORKER__WINDOW_MAX_BYTES", "67108864")]).unwrap();
        assert_eq!(c.worker.window_max_bytes, 64 * 1024 * 1024);
    }

    #[test]
    fn the_longest_deferral_of_an_abandonment_check_is_validated_naming_the_key() {
        for bad in ["0", "604801"] {
            let err = Config::load(None, [("SO_WORKER__ABANDONMENT_MAX_DEFER_SECS", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("worker.abandonment_max_defer_secs"),
                "{bad}: {err}"
            );
        }
        let c = Config::load(None, [("PATH", "/usr/bin")]).unwrap();
        assert_eq!(c.worker.abandonment_max_defer.as_secs(), 3_600);
    }

    #[test]
    fn the_window_sets_the_prefetch_never_below_the_configured_one() {
        let c = Config::load(None, [("PATH", "/usr/bin")]).unwrap();
        // 64 MiB at 16 KiB a delivery over 8 partitions.
        assert_eq!(c.worker.window_prefetch(8), 512);
        assert_eq!(c.worker.window_prefetch(1), 4_096);
        let large = Config::load(None, [("SO_WORKER__WINDOW_MAX_BYTES", "4294967296")]).unwrap();
        assert_eq!(large.worker.window_prefetch(8), 10_000, "at most 10 000");
        let small = Config::load(None, [("SO_WORKER__WINDOW_MAX_BYTES", "1048576")]).unwrap();
        assert_eq!(
            small.worker.window_prefetch(8),
            500,
            "the configured prefetch"
        );
        let one = Config::load(
            None,
            [
                ("SO_WORKER__WINDOW_MAX_BYTES", "1048576"),
                ("SO_WORKER__PREFETCH", "1"),
            ],
        )
        .unwrap();
        assert_eq!(one.worker.window_prefetch(1), 64, "1 MiB / 16 KiB");
    }
}
