//! Metric names (one place) and the Prometheus recorder.
//!
//! Names follow Prometheus conventions: `so_` prefix, `_total` for counters,
//! base units (`_seconds`). Label values are bounded codes (topics, reason
//! codes, queue names), never raw messages or ids.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const WEBHOOKS_RECEIVED: &str = "so_webhooks_received_total";
pub const WEBHOOKS_ACCEPTED: &str = "so_webhooks_accepted_total";
pub const WEBHOOKS_REJECTED: &str = "so_webhooks_rejected_total";
pub const WEBHOOK_DURATION: &str = "so_webhook_duration_seconds";
pub const PUBLISH_CONFIRM_DURATION: &str = "so_publish_confirm_duration_seconds";
pub const PUBLISH_FAILURES: &str = "so_publish_failures_total";
pub const BROKER_UP: &str = "so_broker_up";
pub const QUEUE_MESSAGES: &str = "so_queue_messages";
pub const QUEUE_CONSUMERS: &str = "so_queue_consumers";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (idempotent) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already global (an embedding test
                // harness): keep a private one so /metrics still renders.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
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
