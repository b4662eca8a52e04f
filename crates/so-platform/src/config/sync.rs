//! `[sync]`: the jobs beside the webhooks (`so-sync`): consent write-back,
//! reconciliation, backfill.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use so_domain::serde_duration::secs;
use so_domain::time::parse_date_time;

/// `[sync]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    /// How often Ometria unsubscribes are written back to Shopify
    /// (`consent_interval_secs`; Ometria's own connector runs every five
    /// minutes).
    #[serde(rename = "consent_interval_secs", with = "secs")]
    pub consent_interval: Duration,
    /// Where a shop's first consent write-back starts reading Ometria
    /// unsubscribes (RFC 3339 or `YYYY-MM-DD`); without one, a day before
    /// the first run. Kept as written so a bad value is reported among the
    /// other problems ([`consent_start_at`](Self::consent_start_at) parses).
    pub consent_start: Option<String>,
    /// How often the reconciliation runs inside `run`
    /// (`reconcile_interval_secs`; zero: never).
    #[serde(rename = "reconcile_interval_secs", with = "secs")]
    pub reconcile_interval: Duration,
    /// The window a scheduled reconciliation compares, in days back from now.
    pub reconcile_window_days: u32,
    /// With the scheduled reconciliation, also re-sync what drifted.
    pub reconcile_repair: bool,
    /// Lines a backfill publishes between two checkpoints.
    pub backfill_checkpoint_every: u64,
    /// How often `run` checks and repairs each shop's webhook subscriptions
    /// (`webhooks_interval_secs`; zero: never).
    #[serde(rename = "webhooks_interval_secs", with = "secs")]
    pub webhooks_interval: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            consent_interval: Duration::from_secs(300),
            consent_start: None,
            reconcile_interval: Duration::from_secs(86_400),
            reconcile_window_days: 2,
            reconcile_repair: true,
            backfill_checkpoint_every: 500,
            webhooks_interval: Duration::from_secs(86_400),
        }
    }
}

impl SyncSettings {
    /// `consent_start` as an instant.
    pub fn consent_start_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
        self.consent_start
            .as_deref()
            .map(parse_date_time)
            .transpose()
            .map_err(|e| format!("sync.consent_start: {e}"))
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(10..=86_400).contains(&self.consent_interval.as_secs()) {
            out.push("sync.consent_interval_secs must be 10..=86400".to_owned());
        }
        if let Err(e) = self.consent_start_at() {
            out.push(e);
        }
        if !self.reconcile_interval.is_zero() && self.reconcile_interval.as_secs() < 60 {
            out.push("sync.reconcile_interval_secs must be 0 (off) or at least 60".to_owned());
        }
        if !(1..=365).contains(&self.reconcile_window_days) {
            out.push("sync.reconcile_window_days must be 1..=365".to_owned());
        }
        if !self.webhooks_interval.is_zero() && self.webhooks_interval.as_secs() < 60 {
            out.push("sync.webhooks_interval_secs must be 0 (off) or at least 60".to_owned());
        }
        if !(1..=1_000_000).contains(&self.backfill_checkpoint_every) {
            out.push("sync.backfill_checkpoint_every must be 1..=1000000".to_owned());
        }
        out
    }
}
