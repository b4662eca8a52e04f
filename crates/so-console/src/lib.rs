//! The web console: server-rendered HTML on the ops listener under `/console/` (see
//! `docs/console.md`). Two ways in: ops log in with the admin token and get a session cookie
//! ([`session`]); a shop's staff, embedded in the Shopify admin, are known by Shopify's ID token
//! ([`id_token`]) and see only their shop. Pages read and act through `so-ops`, as the CLI and
//! the admin API do, so every action lands in the same audit trail.

mod assets;
mod auth;
mod error;
pub mod id_token;
mod letter_form;
mod letters;
mod mappings;
mod pages;
mod routes;
mod sends;
pub mod session;
mod sync;

pub use error::ConsoleError;
pub use routes::{Console, router};
