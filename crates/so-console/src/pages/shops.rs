//! Shops: every served shop with its state at a glance (so-ops' `shops list`).

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use so_ops::{ShopLine, ShopsOverview};

use super::shop::waiting;
use super::{Chrome, layout};

pub(crate) fn page(chrome: Chrome<'_>, o: &ShopsOverview, now: DateTime<Utc>) -> Markup {
    layout(
        chrome,
        "Shops",
        html! {
            h1 { "Shops" }
            p.subdued {
                (o.shops.len()) " served. Times are how long ago (hover for UTC); a shop's page shows them in its time zone."
            }
            section.card id="worker" {
                h2 { "Worker (all shops)" }
                dl.facts {
                    dt { "Waiting" } dd id="waiting" { (waiting(&o.waiting)) }
                    dt { "Lag" } dd id="lag" data-settled-before=[o.settled_before.map(|t| t.to_rfc3339())] {
                        @match (o.lag_secs, o.settled_before) {
                            (Some(lag), Some(t)) => {
                                (duration(lag)) span.subdued { " (everything received before " (utc(t)) " is settled)" }
                            }
                            _ => "unknown (a worker partition has recorded no progress yet)",
                        }
                    }
                }
            }
            @if o.shops.is_empty() {
                section.card { p { "No shop is served yet: list one in [shops] or connect one." } }
            } @else {
                div.card.flush {
                    table.shops {
                        thead {
                            tr {
                                th { "Shop" } th { "Sync" } th { "Connected" } th { "Subscriptions" }
                                th { "Last webhook" } th { "Last push" } th { "Dead letters" }
                                th { "Parked" } th { "Rejected (24 h)" }
                            }
                        }
                        tbody {
                            @for s in &o.shops { (row(s, now)) }
                        }
                    }
                }
            }
        },
    )
}

fn row(s: &ShopLine, now: DateTime<Utc>) -> Markup {
    let st = &s.status;
    html! {
        tr data-shop=(st.shop) {
            td data-label="Shop" {
                a href={ "/console/shops/" (st.shop) } { (st.shop) }
                br; span.subdued title="Where its settings are kept, and their version" { (st.source) " v" (st.version) }
            }
            td data-label="Sync" { (state_badge(st.paused)) }
            td data-label="Connected" data-connection=(s.connection) { (connection(s.connection)) }
            td data-label="Subscriptions" data-in-order=[s.subscriptions_in_order] {
                @match s.subscriptions_in_order {
                    Some(true) => span.badge.success { "In order" },
                    Some(false) => span.badge.attention { "Not in order" },
                    None => span.subdued { "Not checked" },
                }
            }
            td data-label="Last webhook" { (ago(s.last_webhook_at, now)) }
            td data-label="Last push" { (ago(s.last_push_at, now)) }
            td data-label="Dead letters" data-count=(s.dead_lettered) { (count(s.dead_lettered)) }
            td data-label="Parked" data-count=(s.parked) { (count(s.parked)) }
            td data-label="Rejected (24 h)" data-count=(s.rejections_last_day) { (count(s.rejections_last_day)) }
        }
    }
}

fn connection(c: &str) -> Markup {
    html! {
        @match c {
            "connected" => span.badge.success { "App installed" },
            "configured" => span.badge.success { "Admin API set" },
            "refused" => span.badge.attention { "Refused" },
            "uninstalled" => span.badge.attention { "Uninstalled" },
            _ => span.subdued { "Webhooks only" },
        }
    }
}

/// A count, flagged when not zero.
fn count(n: u64) -> Markup {
    html! { @if n == 0 { span.subdued { "0" } } @else { strong { (n) } } }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long before `now`, with the time itself in the tooltip and `datetime`.
fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    html! {
        @match at {
            Some(t) => time datetime=(t.to_rfc3339()) title=(utc(t)) { (duration((now - t).num_seconds())) " ago" },
            None => span.subdued { "never" },
        }
    }
}

/// Seconds as the largest whole unit a glance needs.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        3_600..86_400 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    }
}

pub(crate) fn state_badge(paused: bool) -> Markup {
    html! {
        @if paused {
            span.badge.attention data-state="paused" { "Paused" }
        } @else {
            span.badge.success data-state="syncing" { "Syncing" }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use so_ops::shops::Waiting;
    use so_ops::{ShopLine, ShopStatus, ShopsOverview};

    use super::{duration, page};
    use crate::pages::Chrome;

    fn line() -> ShopLine {
        ShopLine {
            status: ShopStatus {
                shop: "a.myshopify.com".to_owned(),
                source: "store",
                version: 2,
                paused: true,
                updated_at: None,
                updated_by: None,
                admin_access: "none",
                detail: None,
            },
            connection: "none",
            last_webhook_at: Some(Utc::now() - TimeDelta::seconds(150)),
            last_push_at: None,
            subscriptions_in_order: Some(false),
            subscriptions_checked_at: None,
            dead_lettered: 3,
            parked: 0,
            rejections_last_day: 0,
        }
    }

    fn overview(shops: Vec<ShopLine>) -> ShopsOverview {
        ShopsOverview {
            shops,
            waiting: Waiting {
                scope: "all_shops",
                work: 7,
                retry: 1,
                error: None,
            },
            settled_before: None,
            lag_secs: None,
        }
    }

    #[test]
    fn a_line_shows_the_shops_state() {
        let html = page(Chrome::BARE, &overview(vec![line()]), Utc::now()).into_string();
        assert!(html.contains(r#"data-state="paused""#));
        assert!(html.contains(r#"data-in-order="false""#));
        assert!(html.contains("2 min ago"), "{html}");
        assert!(html.contains(r#"data-count="3""#));
        assert!(html.contains("7 in work queues, 1 in retry"));
        assert!(html.contains("Webhooks only"));
    }

    #[test]
    fn durations_use_the_largest_whole_unit() {
        let got: Vec<String> = [0, 59, 60, 3_599, 3_600, 86_400, -5]
            .into_iter()
            .map(duration)
            .collect();
        assert_eq!(got, ["0 s", "59 s", "1 min", "59 min", "1 h", "1 d", "0 s"]);
    }
}
