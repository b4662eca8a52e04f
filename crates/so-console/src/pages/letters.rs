//! Dead letters and parked events: the filtered list with the recent operations, one message
//! (customer data masked unless revealed), and what a replay or purge did (or would do, dry run).

use maud::{Markup, html};
use so_ops::actions::Listing;
use so_ops::{LetterDetail, LetterSummary, OperationReport};
use so_store::QueueOperation;

use super::{Chrome, layout, or_dash};
use crate::auth::Viewer;

/// The list's filter, as typed (comma-separated lists).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct LetterQuery {
    #[serde(default)]
    pub(crate) queue: String,
    #[serde(default)]
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) topic: String,
    #[serde(default)]
    pub(crate) shop: String,
}

/// Messages listed on one page; the count covers every match.
pub(crate) const SHOWN: usize = 100;

fn csrf(chrome: Chrome<'_>) -> Markup {
    html! {
        @if let Some(Viewer::Ops { session, .. }) = chrome.viewer {
            input type="hidden" name="csrf" value=(session.csrf);
        }
    }
}

fn queue_label(queue: &str) -> &'static str {
    if queue == "parked" {
        "Parked events"
    } else {
        "Dead letters"
    }
}

pub(crate) fn list(
    chrome: Chrome<'_>,
    q: &LetterQuery,
    listing: &Listing,
    history: &[QueueOperation],
) -> Markup {
    let queue = if q.queue == "parked" {
        "parked"
    } else {
        "dead_letter"
    };
    layout(
        chrome,
        queue_label(queue),
        html! {
            h1 { (queue_label(queue)) }
            form.card.filters method="get" action="/console/dead-letters" {
                label for="queue" { "Queue" }
                select id="queue" name="queue" {
                    option value="dead_letter" selected[queue == "dead_letter"] { "Dead letters" }
                    option value="parked" selected[queue == "parked"] { "Parked events" }
                }
                label for="reason" { "Reason" }
                input type="text" id="reason" name="reason" value=(q.reason) placeholder="ometria_record_rejected";
                label for="topic" { "Topic" }
                input type="text" id="topic" name="topic" value=(q.topic) placeholder="customers/update";
                label for="shop" { "Shop" }
                input type="text" id="shop" name="shop" value=(q.shop) placeholder="a-shop.myshopify.com";
                button.secondary type="submit" id="filter" { "Filter" }
            }
            p.subdued id="matched" {
                span id="matched-count" { (listing.matched) } " of " (listing.depth) " in the queue match"
                @if listing.items.len() < listing.matched as usize { "; the first " (listing.items.len()) " are shown" }
                "."
            }
            @if !listing.items.is_empty() {
                div.card.flush {
                    table.letters {
                        thead { tr { th { "Webhook" } th { "Topic" } th { "Shop" } th { "Reason" } th { "Stage" } th { "At (UTC)" } th { "Attempts" } } }
                        tbody {
                            @for l in &listing.items { (row(queue, l)) }
                        }
                    }
                }
                form.card.toggle method="post" action="/console/dead-letters/replay" {
                    div {
                        h2 { "Replay these " (listing.matched) }
                        p.subdued { "Back through the normal path (dedupe, staleness, the Ometria budget), in queue order." }
                    }
                    (csrf(chrome))
                    (filter_fields(queue, q))
                    div.switch {
                        label.inline { input type="checkbox" name="dry_run" value="1" checked; " Dry run" }
                        button.primary type="submit" id="replay-filter" { "Replay" }
                    }
                }
                form.card.toggle method="post" action="/console/dead-letters/purge" {
                    div {
                        h2 { "Purge these " (listing.matched) }
                        p.subdued { "Deleted for good. Untick the dry run and confirm." }
                    }
                    (csrf(chrome))
                    (filter_fields(queue, q))
                    div.switch {
                        label.inline { input type="checkbox" name="dry_run" value="1" id="purge-dry-run" checked; " Dry run" }
                        label.inline { input type="checkbox" name="confirm" value="1" id="purge-confirm"; " Delete for good" }
                        button.secondary type="submit" id="purge" { "Purge" }
                    }
                }
            }
            (operations(history))
        },
    )
}

fn filter_fields(queue: &str, q: &LetterQuery) -> Markup {
    html! {
        input type="hidden" name="queue" value=(queue);
        input type="hidden" name="reason" value=(q.reason);
        input type="hidden" name="topic" value=(q.topic);
        input type="hidden" name="shop" value=(q.shop);
    }
}

/// The latest replays, purges and releases, whoever made them (CLI, admin API, console).
fn operations(history: &[QueueOperation]) -> Markup {
    html! {
        section.card {
            h2 { "Recent operations" }
            @if history.is_empty() {
                p.subdued { "None yet." }
            } @else {
                table.operations {
                    thead { tr { th { "Started (UTC)" } th { "Operation" } th { "Queue" } th { "By" } th { "Matched" } th { "Done" } th { "Status" } } }
                    tbody {
                        @for o in history {
                            tr {
                                td data-label="Started (UTC)" { (o.started_at.format("%Y-%m-%d %H:%M:%S")) }
                                td data-label="Operation" { (o.operation) }
                                td data-label="Queue" { (o.queue) }
                                td data-label="By" { (o.actor) }
                                td data-label="Matched" { (o.matched) }
                                td data-label="Done" { (o.done) }
                                td data-label="Status" { (o.status) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn row(queue: &str, l: &LetterSummary) -> Markup {
    html! {
        tr data-id=(l.id) {
            td data-label="Webhook" { a href={ "/console/dead-letters/" (l.id) "?queue=" (queue) } { code { (l.id) } } }
            td data-label="Topic" { (or_dash(l.topic.clone())) }
            td data-label="Shop" { (or_dash(l.shop.clone())) }
            td data-label="Reason" { (or_dash(l.reason.clone())) }
            td data-label="Stage" { (or_dash(l.stage.clone())) }
            td data-label="At (UTC)" { (or_dash(l.at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()))) }
            td data-label="Attempts" { (or_dash(l.attempts.map(|a| a.to_string()))) }
        }
    }
}

pub(crate) fn detail(chrome: Chrome<'_>, queue: &str, d: &LetterDetail) -> Markup {
    let s = &d.summary;
    let base = format!("/console/dead-letters/{}", s.id);
    layout(
        chrome,
        &s.id,
        html! {
            p.breadcrumb { a href={ "/console/dead-letters?queue=" (queue) } { (queue_label(queue)) } " / " }
            h1 { code { (s.id) } }
            section.card {
                dl.facts {
                    dt { "Topic" } dd { (or_dash(s.topic.clone())) }
                    dt { "Shop" } dd { (or_dash(s.shop.clone())) }
                    dt { "Entity" } dd { (or_dash(s.entity.clone())) }
                    dt { "Reason" } dd id="reason" { (or_dash(s.reason.clone())) }
                    dt { "Stage" } dd { (or_dash(s.stage.clone())) }
                    dt { "Detail" } dd { (or_dash(s.detail.clone())) }
                    dt { "Attempts" } dd { (or_dash(s.attempts.map(|a| a.to_string()))) }
                    dt { "At (UTC)" } dd { (or_dash(s.at.map(|t| t.to_rfc3339()))) }
                }
            }
            section.card.toggle {
                div {
                    h2 { "Replay" }
                    p.subdued { "This message only, back through the normal path." }
                }
                form method="post" action="/console/dead-letters/replay" {
                    (csrf(chrome))
                    input type="hidden" name="queue" value=(queue);
                    input type="hidden" name="ids" value=(s.id);
                    div.switch {
                        button.secondary type="submit" name="dry_run" value="1" id="replay-dry-run" { "Dry run" }
                        button.primary type="submit" id="replay" { "Replay" }
                    }
                }
            }
            section.card {
                h2 { "Payload" @if d.payload_masked { " (customer data masked)" } @else { " (revealed)" } }
                @if d.payload_masked {
                    form method="post" action={ (base) "/reveal" } {
                        (csrf(chrome))
                        input type="hidden" name="queue" value=(queue);
                        button.secondary type="submit" id="reveal" { "Reveal customer data" }
                        span.subdued { " Each reveal is logged with your name." }
                    }
                }
                pre id="payload" data-masked=(d.payload_masked) { (serde_json::to_string_pretty(&d.payload).unwrap_or_default()) }
            }
        },
    )
}

pub(crate) fn report(chrome: Chrome<'_>, queue: &str, r: &OperationReport) -> Markup {
    let title = if r.operation == "purge" {
        "Purge"
    } else {
        "Replay"
    };
    layout(
        chrome,
        title,
        html! {
            p.breadcrumb { a href={ "/console/dead-letters?queue=" (queue) } { (queue_label(queue)) } " / " }
            h1 { (title) @if r.dry_run { ", dry run" } }
            section.card {
                dl.facts {
                    dt { "Status" } dd id="status" { (r.status) }
                    dt { "Matched" } dd id="report-matched" { (r.matched) }
                    dt { @if r.operation == "purge" { "Deleted" } @else { "Replayed" } } dd id="done" { (r.done) }
                    dt { "Unroutable" } dd { (r.unroutable) }
                    dt { "Operation" } dd { (or_dash(r.operation_id.clone())) }
                    @if let Some(e) = &r.error { dt { "Error" } dd { (e) } }
                }
            }
            @if !r.sample.is_empty() {
                div.card.flush {
                    table.letters {
                        thead { tr { th { "Webhook" } th { "Topic" } th { "Shop" } th { "Reason" } th { "Stage" } th { "At (UTC)" } th { "Attempts" } } }
                        tbody { @for l in &r.sample { (row(queue, l)) } }
                    }
                }
            }
        },
    )
}
