//! What the jobs keep for a shop's status (`shops show`): the last
//! `webhooks check|sync` (when, in order or not, the kind of subscriptions,
//! the count of each state), the consent write-back's last run and the
//! reconciliation's last drift (`sync_state` values as JSON).

use std::collections::BTreeMap;

use chrono::Utc;
use so_domain::ShopDomain;
use so_store::{Store, WebhookCheck};

use crate::SyncError;
use crate::consent::ConsentReport;
use crate::reconcile::{DRIFT_KINDS, Drift};
use crate::webhooks::ShopReport;

/// The `sync_state` names `shops show` reads.
pub const CONSENT_LAST_RUN: &str = "consent_last_run";
pub const RECONCILE_DRIFT: &str = "reconcile_drift";

/// What the shop's status keeps of `report`.
pub fn check_of(report: &ShopReport) -> WebhookCheck {
    WebhookCheck {
        checked_at: Utc::now(),
        in_order: !report.has_drift(),
        kind: report.kind.as_str().to_owned(),
        states: report
            .state_counts()
            .into_iter()
            .map(|(state, n)| (state.to_owned(), n))
            .collect(),
    }
}

/// Saves `report` as the shop's last check. Bookkeeping: a store error is
/// logged, never fails the run whose subscriptions are already in place.
pub async fn save(store: &Store, report: &ShopReport) {
    if let Err(e) = store
        .save_webhook_check(&report.shop, &check_of(report))
        .await
    {
        tracing::warn!(shop = %report.shop, error = %e, "Cannot keep the webhook check's result; the shop's status shows the one before.");
    }
}

/// Keeps the write-back run `report` (window, read, sent, skipped by reason).
pub async fn keep_consent_run(
    store: &Store,
    shop: &ShopDomain,
    report: &ConsentReport,
) -> Result<(), SyncError> {
    let mut run = serde_json::to_value(report).unwrap_or_default();
    run["finished_at"] = serde_json::json!(Utc::now().to_rfc3339());
    store
        .set_sync_value(shop, CONSENT_LAST_RUN, &run.to_string())
        .await?;
    Ok(())
}

/// Keeps a reconciliation's drift: the total, the count of each kind (every
/// kind, 0 included) and how many were re-sent.
pub async fn keep_drift(
    store: &Store,
    shop: &ShopDomain,
    drift: &[Drift],
    repaired: u64,
) -> Result<(), SyncError> {
    let by_kind: BTreeMap<&str, usize> = DRIFT_KINDS
        .iter()
        .map(|k| (*k, drift.iter().filter(|d| d.kind == *k).count()))
        .collect();
    let kept = serde_json::json!({
        "at": Utc::now().to_rfc3339(),
        "total": drift.len(),
        "by_kind": by_kind,
        "repaired": repaired,
    });
    store
        .set_sync_value(shop, RECONCILE_DRIFT, &kept.to_string())
        .await?;
    Ok(())
}
