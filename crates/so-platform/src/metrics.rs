//! Metric names (one place) and the Prometheus recorder.
//!
//! Names follow Prometheus conventions: `so_` prefix, `_total` for counters,
//! base units (`_seconds`). Label values are bounded codes (topics, reason
//! codes, queue names), never raw messages or ids.
//!
//! The only module (with `webhook_metrics.rs`) allowed the `metrics` macros (clippy's
//! `disallowed-macros` in clippy.toml forbids them elsewhere).
#![allow(clippy::disallowed_macros)]

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use so_domain::{ParkReason, ReasonCode, Stage};

pub const WEBHOOKS_RECEIVED: &str = "so_webhooks_received_total";
pub const WEBHOOKS_ACCEPTED: &str = "so_webhooks_accepted_total";
pub const WEBHOOKS_REJECTED: &str = "so_webhooks_rejected_total";
pub const WEBHOOKS_IRREGULAR: &str = "so_webhooks_irregular_total";
pub const WEBHOOK_DURATION: &str = "so_webhook_duration_seconds";
pub const PUBLISH_CONFIRM_DURATION: &str = "so_publish_confirm_duration_seconds";
pub const PUBLISH_FAILURES: &str = "so_publish_failures_total";
pub const BROKER_UP: &str = "so_broker_up";
pub const QUEUE_MESSAGES: &str = "so_queue_messages";
pub const QUEUE_CONSUMERS: &str = "so_queue_consumers";
pub const QUEUE_OLDEST_AGE: &str = "so_queue_oldest_message_age_seconds";
pub const READY: &str = "so_ready";
pub const OMETRIA_REQUEST_BUDGET: &str = "so_ometria_request_budget";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0, 3600.0,
];
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (idempotent) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = build_recorder();
            zero_rare_counters();
            handle
        })
        .clone()
}

/// Counters that stay at zero in a healthy process are exported from the
/// start, so that alerts and `rate()` see a series instead of nothing.
fn zero_rare_counters() {
    metrics::counter!(ACKS_LOST).increment(0);
    metrics::counter!(ABANDONMENT_CHECKS_OVERDUE).increment(0);
    for kind in ["customer_redact", "data_request", "shop_redact"] {
        metrics::counter!(PRIVACY_REQUESTS, "kind" => kind).increment(0);
    }
    for reason in [
        "not_connected",
        "blocked",
        "nacked",
        "returned",
        "timeout",
        "channel_error",
    ] {
        metrics::counter!(PUBLISH_FAILURES, "reason" => reason).increment(0);
    }
    for reason in ["no_request_id", "unknown_request", "unknown_record"] {
        metrics::counter!(OMETRIA_REJECTIONS_UNATTRIBUTED, "reason" => reason).increment(0);
    }
    for queue in ["dead_letter", "parked"] {
        metrics::counter!(DEAD_LETTERS_REPLAYED, "queue" => queue).increment(0);
        metrics::counter!(DEAD_LETTERS_PURGED, "queue" => queue).increment(0);
    }
}

fn build_recorder() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(OMETRIA_RECORDS_PER_REQUEST.to_owned()),
                COUNT_BUCKETS,
            )
        })
        .unwrap_or_else(|_| PrometheusBuilder::new());
    match builder.install_recorder() {
        Ok(handle) => handle,
        // Another recorder is already global (an embedding test
        // harness): keep a private one so /metrics still renders.
        Err(_) => PrometheusBuilder::new().build_recorder().handle(),
    }
}

/// One webhook arrived (before any check).
pub fn webhook_received(topic_label: &'static str) {
    metrics::counter!(WEBHOOKS_RECEIVED, "topic" => topic_label).increment(1);
}

/// A webhook was queued; `route` is `work` or `parked`.
pub fn webhook_accepted(topic_label: &'static str, route: &'static str) {
    metrics::counter!(WEBHOOKS_ACCEPTED, "topic" => topic_label, "route" => route).increment(1);
}

/// A webhook was refused; `reason` is the error code of the response.
pub fn webhook_rejected(reason: &'static str) {
    metrics::counter!(WEBHOOKS_REJECTED, "reason" => reason).increment(1);
}

/// An authenticated webhook had an irregular header (malformed, or an API
/// version this code does not know) and was parked or processed anyway;
/// `reason` is bounded (`so_shopify::Irregularity::as_str`).
pub fn webhook_irregular(reason: &'static str) {
    metrics::counter!(WEBHOOKS_IRREGULAR, "reason" => reason).increment(1);
}

pub fn webhook_duration(seconds: f64, status_class: &'static str) {
    metrics::histogram!(WEBHOOK_DURATION, "status" => status_class).record(seconds);
}

pub fn publish_confirmed(seconds: f64) {
    metrics::histogram!(PUBLISH_CONFIRM_DURATION).record(seconds);
}

pub fn publish_failed(reason: &'static str) {
    metrics::counter!(PUBLISH_FAILURES, "reason" => reason).increment(1);
}

pub fn broker_up(up: bool) {
    metrics::gauge!(BROKER_UP).set(if up { 1.0 } else { 0.0 });
}

pub fn queue_depth(queue: &str, role: &'static str, messages: u32, consumers: u32) {
    metrics::gauge!(QUEUE_MESSAGES, "queue" => queue.to_owned(), "role" => role)
        .set(f64::from(messages));
    metrics::gauge!(QUEUE_CONSUMERS, "queue" => queue.to_owned(), "role" => role)
        .set(f64::from(consumers));
}

/// Age of the oldest message of a queue, where it can be known: for a work
/// partition, the age of the message its consumer received last (the head
/// of the queue while a backlog lasts); 0 once the queue is empty.
pub fn queue_oldest_age(queue: &str, role: &'static str, seconds: f64) {
    metrics::gauge!(QUEUE_OLDEST_AGE, "queue" => queue.to_owned(), "role" => role).set(seconds);
}

/// 1 while every readiness check passes, else 0.
pub fn ready(ready: bool) {
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

/// The configured Ometria request budget (requests per second), so that
/// dashboards can show the share in use.
pub fn ometria_request_budget(requests_per_second: f64) {
    metrics::gauge!(OMETRIA_REQUEST_BUDGET).set(requests_per_second);
}

// Worker.
pub const EVENTS_PROCESSED: &str = "so_events_processed_total";
pub const EVENTS_RETRIED: &str = "so_events_retried_total";
pub const EVENTS_DEAD_LETTERED: &str = "so_events_dead_lettered_total";
pub const EVENTS_PARKED: &str = "so_events_parked_total";
pub const PRIVACY_REQUESTS: &str = "so_privacy_requests_total";
pub const ERASURES_OPEN: &str = "so_ometria_erasures_open";
/// Set by `so-sync`: consent write-back decisions, reconciliation drift.
pub const CONSENT_DECISIONS: &str = "so_consent_sync_decisions_total";
pub const RECONCILE_DRIFT: &str = "so_reconcile_drift";
pub const RECONCILE_LAST_RUN: &str = "so_reconcile_last_run_timestamp_seconds";
pub const ACKS_LOST: &str = "so_acks_lost_total";
pub const ABANDONMENT_CHECKS_OVERDUE: &str = "so_abandonment_checks_overdue_total";
pub const OMETRIA_REQUESTS: &str = "so_ometria_requests_total";
pub const OMETRIA_REQUEST_DURATION: &str = "so_ometria_request_duration_seconds";
pub const OMETRIA_RECORDS_PER_REQUEST: &str = "so_ometria_records_per_request";
pub const OMETRIA_RECORDS_COALESCED: &str = "so_ometria_records_coalesced_total";
pub const OMETRIA_RATE_LIMIT_WAIT: &str = "so_ometria_rate_limit_wait_seconds";
pub const END_TO_END_LAG: &str = "so_end_to_end_lag_seconds";
pub const BATCH_DURATION: &str = "so_worker_batch_duration_seconds";

/// One event finished; `outcome` is `pushed`, a skip reason
/// (`so_domain::SkipReason`: `duplicate`, `stale`, `no_records`, `skipped`
/// (suppressed identity), ...), `retried`, `dead_lettered` or `parked`.
/// `shop` is a bounded label: a configured shop's domain, or
/// `unconfigured` (see `so_worker`'s shop rules).
pub fn event_processed(shop: &str, topic_label: &'static str, outcome: &'static str) {
    metrics::counter!(EVENTS_PROCESSED, "shop" => shop.to_owned(), "topic" => topic_label, "outcome" => outcome)
        .increment(1);
}

pub fn event_retried(shop: &str, reason: ReasonCode) {
    metrics::counter!(EVENTS_RETRIED, "shop" => shop.to_owned(), "reason" => reason.as_str())
        .increment(1);
}

pub fn event_dead_lettered(shop: &str, reason: ReasonCode, stage: Stage) {
    metrics::counter!(EVENTS_DEAD_LETTERED, "shop" => shop.to_owned(), "reason" => reason.as_str(), "stage" => stage.as_str())
        .increment(1);
}

/// A privacy request handled: `customer_redact`, `data_request`,
/// `shop_redact`.
pub fn privacy_request(kind: &'static str) {
    metrics::counter!(PRIVACY_REQUESTS, "kind" => kind).increment(1);
}

/// Ometria data-deletion requests not reported completed yet.
pub fn erasures_open(n: usize) {
    metrics::gauge!(ERASURES_OPEN).set(n as f64);
}

pub fn event_parked(shop: &str, reason: ParkReason) {
    metrics::counter!(EVENTS_PARKED, "shop" => shop.to_owned(), "reason" => reason.as_str())
        .increment(1);
}

/// An abandonment check decided although the input before its due time was
/// not known to be settled: deferred the longest allowed.
pub fn abandonment_check_overdue() {
    metrics::counter!(ABANDONMENT_CHECKS_OVERDUE).increment(1);
}

/// An ack that found its channel gone (the broker redelivers).
pub fn ack_lost() {
    metrics::counter!(ACKS_LOST).increment(1);
}

/// One push request; `status` is the HTTP status or `error`.
pub fn ometria_request(
    record_type: &'static str,
    status: &'static str,
    seconds: f64,
    records: usize,
) {
    metrics::counter!(OMETRIA_REQUESTS, "type" => record_type, "status" => status).increment(1);
    metrics::histogram!(OMETRIA_REQUEST_DURATION, "type" => record_type).record(seconds);
    metrics::histogram!(OMETRIA_RECORDS_PER_REQUEST, "type" => record_type).record(records as f64);
}

pub fn records_coalesced(n: usize) {
    metrics::counter!(OMETRIA_RECORDS_COALESCED).increment(n as u64);
}

/// Time one push waited on the client-side rate limiter.
pub fn rate_limit_wait(seconds: f64) {
    metrics::histogram!(OMETRIA_RATE_LIMIT_WAIT).record(seconds);
}

/// From `X-Shopify-Triggered-At` (else receipt) to Ometria's acceptance.
pub fn end_to_end_lag(seconds: f64) {
    metrics::histogram!(END_TO_END_LAG).record(seconds);
}

pub fn batch_duration(seconds: f64) {
    metrics::histogram!(BATCH_DURATION).record(seconds);
}

// Operator actions.
pub const DEAD_LETTERS_REPLAYED: &str = "so_dead_letters_replayed_total";
pub const DEAD_LETTERS_PURGED: &str = "so_dead_letters_purged_total";

/// Messages moved back to the work queues from `queue` (`dead_letter` or `parked`).
pub fn dead_letters_replayed(queue: &'static str, n: u64) {
    metrics::counter!(DEAD_LETTERS_REPLAYED, "queue" => queue).increment(n);
}

/// Rows of the dead-letter index for `queue` (`dead_letter`, `parked`); set
/// by the indexer. Drift: this against `so_queue_messages` of that queue.
pub const LETTER_INDEX_ROWS: &str = "so_letter_index_rows";

pub fn letter_index_rows(queue: &'static str, rows: u64) {
    metrics::gauge!(LETTER_INDEX_ROWS, "queue" => queue).set(rows as f64);
}

/// Messages removed for good from `queue`.
pub fn dead_letters_purged(queue: &'static str, n: u64) {
    metrics::counter!(DEAD_LETTERS_PURGED, "queue" => queue).increment(n);
}

/// `n` consent write-back decisions of one kind (`n = 0` declares the series,
/// so a rate over it is defined before the first unsubscribe).
pub fn consent_decisions(decision: &'static str, reason: &'static str, n: u64) {
    metrics::counter!(CONSENT_DECISIONS, "decision" => decision, "reason" => reason).increment(n);
}

/// What the last reconciliation of `shop` found drifted, of one kind.
pub fn reconcile_drift(shop: &str, kind: &'static str, count: usize) {
    metrics::gauge!(RECONCILE_DRIFT, "shop" => shop.to_owned(), "kind" => kind).set(count as f64);
}

/// When `shop` was last reconciled (Unix seconds).
pub fn reconcile_ran(shop: &str, unix_secs: i64) {
    metrics::gauge!(RECONCILE_LAST_RUN, "shop" => shop.to_owned()).set(unix_secs as f64);
}

// Ometria's asynchronous validation (the worker's rejection watcher).
pub const OMETRIA_RECORDS_REJECTED: &str = "so_ometria_records_rejected_total";
pub const OMETRIA_REJECTIONS_UNATTRIBUTED: &str = "so_ometria_rejections_unattributed_total";
pub const OMETRIA_ERRORS_POLLS: &str = "so_ometria_errors_polls_total";

/// One record Ometria listed in `_errors` after accepting its push, tied to
/// `shop` through the push journal. `record_type` is Ometria's `@type`.
pub fn ometria_record_rejected(shop: &str, record_type: &'static str) {
    metrics::counter!(OMETRIA_RECORDS_REJECTED, "shop" => shop.to_owned(), "record_type" => record_type)
        .increment(1);
}

/// One `_errors` item that could not be tied to a record: `reason` is
/// `no_request_id` (the documented shape, no single candidate),
/// `unknown_request` (a push no journal remembers) or `unknown_record`.
pub fn ometria_rejection_unattributed(reason: &'static str) {
    metrics::counter!(OMETRIA_REJECTIONS_UNATTRIBUTED, "reason" => reason).increment(1);
}

/// One read of `_errors` by the watcher: `ok` or `error`.
pub fn ometria_errors_polled(result: &'static str) {
    metrics::counter!(OMETRIA_ERRORS_POLLS, "result" => result).increment(1);
}

// Admin API access of a shop refused (every kind of grant).
pub const SHOP_ACCESS_REFUSED: &str = "so_shop_access_refused";

/// Whether Shopify refuses `shop`'s Admin API credentials now (1) or not
/// (0); `kind` is `static_token`, `client_credentials` or `oauth`.
pub fn shop_access_refused(shop: &str, kind: &'static str, refused: bool) {
    metrics::gauge!(SHOP_ACCESS_REFUSED, "shop" => shop.to_owned(), "kind" => kind)
        .set(if refused { 1.0 } else { 0.0 });
}
