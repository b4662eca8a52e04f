//! The `[ometria]` configuration section, owned by this adapter.
//!
//! Durations are written in milliseconds in the file (`*_ms` keys) and become
//! [`Duration`]s at this boundary ([`so_domain::serde_duration`]), so nothing
//! downstream juggles units. `Serialize` writes the same keys back, the API
//! key masked, for `check-config`.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use so_domain::ometria::MAX_RECORDS_PER_REQUEST;
use so_domain::serde_duration::millis;

/// Settings for the Ometria Data API client.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OmetriaSettings {
    /// Base URL of the Data API, without the `/v2` suffix. Point it at the fake
    /// (`so-fake-ometria`) in tests and local demos.
    pub api_url: String,
    /// Account API key sent as `X-Ometria-Auth`. Optional so a config can load
    /// without it (local runs, tests); building a [`crate::Client`] requires it.
    #[serde(serialize_with = "so_domain::serde_secret::masked_opt")]
    pub api_key: Option<SecretString>,
    /// Client-side request budget per second, shared by every user of one
    /// `Client`. Ometria documents 4 req/s per account (8 in newer docs), so the
    /// conservative 4 keeps us clear of 429s.
    pub requests_per_second: f64,
    /// Budget of `POST /v2/merge-profile` (Ometria documents one per minute).
    pub merge_requests_per_minute: f64,
    /// Budget of `POST /v2/data-deletion-requests`, the GDPR API (Ometria
    /// documents six per minute).
    pub gdpr_requests_per_minute: f64,
    /// Timeout for one HTTP request, connect to last body byte. `backoff` has no
    /// per-attempt timeout, so this is the only thing bounding a hung attempt.
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Most records per push request; Ometria's limit is 100. Lower it to keep
    /// requests small when records are large.
    pub batch_max_records: usize,
    /// When Ometria's `X-QueueSize-Remaining` falls below this, the client halves
    /// its request rate so the account's 50,000-record backlog can drain before
    /// Ometria starts answering 429.
    pub queue_low_watermark: u64,
    /// How long every caller pauses after a 429 that carries no `Retry-After`
    /// (Ometria documents none). Also the floor for pauses that do carry one.
    #[serde(rename = "rate_limit_pause_ms", with = "millis")]
    pub rate_limit_pause: Duration,
    /// Short in-process retries; longer waits belong to the broker retry tiers.
    pub retry: RetrySettings,
}

/// In-process retry schedule (exponential backoff with jitter).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Wait before the first retry.
    #[serde(rename = "initial_interval_ms", with = "millis")]
    pub initial_interval: Duration,
    /// Longest single wait, also the cap applied to a server's `Retry-After`.
    #[serde(rename = "max_interval_ms", with = "millis")]
    pub max_interval: Duration,
    /// Total time budget for one push including retries. Keep it well under the
    /// broker's consumer timeout: past it the caller re-queues to a retry tier.
    #[serde(rename = "max_elapsed_ms", with = "millis")]
    pub max_elapsed: Duration,
    /// Growth factor between consecutive waits.
    pub multiplier: f64,
}

impl Default for OmetriaSettings {
    fn default() -> Self {
        OmetriaSettings {
            api_url: "https://api.ometria.com".to_owned(),
            api_key: None,
            requests_per_second: 4.0,
            merge_requests_per_minute: 1.0,
            gdpr_requests_per_minute: 6.0,
            request_timeout: Duration::from_millis(10_000),
            batch_max_records: MAX_RECORDS_PER_REQUEST,
            queue_low_watermark: 5_000,
            rate_limit_pause: Duration::from_millis(1_000),
            retry: RetrySettings::default(),
        }
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_millis(5_000),
            max_elapsed: Duration::from_millis(20_000),
            multiplier: 2.0,
        }
    }
}

/// A setting that failed validation; the message names the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} must be {rule}")]
pub struct SettingsError {
    /// Fully qualified key, e.g. `ometria.batch_max_records`.
    pub key: &'static str,
    /// What the value must satisfy, e.g. `1..=100`.
    pub rule: String,
}

impl OmetriaSettings {
    /// What makes an Ometria account: its endpoint and key. Requests are
    /// counted per account, so settings with the same key share a budget.
    pub fn account_key(&self) -> (String, String) {
        use secrecy::ExposeSecret;
        (
            self.api_url.trim_end_matches('/').to_owned(),
            self.api_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned())
                .unwrap_or_default(),
        )
    }

    /// Checks every rule serde cannot express. The first failure is returned.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let url_ok = reqwest::Url::parse(&self.api_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        check(url_ok, "ometria.api_url", "an absolute http(s) URL")?;
        check(
            self.requests_per_second.is_finite() && self.requests_per_second > 0.0,
            "ometria.requests_per_second",
            "a positive number",
        )?;
        check(
            self.merge_requests_per_minute.is_finite() && self.merge_requests_per_minute > 0.0,
            "ometria.merge_requests_per_minute",
            "a positive number",
        )?;
        check(
            self.gdpr_requests_per_minute.is_finite() && self.gdpr_requests_per_minute > 0.0,
            "ometria.gdpr_requests_per_minute",
            "a positive number",
        )?;
        check(
            !self.request_timeout.is_zero(),
            "ometria.request_timeout_ms",
            "greater than 0",
        )?;
        check(
            (1..=MAX_RECORDS_PER_REQUEST).contains(&self.batch_max_records),
            "ometria.batch_max_records",
            &format!("1..={MAX_RECORDS_PER_REQUEST}"),
        )?;
        self.retry.validate()
    }
}

impl RetrySettings {
    fn validate(&self) -> Result<(), SettingsError> {
        check(
            !self.initial_interval.is_zero(),
            "ometria.retry.initial_interval_ms",
            "greater than 0",
        )?;
        check(
            self.max_interval >= self.initial_interval,
            "ometria.retry.max_interval_ms",
            "at least ometria.retry.initial_interval_ms",
        )?;
        check(
            self.max_elapsed >= self.initial_interval,
            "ometria.retry.max_elapsed_ms",
            "at least ometria.retry.initial_interval_ms",
        )?;
        check(
            self.multiplier.is_finite() && self.multiplier >= 1.0,
            "ometria.retry.multiplier",
            "a number >= 1.0",
        )
    }
}

fn check(ok: bool, key: &'static str, rule: &str) -> Result<(), SettingsError> {
    if ok {
        Ok(())
    } else {
        Err(SettingsError {
            key,
            rule: rule.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let s = OmetriaSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.api_url, "https://api.ometria.com");
        assert_eq!(s.requests_per_second, 4.0);
        assert_eq!(s.gdpr_requests_per_minute, 6.0);
        assert_eq!(s.request_timeout, Duration::from_secs(10));
        assert_eq!(s.batch_max_records, 100);
        assert_eq!(s.queue_low_watermark, 5_000);
        assert_eq!(s.retry.initial_interval, Duration::from_millis(200));
        assert_eq!(s.retry.max_interval, Duration::from_secs(5));
        assert_eq!(s.retry.max_elapsed, Duration::from_secs(20));
        assert_eq!(s.retry.multiplier, 2.0);
    }

    #[test]
    fn deserializes_partial_section_over_defaults() {
        let s: OmetriaSettings = serde_json::from_value(serde_json::json!({
            "api_key": "k-123",
            "request_timeout_ms": 250,
            "retry": { "max_elapsed_ms": 1000 }
        }))
        .unwrap();
        assert_eq!(s.request_timeout, Duration::from_millis(250));
        assert_eq!(s.retry.max_elapsed, Duration::from_secs(1));
        assert_eq!(s.retry.initial_interval, Duration::from_millis(200));
        assert_eq!(s.api_key.as_ref().map(|k| k.expose_secret()), Some("k-123"));
    }

    #[test]
    fn rejects_unknown_keys() {
        let r: Result<OmetriaSettings, _> =
            serde_json::from_value(serde_json::json!({ "batch_size": 10 }));
        assert!(r.is_err());
    }

    #[test]
    fn debug_output_redacts_the_api_key() {
        let s = OmetriaSettings {
            api_key: Some("very-secret".into()),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    #[test]
    fn serializes_the_written_keys_with_the_api_key_masked() {
        let s = OmetriaSettings {
            api_key: Some("very-secret-key-1234".into()),
            ..Default::default()
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["api_key"], "****1234");
        assert_eq!(json["request_timeout_ms"], 10_000);
        assert_eq!(json["retry"]["max_elapsed_ms"], 20_000);
        let back: OmetriaSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back.request_timeout, s.request_timeout);
    }

    #[test]
    fn validation_names_the_offending_key() {
        let s = OmetriaSettings {
            batch_max_records: 101,
            ..Default::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.to_string(), "ometria.batch_max_records must be 1..=100");

        let s = OmetriaSettings {
            batch_max_records: 0,
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap_err().key, "ometria.batch_max_records");

        let s = OmetriaSettings {
            api_url: "api.ometria.com".into(),
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap_err().key, "ometria.api_url");

        let mut s = OmetriaSettings::default();
        s.retry.multiplier = 0.5;
        assert_eq!(s.validate().unwrap_err().key, "ometria.retry.multiplier");

        let s = OmetriaSettings {
            requests_per_second: 0.0,
            ..Default::default()
        };
        assert_eq!(s.validate().unwrap_err().key, "ometria.requests_per_second");

        for bad in [0.0, -6.0, f64::NAN, f64::INFINITY] {
            let s = OmetriaSettings {
                gdpr_requests_per_minute: bad,
                ..Default::default()
            };
            assert_eq!(
                s.validate().unwrap_err().key,
                "ometria.gdpr_requests_per_minute"
            );
        }
    }

    #[test]
    fn gdpr_budget_is_configurable_and_defaults_for_old_configs() {
        let old: OmetriaSettings =
            serde_json::from_value(serde_json::json!({ "merge_requests_per_minute": 1.0 }))
                .unwrap();
        assert_eq!(old.gdpr_requests_per_minute, 6.0);
        let s: OmetriaSettings =
            serde_json::from_value(serde_json::json!({ "gdpr_requests_per_minute": 3 })).unwrap();
        assert_eq!(s.gdpr_requests_per_minute, 3.0);
    }
}
