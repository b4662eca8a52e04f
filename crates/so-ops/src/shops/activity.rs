//! A shop's activity log: the newest webhooks taken in, the last push Ometria accepted,
//! profile sends, consent write-back decisions and runs, the last reconciliation's drift and
//! Ometria's rejections, merged newest first, each time also in the shop's time zone. Read
//! from what the store already keeps (nothing is written for the log); no payload and no
//! customer data: webhook ids and topics, counts, reasons (rejections' are masked).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use so_domain::ShopDomain;
use so_platform::ShopSettings;
use so_store::{ConsentDecision, ProfileSendRow, Store};

use super::ShopOps;
use super::detail::json_value;
use crate::OpsError;

/// What `GET /admin/shops/{shop}/activity` and the console's Shop page show.
#[derive(Debug, Clone, Serialize)]
pub struct ShopActivityLog {
    pub shop: String,
    /// The shop's IANA time zone: the `at_local` times are in it.
    pub timezone: String,
    /// Newest first: at most `limit` of each kind.
    pub entries: Vec<ActivityEntry>,
}

/// One line of the log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActivityEntry {
    pub at: DateTime<Utc>,
    pub at_local: String,
    /// `webhook`, `push`, `profile_send`, `consent_decision`, `consent_run`,
    /// `reconciliation` or `rejection`.
    pub kind: &'static str,
    /// What happened, in a line.
    pub summary: String,
}

/// The log's kinds, for readers that group by them.
pub const ACTIVITY_KINDS: [&str; 7] = [
    "webhook",
    "push",
    "profile_send",
    "consent_decision",
    "consent_run",
    "reconciliation",
    "rejection",
];

impl ShopOps {
    /// The last `limit` entries of each kind of `shop`'s activity, merged newest first.
    pub async fn activity(&self, shop: &str, limit: u32) -> Result<ShopActivityLog, OpsError> {
        let (domain, settings) = self.settings(shop).await?;
        let store = self.queue.store();
        let mut raw = Vec::new();
        raw.extend(webhooks(store, &domain, limit).await?);
        if let Some(at) = store.last_push_accepted(&domain).await? {
            raw.push((
                at,
                "push",
                "Ometria accepted a push (the last one)".to_owned(),
            ));
        }
        raw.extend(
            store
                .recent_profile_sends(&domain, limit)
                .await?
                .iter()
                .map(send),
        );
        raw.extend(
            store
                .consent_decisions(&domain, limit)
                .await?
                .iter()
                .map(decision),
        );
        raw.extend(consent_run(
            &json_value(store, &domain, "consent_last_run").await?,
        ));
        raw.extend(drift(&json_value(store, &domain, "reconcile_drift").await?));
        raw.extend(
            store
                .recent_rejections(&domain, limit)
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.rejected_at,
                        "rejection",
                        format!("Ometria rejected a record: {}", r.reason),
                    )
                }),
        );
        Ok(ShopActivityLog {
            shop: domain.to_string(),
            timezone: settings.time_zone().to_string(),
            entries: merged(raw, &settings),
        })
    }
}

/// The id prefix of the events a backfill or profile send synthesizes: not webhooks Shopify
/// sent, so not in the log's webhooks.
pub use so_domain::webhook::SYNTHESIZED_ID_PREFIX;

type Raw = (DateTime<Utc>, &'static str, String);

/// Newest first; equal times keep the order of [`ACTIVITY_KINDS`] (a stable sort).
fn merged(mut raw: Vec<Raw>, settings: &ShopSettings) -> Vec<ActivityEntry> {
    raw.sort_by_key(|r| std::cmp::Reverse(r.0));
    raw.into_iter()
        .map(|(at, kind, summary)| ActivityEntry {
            at,
            at_local: settings.local_time(at),
            kind,
            summary,
        })
        .collect()
}

async fn webhooks(store: &Store, shop: &ShopDomain, limit: u32) -> Result<Vec<Raw>, OpsError> {
    Ok(store
        .recent_webhooks(shop, limit, SYNTHESIZED_ID_PREFIX)
        .await?
        .into_iter()
        .map(|w| {
            let line = format!("{} received, id {}", w.topic, w.webhook_id);
            (w.seen_at, "webhook", line)
        })
        .collect())
}

/// A send is shown at its end, or at its start while it runs.
fn send(s: &ProfileSendRow) -> Raw {
    let kind = if s.kind == "auto" {
        "Automatic"
    } else {
        "On-demand"
    };
    let line = format!(
        "{kind} profile send {}: {} customers read, {} matched, {} sent",
        s.outcome, s.counts.read, s.counts.matched, s.counts.published
    );
    (s.finished_at.unwrap_or(s.started_at), "profile_send", line)
}

fn decision(d: &ConsentDecision) -> Raw {
    let line = if d.reason.is_empty() {
        format!("Consent write-back: unsubscribe {}", d.decision)
    } else {
        format!(
            "Consent write-back: unsubscribe {} ({})",
            d.decision, d.reason
        )
    };
    (d.decided_at, "consent_decision", line)
}

/// The write-back's last run (`consent_last_run`): read, sent, skipped by reason.
fn consent_run(run: &Option<Value>) -> Option<Raw> {
    let run = run.as_ref()?;
    let at = time(run.get("finished_at")?)?;
    let skipped = by_kind(run.get("skipped"));
    let line = format!(
        "Consent write-back run: {} unsubscribes read, {} written to Shopify, skipped: {}",
        count(run.get("read")),
        count(run.get("sent")),
        skipped
    );
    Some((at, "consent_run", line))
}

/// The last reconciliation's drift (`reconcile_drift`): total, by kind, repaired.
fn drift(kept: &Option<Value>) -> Option<Raw> {
    let kept = kept.as_ref()?;
    let at = time(kept.get("at")?)?;
    let line = format!(
        "Reconciliation: {} drifted ({}), {} re-sent",
        count(kept.get("total")),
        by_kind(kept.get("by_kind")),
        count(kept.get("repaired"))
    );
    Some((at, "reconciliation", line))
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn count(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or_default()
}

/// `{"a": 1, "b": 0}` as `a 1, b 0`; `none` when empty.
fn by_kind(v: Option<&Value>) -> String {
    let parts: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, n)| format!("{k} {n}")).collect())
        .unwrap_or_default();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_jobs_records_read_as_lines_and_bad_ones_are_left_out() {
        let run = json!({"finished_at": "2026-01-02T03:04:05Z", "read": 3, "sent": 1,
            "skipped": {"resubscribed_in_ometria": 2}});
        let (at, kind, line) = consent_run(&Some(run)).unwrap();
        assert_eq!(
            (at.to_rfc3339(), kind),
            ("2026-01-02T03:04:05+00:00".to_owned(), "consent_run")
        );
        assert!(
            line.contains(
                "3 unsubscribes read, 1 written to Shopify, skipped: resubscribed_in_ometria 2"
            ),
            "{line}"
        );
        let kept = json!({"at": "2026-01-02T03:04:05Z", "total": 2, "by_kind": {"missing": 2}, "repaired": 1});
        let (_, _, line) = drift(&Some(kept)).unwrap();
        assert_eq!(line, "Reconciliation: 2 drifted (missing 2), 1 re-sent");
        assert_eq!(drift(&Some(json!({"at": "yesterday"}))), None);
        assert_eq!(consent_run(&None), None);
    }

    #[test]
    fn entries_are_merged_newest_first_in_the_shops_zone() {
        let settings = ShopSettings {
            timezone: Some("Europe/Paris".to_owned()),
            ..ShopSettings::default()
        };
        let t = |h| {
            DateTime::parse_from_rfc3339(&format!("2026-07-01T{h:02}:00:00Z"))
                .unwrap()
                .with_timezone(&Utc)
        };
        let raw = vec![
            (t(8), "webhook", "a".to_owned()),
            (t(10), "push", "b".to_owned()),
        ];
        let got = merged(raw, &settings);
        assert_eq!(got[0].kind, "push");
        assert_eq!(got[0].at_local, "2026-07-01 12:00:00 CEST (Europe/Paris)");
        assert_eq!(got[1].kind, "webhook");
    }
}
