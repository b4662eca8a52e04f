//! The `[amqp]` configuration section. `Serialize` writes it back with the
//! URL's password masked, for `check-config`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// `amqp.url` when nothing is configured: the machine's own broker.
const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// RabbitMQ connection and topology settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpSettings {
    /// AMQP URI, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`. Secret: it may
    /// carry a password. A `heartbeat` query parameter is added when absent.
    /// The one broker address when `urls` is empty.
    #[serde(serialize_with = "so_domain::serde_secret::masked_url")]
    pub url: SecretString,
    /// The addresses of a cluster's nodes, tried in turn on every connect
    /// and reconnect (starting after the node last used, which may be the
    /// one that went away). A TOML array, or one comma-separated string
    /// (`SO_AMQP__URLS`). When given it replaces `url`: set one of the two.
    #[serde(
        deserialize_with = "crate::addresses::deserialize",
        serialize_with = "crate::addresses::serialize_masked"
    )]
    pub urls: Vec<SecretString>,
    /// How long opening a connection to one address may take before the
    /// next address is tried (a silently dead host does not refuse).
    pub connect_timeout_ms: u64,
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
            url: SecretString::from(DEFAULT_URL),
            urls: Vec::new(),
            connect_timeout_ms: 5_000,
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
        let mut out = self.address_problems();
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
        if !(100..=60_000).contains(&self.connect_timeout_ms) {
            out.push("amqp.connect_timeout_ms must be 100..=60000".to_owned());
        }
        out
    }

    /// `amqp.url` / `amqp.urls`: each a valid scheme, and not both given.
    fn address_problems(&self) -> Vec<String> {
        let scheme_ok = |u: &SecretString| {
            let u = u.expose_secret();
            u.starts_with("amqp://") || u.starts_with("amqps://")
        };
        let mut out = Vec::new();
        if self.urls.is_empty() {
            if !scheme_ok(&self.url) {
                out.push("amqp.url must start with amqp:// or amqps://".to_owned());
            }
            return out;
        }
        // `url` always has a value (its default), so "both set" can only be
        // told apart from "url left alone" by comparing with the default.
        if self.url.expose_secret() != DEFAULT_URL {
            out.push(
                "amqp.url and amqp.urls are both set: list every broker address in amqp.urls"
                    .to_owned(),
            );
        }
        for (i, url) in self.urls.iter().enumerate() {
            if !scheme_ok(url) {
                out.push(format!(
                    "amqp.urls[{i}] must start with amqp:// or amqps://"
                ));
            }
        }
        out
    }

    /// The broker addresses in the order they are tried: `urls`, or `url`.
    pub fn addresses(&self) -> Vec<&SecretString> {
        if self.urls.is_empty() {
            vec![&self.url]
        } else {
            self.urls.iter().collect()
        }
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms)
    }

    /// The URIs lapin connects to, in order, with the configured heartbeat.
    pub(crate) fn connect_uris(&self) -> Vec<String> {
        self.addresses()
            .into_iter()
            .map(|url| self.with_heartbeat(url.expose_secret()))
            .collect()
    }

    fn with_heartbeat(&self, url: &str) -> String {
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
        assert_eq!(s.connect_uris().len(), 1);
        assert!(s.connect_uris()[0].ends_with("/%2f?heartbeat=10"));
        let s = AmqpSettings {
            url: "amqp://h/%2f?heartbeat=3".into(),
            ..AmqpSettings::default()
        };
        assert_eq!(s.connect_uris(), ["amqp://h/%2f?heartbeat=3"]);
    }

    #[test]
    fn a_list_replaces_the_single_url_in_its_order() {
        let s = AmqpSettings {
            urls: vec!["amqp://a/%2f".into(), "amqp://b/%2f?x=1".into()],
            ..AmqpSettings::default()
        };
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert_eq!(
            s.connect_uris(),
            ["amqp://a/%2f?heartbeat=10", "amqp://b/%2f?x=1&heartbeat=10"]
        );
    }

    #[test]
    fn list_problems_name_the_setting_and_the_entry() {
        let s = AmqpSettings {
            url: "amqp://elsewhere/%2f".into(),
            urls: vec!["amqp://a/%2f".into(), "http://b".into()],
            ..AmqpSettings::default()
        };
        let p = s.problems().join("\n");
        assert!(p.contains("amqp.url and amqp.urls are both set"), "{p}");
        assert!(p.contains("amqp.urls[1] must start with amqp://"), "{p}");
        assert!(!p.contains("amqp.urls[0]"), "{p}");
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
