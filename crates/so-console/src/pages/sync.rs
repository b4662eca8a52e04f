//! Data Sync: On Demand and Auto Send profile sends of a shop, the progress of a send started
//! here and the last send, times in the shop's time zone.

use maud::{Markup, html};
use so_domain::merchant::ProfileFilter;
use so_store::ProfileSendCounts;

use super::{Chrome, layout};
use crate::auth::Viewer;
use crate::sends::{Run, RunState};
use crate::sync::{FieldError, View};

pub(crate) fn page(chrome: Chrome<'_>, v: &View) -> Markup {
    let base = format!("/console/shops/{}/sync", v.shop);
    layout(
        chrome,
        &format!("Data Sync · {}", v.shop),
        html! {
            p.breadcrumb {
                @if matches!(chrome.viewer, Some(Viewer::Ops { .. })) { a href="/console/" { "Shops" } " / " }
                a href=(format!("/console/shops/{}", v.shop)) data-bearer[bearer(chrome)] { (v.shop) } " / "
            }
            h1 { "Data Sync" }
            @if let Some(n) = v.notice { p.banner.success id="notice" { (n) } }
            @if let Some(claim) = &v.claim { (claimed(v, claim)) }
            @if let Some(run) = &v.run { (progress(v, run, &base)) }
            (last_send(v))
            (on_demand(chrome, v, &base))
            (auto_send(chrome, v, &base))
        },
    )
}

fn csrf(chrome: Chrome<'_>) -> Markup {
    html! {
        @if let Some(Viewer::Ops { session, .. }) = chrome.viewer {
            input type="hidden" name="csrf" value=(session.csrf);
        }
    }
}

fn bearer(chrome: Chrome<'_>) -> bool {
    matches!(chrome.viewer, Some(Viewer::Embedded(_)))
}

/// A send started here: `data-poll` has console.js reload the page's `main` until it ends;
/// without scripts, the Refresh link (or the browser's) shows the same.
fn progress(v: &View, run: &Run, base: &str) -> Markup {
    let (state, label) = match &run.state {
        RunState::Running => ("running", "Running".to_owned()),
        RunState::Completed => ("completed", "Completed".to_owned()),
        RunState::Failed(why) => ("failed", format!("Failed: {why}")),
    };
    html! {
        section.card id="progress" data-state=(state) data-poll=[(run.state == RunState::Running).then_some(base)] {
            h2 { @if run.state == RunState::Running { "Send in progress" } @else { "Send started here" } }
            dl.facts {
                dt { "State" } dd id="progress-state" { (label) }
                dt { "Kind" } dd { (kind(run.kind.as_str())) }
                dt { "Started" } dd { (v.settings.local_time(run.started_at)) " by " span.actor { (run.actor) } }
                (counts(&run.counts, "progress"))
            }
            @if run.state == RunState::Running {
                p.subdued { "This page updates itself; with scripts off, " a href=(base) { "refresh" } " it." }
            }
        }
    }
}

/// A send of the shop running elsewhere (another process, `send-profiles`, the scheduler):
/// a send started here would be refused until it ends.
fn claimed(v: &View, claim: &so_store::SendClaim) -> Markup {
    html! {
        p.banner id="send-claim" role="status" {
            "A send of this shop is running (started by "
            span.actor { (claim.actor) } " at " (v.settings.local_time(claim.since))
            "); a new one can start when it ends."
        }
    }
}

fn counts(c: &ProfileSendCounts, id: &str) -> Markup {
    html! {
        dt { "Customers read" } dd id=(format!("{id}-read")) { (c.read) }
        dt { "Matched" } dd id=(format!("{id}-matched")) { (c.matched) }
        dt { "Sent to Ometria" } dd id=(format!("{id}-published")) { (c.published) }
    }
}

fn kind(k: &str) -> &'static str {
    if k == "auto" {
        "Auto Send"
    } else {
        "On Demand"
    }
}

fn last_send(v: &View) -> Markup {
    html! {
        section.card id="last-send" {
            h2 { "Last send" }
            dl.facts {
                dt { "Time zone" } dd id="timezone" { (v.settings.time_zone()) }
                @match &v.last {
                    Some(l) => {
                        dt { "Finished" } dd id="last-send-at" { (l.finished_local.clone().unwrap_or_else(|| "—".to_owned())) }
                        dt { "Kind" } dd { (kind(&l.kind)) }
                        (counts(&l.counts, "last"))
                    }
                    None => { dt { "Finished" } dd id="last-send-at" { "Never" } }
                }
                dt { "Next automatic send" } dd id="next-send" {
                    (v.next_local.clone().unwrap_or_else(|| "Off (no daily send)".to_owned()))
                }
            }
        }
    }
}

fn field_error(error: Option<&FieldError>, field: &str) -> Markup {
    html! {
        @if let Some(e) = error.filter(|e| e.field == field) {
            p.field-error id=(format!("error-{field}")) role="alert" { (e.message) }
        }
    }
}

fn profiles_select(id: &str, chosen: Option<ProfileFilter>, default_label: Option<&str>) -> Markup {
    let is = |p: ProfileFilter| chosen == Some(p);
    html! {
        select id=(id) name="profiles" {
            @if let Some(d) = default_label { option value="" selected[chosen.is_none()] { (d) } }
            option value="all" selected[is(ProfileFilter::All)] { "All profiles" }
            option value="subscribers" selected[is(ProfileFilter::Subscribers)] { "Subscribers only" }
        }
    }
}

fn lists_select(id: &str, lists: &[u64], chosen: &str) -> Markup {
    html! {
        select id=(id) name="list" {
            option value="" selected[chosen.is_empty()] { "No list" }
            @for l in lists {
                option value=(l) selected[chosen == l.to_string()] { "List " (l) }
            }
        }
    }
}

fn on_demand(chrome: Chrome<'_>, v: &View, base: &str) -> Markup {
    let typed = v.on_demand.clone().unwrap_or_default();
    let chosen = match typed.profiles.as_str() {
        "subscribers" => ProfileFilter::Subscribers,
        "all" => ProfileFilter::All,
        _ => v.settings.profiles,
    };
    let err = v.error.as_ref();
    let running = v.run.as_ref().is_some_and(|r| r.state == RunState::Running);
    html! {
        section.card id="on-demand" {
            h2 { "On Demand" }
            p.subdued { "Send the shop's customers to Ometria now. Dates are in the shop's time zone (" (v.settings.time_zone()) "); the range includes both days." }
            form method="post" action=(format!("{base}/send")) data-bearer[bearer(chrome)] {
                (csrf(chrome))
                label for="profiles" { "Profiles" }
                (profiles_select("profiles", Some(chosen), None))
                label for="list" { "Ometria list" }
                (lists_select("list", &v.settings.sendable_lists(), &typed.list))
                (field_error(err, "list"))
                label for="new_list" { "New list (by name)" }
                input type="text" id="new_list" name="new_list" value=(typed.new_list)
                    aria-invalid=[err.is_some_and(|e| e.field == "new_list").then_some("true")];
                p.subdued { "Ometria's API documents no way to create a list: create it in Ometria, then add its id to the shop's lists." }
                (field_error(err, "new_list"))
                div.range {
                    div {
                        label for="active_from" { "Active from" }
                        input type="date" id="active_from" name="active_from" value=(typed.active_from);
                        (field_error(err, "active_from"))
                    }
                    div {
                        label for="active_to" { "Active to" }
                        input type="date" id="active_to" name="active_to" value=(typed.active_to)
                            aria-invalid=[err.is_some_and(|e| e.field == "active_to").then_some("true")];
                        (field_error(err, "active_to"))
                    }
                }
                button.primary type="submit" id="send" disabled[running] { "Send" }
                (field_error(err, "send"))
            }
        }
    }
}

fn auto_send(chrome: Chrome<'_>, v: &View, base: &str) -> Markup {
    let p = &v.settings.profile_sends;
    let err = v.auto_error.as_ref();
    let running = v.run.as_ref().is_some_and(|r| r.state == RunState::Running);
    let list = p.list.map(|l| l.to_string()).unwrap_or_default();
    html! {
        section.card id="auto-send" {
            h2 { "Auto Send" }
            form method="post" action=(format!("{base}/auto")) data-bearer[bearer(chrome)] {
                (csrf(chrome))
                label.inline { input type="checkbox" id="daily" name="daily" value="on" checked[p.daily]; " Send every day" }
                label for="at" { "Time of day (" (v.settings.time_zone()) ")" }
                input type="time" id="at" name="at" value=(p.at.clone().unwrap_or_default());
                (field_error(err, "at"))
                label for="auto_profiles" { "Profiles" }
                (profiles_select("auto_profiles", p.profiles, Some("The shop's setting")))
                label for="auto_list" { "Ometria list" }
                (lists_select("auto_list", &v.settings.sendable_lists(), &list))
                (field_error(err, "auto_list"))
                label for="active_days" { "Active in the last (days; empty: every customer)" }
                input type="number" min="1" id="active_days" name="active_days" value=(p.active_days.map(|d| d.to_string()).unwrap_or_default());
                (field_error(err, "active_days"))
                (field_error(err, "auto"))
                button.primary type="submit" id="save-auto" { "Save settings" }
            }
            form method="post" action=(format!("{base}/auto/send")) data-bearer[bearer(chrome)] {
                (csrf(chrome))
                button.secondary type="submit" id="send-now" disabled[running] { "Send now" }
                (field_error(v.error.as_ref(), "send-now"))
            }
        }
    }
}
