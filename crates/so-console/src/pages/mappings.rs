//! Field mappings: the contact, order and product mappings as a form, their problems shown by
//! their box, and a masked preview of what the shop's most recently updated customer and order would carry.

use maud::{Markup, html};

use super::{Chrome, layout};
use crate::auth::Viewer;
use crate::mappings::{Preview, View};

pub(crate) fn page(chrome: Chrome<'_>, v: &View) -> Markup {
    let base = format!("/console/shops/{}/mappings", v.shop);
    let embedded = matches!(chrome.viewer, Some(Viewer::Embedded(_)));
    let boxes = [
        ("contact", "Contact (customer)", &v.form.contact),
        ("order", "Order", &v.form.order),
        ("product", "Product", &v.form.product),
    ];
    layout(
        chrome,
        &format!("Field mappings · {}", v.shop),
        html! {
            p.breadcrumb {
                @if !embedded { a href="/console/" { "Shops" } " / " }
                a href=(format!("/console/shops/{}", v.shop)) data-bearer[embedded] { (v.shop) } " / "
            }
            h1 { "Field mappings" }
            @if v.saved { p.banner.success id="notice" { "Mappings saved." } }
            section.card id="mappings" {
                p.subdued {
                    "One " code { "property = source path" } " a line, copied into the properties of the records sent to Ometria (docs/mapping.md, \"Merchant field mappings\"): for example "
                    code { "home_city = default_address.city" } "."
                }
                form method="post" action=(base) data-bearer[embedded] {
                    @if let Some(Viewer::Ops { session, .. }) = chrome.viewer {
                        input type="hidden" name="csrf" value=(session.csrf);
                    }
                    @for (field, label, value) in boxes {
                        @let bad = v.errors.iter().any(|e| e.field == field);
                        label for=(field) { (label) }
                        textarea id=(field) name=(field) rows="4" spellcheck="false"
                            aria-invalid=[bad.then_some("true")] { (value) }
                        @for e in v.errors.iter().filter(|e| e.field == field) {
                            p.field-error.error-of id=(format!("error-{field}")) role="alert" { (e.message) }
                        }
                    }
                    @for e in v.errors.iter().filter(|e| e.field == "save") {
                        p.field-error id="error-save" role="alert" { (e.message) }
                    }
                    div.actions {
                        button.secondary type="submit" id="preview" formaction=(format!("{base}/preview")) { "Preview" }
                        button.primary type="submit" id="save" { "Save" }
                    }
                }
            }
            section.card id="preview-card" {
                h2 { "Preview (masked)" }
                p.subdued { "What the shop's most recently updated customer and order, read from its Admin API, would carry with these mappings." }
                (preview("contact", "A customer", &v.contact))
                (preview("order", "An order", &v.order))
            }
        },
    )
}

fn preview(id: &str, title: &str, p: &Preview) -> Markup {
    html! {
        h3 { (title) }
        div id=(format!("preview-{id}")) {
            @match p {
                None => p.subdued { "Press Preview to see one (it reads the most recently updated customer and order from the shop's Admin API; none while the mappings have problems)." },
                Some(Err(why)) => p.subdued { "No preview: " (why) },
                Some(Ok(props)) if props.is_empty() => p.subdued { "No mapped property has a value in this sample." },
                Some(Ok(props)) => dl.facts {
                    @for (k, val) in props { dt { code { (k) } } dd data-property=(k) { (val) } }
                },
            }
        }
    }
}
