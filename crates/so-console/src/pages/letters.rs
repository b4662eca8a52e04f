//! Dead letters and parked events: the filtered list with the recent operations, one message
//! (customer data masked unless revealed), and what a replay or purge did (or would do, dry run).

use maud::{Markup, html};
use so_ops::actions::Listing;
use so_ops::{LetterDetail, LetterSummary, OperationReport};
use so_store::QueueOperation;

use super::{Chrome, layout, or_dash};
use crate::auth::Viewer;
use crate::letter_form::Problem;

/// The list's filter, as typed (comma-separated lists; times as `datetime-local` gives them,
/// read in UTC), and the page's first match.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct LetterQuery {
    #[serde(default)]
    pub(crate) queue: String,
    #[serde(default)]
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) topic: String,
    #[serde(default)]
    pub(crate) shop: String,
    #[serde(default)]
    pub(crate) since: String,
    #[serde(default)]
    pub(crate) until: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) offset: String,
}

/// What the list page shows: the filter as typed, its matches (none when the filter is
/// refused), the recent operations and a refused input.
pub(crate) struct Page<'a> {
    pub(crate) q: &'a LetterQuery,
    pub(crate) listing: Option<&'a Listing>,
    pub(crate) history: &'a [QueueOperation],
    pub(crate) problem: Option<&'a Problem>,
}

/// What a replay was asked to do beyond its filter, for its report.
#[derive(Debug, Default)]
pub(crate) struct Asked {
    /// Boxes ticked, for a replay of a selection.
    pub(crate) selected: Option<usize>,
    /// Messages per second.
    pub(crate) rate: Option<f64>,
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

pub(crate) fn list(chrome: Chrome<'_>, page: &Page<'_>) -> Markup {
    let q = page.q;
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
            (filter_form(queue, q, page.problem))
            @if let Some(p) = page.problem {
                p.field-error.banner.critical id="form-error" data-field=(p.field) role="alert" {
                    "Nothing was done: " code { (p.field) } ": " (p.detail)
                }
            }
            @if let Some(listing) = page.listing {
                (matches(chrome, queue, q, listing))
            }
            (operations(page.history))
        },
    )
}

fn filter_form(queue: &str, q: &LetterQuery, problem: Option<&Problem>) -> Markup {
    let bad = |field: &str| problem.is_some_and(|p| p.field == field);
    html! {
        form.card.filters method="get" action="/console/dead-letters" {
            div {
                label for="queue" { "Queue" }
                select id="queue" name="queue" {
                    option value="dead_letter" selected[queue == "dead_letter"] { "Dead letters" }
                    option value="parked" selected[queue == "parked"] { "Parked events" }
                }
            }
            div {
                label for="reason" { "Reason" }
                input type="text" id="reason" name="reason" value=(q.reason) placeholder="ometria_record_rejected";
            }
            div {
                label for="topic" { "Topic" }
                input type="text" id="topic" name="topic" value=(q.topic) placeholder="customers/update" aria-invalid=[bad("topic").then_some("true")];
            }
            div {
                label for="shop" { "Shop" }
                input type="text" id="shop" name="shop" value=(q.shop) placeholder="a-shop.myshopify.com" aria-invalid=[bad("shop").then_some("true")];
            }
            // datetime-local carries no zone: the labels say UTC, and the server reads it so.
            div {
                label for="since" { "From (UTC)" }
                input type="datetime-local" step="1" id="since" name="since" value=(q.since) aria-invalid=[bad("since").then_some("true")];
            }
            div {
                label for="until" { "Before (UTC)" }
                input type="datetime-local" step="1" id="until" name="until" value=(q.until) aria-invalid=[bad("until").then_some("true")];
            }
            div { button.secondary type="submit" id="filter" { "Filter" } }
        }
    }
}

fn matches(chrome: Chrome<'_>, queue: &str, q: &LetterQuery, listing: &Listing) -> Markup {
    let shown = listing.items.len();
    html! {
        p.subdued id="matched" {
            span id="matched-count" { (listing.matched) } " of " (listing.depth) " in the queue match"
            @if shown < listing.matched as usize {
                "; " span id="shown-range" { (listing.offset + 1) "–" (listing.offset + shown as u64) } " are shown"
            }
            "."
        }
        @if !listing.items.is_empty() {
            // The table sits in the selection form: with JavaScript off the ticked boxes are a
            // plain post, as every other action here.
            form.card.flush id="selection" method="post" action="/console/dead-letters/replay" {
                (csrf(chrome))
                (filter_fields(queue, q))
                input type="hidden" name="selection" value="1";
                table.letters {
                    thead { tr { th.pick { span.visually-hidden { "Select" } } th { "Webhook" } th { "Topic" } th { "Shop" } th { "Reason" } th { "Stage" } th { "At (UTC)" } th { "Attempts" } } }
                    tbody {
                        @for l in &listing.items { (row(queue, l, true)) }
                    }
                }
                div.selection-actions {
                    (rate_field("selection-rate"))
                    button.secondary type="submit" name="dry_run" value="1" id="dry-run-selected" { "Dry run selected" }
                    button.primary type="submit" id="replay-selected" { "Replay selected" }
                }
            }
            (pager(queue, q, listing))
            (filtered_action(chrome, queue, q, "replay", html! {
                h2 { "Replay these " (listing.matched) }
                p.subdued { "Back through the normal path (dedupe, staleness, the Ometria budget), in queue order." }
            }, html! {
                (rate_field("filter-rate"))
                label.inline { input type="checkbox" name="dry_run" value="1" checked; " Dry run" }
                button.primary type="submit" id="replay-filter" { "Replay" }
            }))
            (filtered_action(chrome, queue, q, "purge", html! {
                h2 { "Purge these " (listing.matched) }
                p.subdued { "Deleted for good. Untick the dry run and confirm." }
            }, html! {
                label.inline { input type="checkbox" name="dry_run" value="1" id="purge-dry-run" checked; " Dry run" }
                label.inline { input type="checkbox" name="confirm" value="1" id="purge-confirm"; " Delete for good" }
                button.secondary type="submit" id="purge" { "Purge" }
            }))
        }
    }
}

/// An action on every letter the filter matches (`/console/dead-letters/<action>`): the filter
/// travels in hidden fields, so the action applies to what the list shows.
fn filtered_action(
    chrome: Chrome<'_>,
    queue: &str,
    q: &LetterQuery,
    action: &str,
    heading: Markup,
    controls: Markup,
) -> Markup {
    html! {
        form.card.toggle method="post" action={ "/console/dead-letters/" (action) } {
            div { (heading) }
            (csrf(chrome))
            (filter_fields(queue, q))
            div.switch { (controls) }
        }
    }
}

/// A replay's pace; empty is as fast as the broker confirms.
fn rate_field(id: &str) -> Markup {
    html! {
        label.inline for=(id) {
            "Pace "
            input.rate type="text" inputmode="decimal" id=(id) name="rate" placeholder="unpaced" size="7";
            " per second"
        }
    }
}

/// Earlier and later pages of the same filter.
fn pager(queue: &str, q: &LetterQuery, listing: &Listing) -> Markup {
    let at = |offset: u64| {
        let page = LetterQuery {
            queue: queue.to_owned(),
            offset: if offset == 0 {
                String::new()
            } else {
                offset.to_string()
            },
            ..q.clone()
        };
        format!(
            "/console/dead-letters?{}",
            serde_urlencoded::to_string(&page).unwrap_or_default()
        )
    };
    let previous = (listing.offset > 0).then(|| listing.offset.saturating_sub(SHOWN as u64));
    html! {
        @if previous.is_some() || listing.next_offset.is_some() {
            nav.pager {
                @if let Some(o) = previous { a id="previous-page" href=(at(o)) { "← Previous " (SHOWN) } }
                @if let Some(o) = listing.next_offset { a id="next-page" href=(at(o)) { "Next " (SHOWN) " →" } }
            }
        }
    }
}

fn filter_fields(queue: &str, q: &LetterQuery) -> Markup {
    html! {
        input type="hidden" name="queue" value=(queue);
        input type="hidden" name="reason" value=(q.reason);
        input type="hidden" name="topic" value=(q.topic);
        input type="hidden" name="shop" value=(q.shop);
        input type="hidden" name="since" value=(q.since);
        input type="hidden" name="until" value=(q.until);
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
                    thead { tr { th { "Started (UTC)" } th { "Operation" } th { "Queue" } th { "By" } th { "Filter" } th { "Pace" } th { "Matched" } th { "Done" } th { "Status" } } }
                    tbody {
                        @for o in history {
                            tr {
                                td data-label="Started (UTC)" { (o.started_at.format("%Y-%m-%d %H:%M:%S")) }
                                td data-label="Operation" { (o.operation) }
                                td data-label="Queue" { (o.queue) }
                                td data-label="By" { (o.actor) }
                                td data-label="Filter" { code { (recorded_filter(&o.filter)) } }
                                td data-label="Pace" { (pace(&o.filter)) }
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

/// An operation's filter as recorded, without its pace, shortened: a long selection of ids
/// would swamp the table.
fn recorded_filter(text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    if let Some(fields) = v.as_object_mut() {
        fields.remove("rate");
    }
    let text = if v.is_null() {
        text.to_owned()
    } else {
        v.to_string()
    };
    match text.char_indices().nth(FILTER_SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Characters of an operation's filter shown in the history.
const FILTER_SHOWN: usize = 120;

/// The pace a replay was asked for (`rate` in its recorded filter).
fn pace(filter: &str) -> String {
    serde_json::from_str::<serde_json::Value>(filter)
        .ok()
        .and_then(|v| v.get("rate").and_then(serde_json::Value::as_f64))
        .map_or_else(|| "—".to_owned(), |r| format!("{r}/s"))
}

fn row(queue: &str, l: &LetterSummary, selectable: bool) -> Markup {
    html! {
        tr data-id=(l.id) {
            @if selectable {
                td.pick data-label="Select" {
                    input type="checkbox" name="ids" value=(l.id) id={ "pick-" (l.id) } aria-label={ "Select " (l.id) };
                }
            }
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

pub(crate) fn report(
    chrome: Chrome<'_>,
    queue: &str,
    r: &OperationReport,
    asked: &Asked,
) -> Markup {
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
                    @if let Some(n) = asked.selected { dt { "Selected" } dd id="selected" { (n) } }
                    dt { "Matched" } dd id="report-matched" { (r.matched) }
                    dt { @if r.operation == "purge" { "Deleted" } @else { "Replayed" } } dd id="done" { (r.done) }
                    dt { "Unroutable" } dd { (r.unroutable) }
                    @if r.operation != "purge" {
                        dt { "Pace" } dd id="pace" { (asked.rate.map_or_else(|| "unpaced".to_owned(), |r| format!("{r} per second"))) }
                    }
                    dt { "Operation" } dd { (or_dash(r.operation_id.clone())) }
                    @if let Some(e) = &r.error { dt { "Error" } dd { (e) } }
                }
            }
            @if !r.sample.is_empty() {
                div.card.flush {
                    table.letters {
                        thead { tr { th { "Webhook" } th { "Topic" } th { "Shop" } th { "Reason" } th { "Stage" } th { "At (UTC)" } th { "Attempts" } } }
                        tbody { @for l in &r.sample { (row(queue, l, false)) } }
                    }
                }
            }
        },
    )
}
