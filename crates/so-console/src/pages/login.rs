//! The ops login: a name for the audit trail and the admin token.

use maud::{Markup, html};

use super::{Chrome, layout};

/// `csrf`: the login form's double-submit token; `problem`: why the last try was refused.
pub(crate) fn page(csrf: &str, problem: Option<&str>) -> Markup {
    layout(
        Chrome::BARE,
        "Log in",
        html! {
            section.card.narrow {
                h1 { "Log in" }
                p.subdued { "Operators log in with the admin token (ops.admin_token)." }
                @if let Some(problem) = problem {
                    p.banner.critical role="alert" id="login-error" { (problem) }
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="name" { "Your name" span.subdued { " (for the audit log)" } }
                    input type="text" id="name" name="name" maxlength="64" autocomplete="username";
                    label for="token" { "Admin token" }
                    input type="password" id="token" name="token" required autocomplete="current-password";
                    button.primary type="submit" id="login" { "Log in" }
                }
            }
        },
    )
}
