//! The Shop page's activity log: what `ShopOps::activity` merged, newest first, each time in
//! the shop's time zone as the rest of the page writes it.

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use so_ops::shops::ShopActivityLog;

/// Entries of each kind read for the log.
pub(crate) const SHOWN: u32 = 20;

pub(crate) fn section(
    log: &ShopActivityLog,
    at: &dyn Fn(Option<DateTime<Utc>>) -> String,
) -> Markup {
    html! {
        section.card id="activity" {
            h2 { "Activity" }
            p.subdued {
                "The last " (SHOWN) " of each kind, newest first: webhooks received (within the dedupe window), "
                "the last push to Ometria, profile sends, consent write-back, reconciliation and rejections."
            }
            @if log.entries.is_empty() {
                p.subdued { "Nothing recorded yet." }
            } @else {
                ol.history.activity {
                    @for e in &log.entries {
                        li data-kind=(e.kind) {
                            span.at { (at(Some(e.at))) } " "
                            span.badge { (label(e.kind)) } " "
                            span.summary { (e.summary) }
                        }
                    }
                }
            }
        }
    }
}

fn label(kind: &str) -> &'static str {
    match kind {
        "webhook" => "Webhook",
        "push" => "Push",
        "profile_send" => "Profile send",
        "consent_decision" => "Consent",
        "consent_run" => "Consent run",
        "reconciliation" => "Reconciliation",
        "rejection" => "Rejection",
        _ => "Other",
    }
}
