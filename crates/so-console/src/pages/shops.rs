//! Shops: every served shop with its state at a glance (so-ops' `shops list`).

use maud::{Markup, html};
use so_ops::ShopStatus;

use super::{Chrome, layout, or_dash};

pub(crate) fn page(chrome: Chrome<'_>, shops: &[ShopStatus]) -> Markup {
    layout(
        chrome,
        "Shops",
        html! {
            h1 { "Shops" }
            p.subdued { (shops.len()) " served. Times in UTC; a shop's page shows them in its time zone." }
            @if shops.is_empty() {
                section.card { p { "No shop is served yet: list one in [shops] or connect one." } }
            } @else {
                div.card.flush {
                    table.shops {
                        thead {
                            tr {
                                th { "Shop" } th { "Sync" } th { "Managed in" }
                                th { "Admin API" } th { "Version" } th { "Last change" }
                            }
                        }
                        tbody {
                            @for s in shops {
                                tr data-shop=(s.shop) {
                                    td data-label="Shop" {
                                        a href={ "/console/shops/" (s.shop) } { (s.shop) }
                                    }
                                    td data-label="Sync" { (state_badge(s.paused)) }
                                    td data-label="Managed in" { (s.source) }
                                    td data-label="Admin API" { (s.admin_access) }
                                    td data-label="Version" { (s.version) }
                                    td data-label="Last change" {
                                        (or_dash(s.updated_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())))
                                        @if let Some(by) = &s.updated_by { br; span.subdued { "by " (by) } }
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
    use so_ops::ShopStatus;

    use super::page;
    use crate::pages::Chrome;

    #[test]
    fn a_stored_value_with_markup_is_escaped() {
        let shop = ShopStatus {
            shop: "a.myshopify.com".to_owned(),
            source: "store",
            version: 2,
            paused: true,
            updated_at: None,
            updated_by: Some("admin-api:<script>alert(1)</script>".to_owned()),
            admin_access: "none",
            detail: None,
        };
        let html = page(Chrome::BARE, &[shop]).into_string();
        assert!(html.contains("admin-api:&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains(r#"data-state="paused""#));
    }
}
