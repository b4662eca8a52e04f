//! `[rejections]`: the watcher of Ometria's asynchronous validation errors
//! (`GET /v2/push/_errors`), one per Ometria account in every worker.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use so_domain::serde_duration::secs;

/// `[rejections]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RejectionSettings {
    /// Read `_errors` at least this often (`poll_secs`), pushes or not.
    /// A read takes a slot of the account's budget only when no push is
    /// waiting for it; under a sustained backlog it waits at most this long
    /// for one, then takes the next slot anyway.
    #[serde(rename = "poll_secs", with = "secs")]
    pub poll: Duration,
    /// After a push, read `_errors` again this soon (`after_push_secs`), so a
    /// refusal shows within seconds; a poll is also at most this frequent.
    /// This read yields to pushes as well, so under a backlog it can come
    /// up to `poll_secs` later.
    #[serde(rename = "after_push_secs", with = "secs")]
    pub after_push: Duration,
    /// How long a push is remembered (request id, records, the events
    /// behind them and their bodies) to tie a later error to its events
    /// (`journal_secs`). An error about an older push is counted as
    /// unattributed.
    #[serde(rename = "journal_secs", with = "secs")]
    pub journal: Duration,
    /// The journal of one account holds at most this many MiB, everything
    /// counted: request and record ids, field paths (as hashes), the
    /// events' metadata and their message bodies (compressed, each once);
    /// the oldest pushes go first (`journal_max_mib`). At about 1.6 KiB per
    /// order event, the default 16 keeps some 10,000 events: minutes of
    /// pushes at Ometria's 4 requests/s, while adding at most 16 MiB per
    /// account to a worker's memory.
    pub journal_max_mib: usize,
    /// Seen-error fingerprints are kept this many days in the store
    /// (`seen_retention_days`).
    pub seen_retention_days: u32,
}

impl Default for RejectionSettings {
    fn default() -> Self {
        RejectionSettings {
            poll: Duration::from_secs(30),
            after_push: Duration::from_secs(5),
            journal: Duration::from_secs(15 * 60),
            journal_max_mib: 16,
            seen_retention_days: 30,
        }
    }
}

impl RejectionSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=3600).contains(&self.poll.as_secs()) {
            out.push("rejections.poll_secs must be between 1 and 3600".to_owned());
        }
        if self.after_push.is_zero() || self.after_push > self.poll {
            out.push(
                "rejections.after_push_secs must be at least 1 and at most rejections.poll_secs"
                    .to_owned(),
            );
        }
        if self.journal < self.poll * 2 || self.journal > Duration::from_secs(24 * 3600) {
            out.push("rejections.journal_secs must be at least twice rejections.poll_secs and at most 86400".to_owned());
        }
        if !(1..=4096).contains(&self.journal_max_mib) {
            out.push("rejections.journal_max_mib must be between 1 and 4096".to_owned());
        }
        if !(1..=365).contains(&self.seen_retention_days) {
            out.push("rejections.seen_retention_days must be between 1 and 365".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert!(RejectionSettings::default().problems().is_empty());
        let bad = RejectionSettings {
            poll: Duration::ZERO,
            after_push: Duration::from_secs(60),
            journal: Duration::from_secs(100_000),
            journal_max_mib: 0,
            seen_retention_days: 0,
        };
        let problems = bad.problems().join("\n");
        for key in [
            "rejections.poll_secs",
            "rejections.after_push_secs",
            "rejections.journal_secs",
            "rejections.journal_max_mib",
            "rejections.seen_retention_days",
        ] {
            assert!(problems.contains(key), "{key} in {problems}");
        }
    }
}
