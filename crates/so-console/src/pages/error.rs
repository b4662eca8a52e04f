//! The page every refusal shows: the status, a stable code and a specific detail.

use axum::http::StatusCode;
use maud::{Markup, html};

use super::{Chrome, layout};

pub(crate) fn page(status: StatusCode, code: &str, detail: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        Chrome::BARE,
        title,
        html! {
            section.card.error {
                h1 { (title) }
                p.detail { (detail) }
                p.code { "code: " code data-code=(code) { (code) } }
                p { a href="/console/" { "Back to the console" } }
            }
        },
    )
}
