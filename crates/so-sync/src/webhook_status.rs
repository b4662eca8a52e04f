//! Keeps the result of a `webhooks check|sync` run for the shop's status
//! (`shops show`): when, in order or not, the kind of subscriptions and the
//! count of each state. Called after a run by whoever holds the store.

use chrono::Utc;
use so_store::{Store, WebhookCheck};

use crate::webhooks::ShopReport;

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
