//! Shop: its status as `shops show` gives it, the Enable sync toggle (pause and resume), its
//! activity log ([`super::activity`]) and its change history, times in the shop's time zone.

use maud::{Markup, html};
use so_ops::ShopStatus;
use so_ops::shops::{ShopActivityLog, ShopHistoryEntry};

use super::shops::state_badge;
use super::{Chrome, layout, local, or_dash};
use crate::auth::Viewer;

pub(crate) fn page(
    chrome: Chrome<'_>,
    s: &ShopStatus,
    activity: &ShopActivityLog,
    history: &[ShopHistoryEntry],
) -> Markup {
    let zone = s
        .detail
        .as_ref()
        .and_then(|d| so_platform::config::parse_timezone(&d.timezone).ok())
        .unwrap_or(chrono_tz::UTC);
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| or_dash(t.map(|t| local(t, zone)));
    html_page(chrome, s, activity, history, zone, &at)
}

fn html_page(
    chrome: Chrome<'_>,
    s: &ShopStatus,
    activity: &ShopActivityLog,
    history: &[ShopHistoryEntry],
    zone: chrono_tz::Tz,
    at: &dyn Fn(Option<chrono::DateTime<chrono::Utc>>) -> String,
) -> Markup {
    layout(
        chrome,
        &s.shop,
        html! {
            @if matches!(chrome.viewer, Some(Viewer::Ops { .. })) {
                p.breadcrumb { a href="/console/" { "Shops" } " / " }
            }
            h1 { (s.shop) " " (state_badge(s.paused)) }
            @let embedded = matches!(chrome.viewer, Some(Viewer::Embedded(_)));
            // Embedded, a plain link carries no ID token: console.js follows `data-bearer`
            // links with one.
            p {
                a id="data-sync" href=(format!("/console/shops/{}/sync", s.shop)) data-bearer[embedded] { "Data Sync (profile sends)" }
                " · "
                a id="field-mappings" href=(format!("/console/shops/{}/mappings", s.shop)) data-bearer[embedded] { "Field mappings" }
            }
            (toggle(chrome, s))
            section.card {
                h2 { "Status" }
                dl.facts {
                    dt { "Time zone" } dd id="timezone" { (zone) }
                    dt { "Managed in" } dd { (s.source) }
                    dt { "Version" } dd { (s.version) }
                    dt { "Admin API" } dd { (s.admin_access) }
                    dt { "Last change" } dd id="updated" {
                        (at(s.updated_at))
                        @if let Some(by) = &s.updated_by { " by " span.actor { (by) } }
                    }
                    @if let Some(d) = &s.detail {
                        dt { "Last webhook" } dd id="last-webhook" { (at(d.last_webhook_at)) }
                        dt { "Last push to Ometria" } dd id="last-push" { (at(d.last_push_at)) }
                        dt { "Webhook subscriptions" } dd id="subscriptions" { (subscriptions(d.subscriptions.as_ref())) }
                        dt { "Waiting (all shops)" } dd id="waiting" { (waiting(&d.waiting)) }
                        dt { "Parked events" } dd id="parked" { (d.parked) }
                        dt { "Dead letters" } dd id="dead-lettered" { (d.dead_lettered) }
                        dt { "Rejected by Ometria (24 h)" } dd id="rejections" {
                            (d.rejections_last_day.count)
                            @if let Some(r) = &d.rejections_last_day.latest_reason {
                                ", latest " (at(d.rejections_last_day.latest_at)) ": " span.reason { (r) }
                            }
                        }
                        dt { "Consent written back until" } dd { (or_dash(d.consent_written_back_until.clone())) }
                        dt { "Last consent write-back" } dd id="consent-run" { (json(d.consent_last_run.as_ref())) }
                        dt { "Last reconciliation" } dd { (or_dash(d.last_reconciliation_at.clone())) }
                        dt { "Reconciliation drift" } dd id="drift" { (json(d.reconciliation_drift.as_ref())) }
                        dt { "Last backfill" } dd { (or_dash(d.last_backfill_completed_at.clone())) }
                        dt { "Last profile send" } dd {
                            @match &d.last_profile_send {
                                Some(p) => {
                                    (p.kind) ", " (or_dash(p.finished_at_local.clone()))
                                    ": " (p.published) " of " (p.customers_read) " sent"
                                }
                                None => "—",
                            }
                        }
                        dt { "Next automatic send" } dd id="next-send" { (or_dash(d.next_profile_send_at_local.clone())) }
                        @if let Some(o) = &d.oauth {
                            dt { "App install" } dd {
                                (o.state) ", since " (o.installed_at_local)
                                @if let Some(r) = &o.refused_reason { " (" (r) ")" }
                            }
                        }
                    }
                }
            }
            (super::activity::section(activity, at))
            section.card {
                h2 { "History" }
                @if history.is_empty() {
                    p.subdued { "No change recorded." }
                } @else {
                    ol.history {
                        @for h in history {
                            li {
                                span.version { "v" (h.version) } " "
                                span { (at(Some(h.at))) } " by " span.actor { (h.actor) }
                                @if !h.changes.is_empty() {
                                    ul.changes {
                                        @for c in &h.changes {
                                            li { code { (c.key) } ": " (json(c.before.as_ref())) " → " (json(c.after.as_ref())) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Enable sync: a form that works with JavaScript off (ops: a CSRF-carrying post); embedded,
/// `data-bearer` makes console.js send it with an ID token instead.
fn toggle(chrome: Chrome<'_>, s: &ShopStatus) -> Markup {
    let (action, label) = if s.paused {
        ("resume", "Resume sync")
    } else {
        ("pause", "Pause sync")
    };
    let url = format!("/console/shops/{}/{action}", s.shop);
    html! {
        section.card.toggle {
            div {
                h2 { "Enable sync" }
                p.subdued {
                    @if s.paused {
                        "Off: events are parked, none is lost. Resuming sends them in order."
                    } @else {
                        "On: events go to Ometria as they arrive."
                    }
                }
            }
            form method="post" action=(url) data-bearer[matches!(chrome.viewer, Some(Viewer::Embedded(_)))] {
                @if let Some(Viewer::Ops { session, .. }) = chrome.viewer {
                    input type="hidden" name="csrf" value=(session.csrf);
                }
                label.switch {
                    span.track.on[!s.paused] {}
                    button type="submit" id="sync-toggle" class=(if s.paused { "primary" } else { "secondary" })
                        aria-pressed=(if s.paused { "false" } else { "true" }) { (label) }
                }
            }
        }
    }
}

fn json(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "—".to_owned(), ToString::to_string)
}

/// The last subscription check, in a line.
fn subscriptions(s: Option<&so_ops::shops::SubscriptionsStatus>) -> String {
    let Some(s) = s else {
        return "not checked yet".to_owned();
    };
    let state = if s.in_order {
        "in order"
    } else {
        "not in order"
    };
    let off: Vec<String> = s
        .states
        .iter()
        .filter(|(k, n)| k.as_str() != "ok" && **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let mut line = format!("{state} ({}), checked {}", s.kind, s.checked_at_local);
    if !off.is_empty() {
        line.push_str(&format!(": {}", off.join(", ")));
    }
    line
}

/// Ready messages in the shared work and retry queues.
pub(crate) fn waiting(w: &so_ops::shops::Waiting) -> String {
    match &w.error {
        Some(e) => format!("unknown ({e})"),
        None => format!("{} in work queues, {} in retry", w.work, w.retry),
    }
}
