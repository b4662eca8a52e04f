//! The `[amqp]` configuration section. `Serialize` writes it back with the
//! URL's password masked, for `check-config`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// RabbitMQ connection and topology settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpSettings {
    /// AMQP URI, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`. Secret: it may
    /// carry a password. A `heartbeat` query parameter is added when absent.
    #[serde(serialize_with = "so_domain::serde_secret::masked_url")]
    pub url: SecretString,
    /// Prefix of every exchange and queue the service declares, so several
    /// deployments or test runs share one broker safely.
    pub prefix: String,
    /// Number of work partitions. One entity's events always land in the same
    /// partition; each partition has one active consumer. Changing it moves
    /// keys between partitions, so ordering is only guaranteed after a drain.
    pub partitions: u16,
    /// Channels the ingress publishes on, round-robin. More channels spread
    /// confirm bookkeeping; a handful is enough on a small machine.
    pub publisher_channels: u16,
    /// How long a publish may wait for the broker's confirm before the
    /// webhook is answered 503 (Shopify allows 5 s for the whole request).
    pub confirm_timeout_ms: u64,
    /// AMQP heartbeat in seconds; detects a silently dead broker connection.
    pub heartbeat_secs: u16,
    /// Guard against unbounded growth: a work queue refuses publishes beyond
    /// this many messages (`x-overflow=reject-publish`), which the ingress
    /// turns into a 503 so Shopify retries later.
    pub max_queue_length: u32,
    /// Quorum-queue delivery limit: a message redelivered this many times
    /// (e.g. because it crashes the worker) is dead-lettered.
    pub delivery_limit: u32,
    /// Delays of the broker retry tiers, in seconds, shortest first.
    pub retry_tiers_secs: Vec<u64>,
    /// Reconnect backoff bounds, in milliseconds.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// Delays of scheduled checks (abandoned checkouts), in seconds. Not a
    /// setting of its own: the configuration fills it from the shops'
    /// `abandoned_checkouts.delay_secs`, and each gets a delay queue.
    #[serde(skip)]
    pub scheduled_delays_secs: Vec<u64>,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        AmqpSettings {
            url: SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f"),
            prefix: "so".to_owned(),
            partitions: 8,
            publisher_channels: 4,
            confirm_timeout_ms: 3_000,
            heartbeat_secs: 10,
            max_queue_length: 5_000_000,
            delivery_limit: 20,
            retry_tiers_secs: vec![5, 30, 120, 600, 3_600],
            reconnect_min_ms: 100,
            reconnect_max_ms: 5_000,
            scheduled_delays_secs: Vec::new(),
        }
    }
}

impl AmqpSettings {
    /// Problems with these settings, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let url = self.url.expose_secret();
        if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
            out.push("amqp.url must start with amqp:// or amqps://".to_owned());
        }
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.len() <= 64
            && self
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !prefix_ok {
            out.push(
                "amqp.prefix must be 1-64 characters of letters, digits, '-', '_' or '.'"
                    .to_owned(),
            );
        }
        if !(1..=256).contains(&self.partitions) {
            out.push("amqp.partitions must be 1..=256".to_owned());
        }
        if !(1..=64).contains(&self.publisher_channels) {
            out.push("amqp.publisher_channels must be 1..=64".to_owned());
        }
        if !(100..=4_500).contains(&self.confirm_timeout_ms) {
            out.push("amqp.confirm_timeout_ms must be 100..=4500 (Shopify waits 5 s)".to_owned());
        }
        if self.delivery_limit == 0 {
            out.push("amqp.delivery_limit must be at least 1".to_owned());
        }
        if self.retry_tiers_secs.is_empty() || self.retry_tiers_secs.contains(&0) {
            out.push("amqp.retry_tiers_secs must list at least one delay, each > 0".to_owned());
        } else if self.retry_tiers_secs.windows(2).any(|w| w[0] >= w[1]) {
            out.push("amqp.retry_tiers_secs must be strictly increasing".to_owned());
        }
        if self.reconnect_min_ms == 0 || self.reconnect_min_ms > self.reconnect_max_ms {
            out.push("amqp.reconnect_min_ms must be > 0 and <= amqp.reconnect_max_ms".to_owned());
        }
        out
    }

    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms)
    }

    /// The URI lapin connects to, with the configured heartbeat.
    pub(crate) fn connect_uri(&self) -> String {
        let url = self.url.expose_secret();
        if url.contains("heartbeat=") {
            url.to_owned()
        } else {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}heartbeat={}", self.heartbeat_secs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(AmqpSettings::default().problems().is_empty());
    }

    #[test]
    fn heartbeat_is_appended_once() {
        let s = AmqpSettings::default();
        assert!(s.connect_uri().ends_with("/%2f?heartbeat=10"));
        let s = AmqpSettings {
            url: "amqp://h/%2f?heartbeat=3".into(),
            ..AmqpSettings::default()
        };
        assert_eq!(s.connect_uri(), "amqp://h/%2f?heartbeat=3");
    }

    #[test]
    fn problems_name_the_key() {
        let s = AmqpSettings {
            partitions: 0,
            prefix: "a b".into(),
            ..AmqpSettings::default()
        };
        let p = s.problems().join("\n");
        assert!(p.contains("amqp.partitions"));
        assert!(p.contains("amqp.prefix"));
    }
}
