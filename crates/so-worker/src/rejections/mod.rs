//! Ometria's asynchronous validation, watched. Ometria answers a push `OK`
//! and validates its records later; a refused record appears only in
//! `GET /v2/push/_errors` (the 100 most recent). The pushes of each account
//! are remembered for a while (`journal`); a watcher per account
//! (`watcher`) reads `_errors`, ties each new item to the shop, record and
//! events that produced it (`attribute`), and dead-letters those events
//! with reason `ometria_rejected` (`dead_letter`) so a replay re-sends them
//! once the mapping is fixed. What cannot be tied is counted and logged,
//! never guessed.

mod attribute;
mod dead_letter;
mod journal;
mod kept;
mod shared;
mod watcher;

pub(crate) use journal::{Journal, Origin};
pub(crate) use watcher::Watcher;

/// A digest naming an Ometria account in the store (endpoint and key; the
/// key never leaves the process).
pub(crate) fn account_digest(account_key: &(String, String)) -> String {
    attribute::digest(&format!("{}\u{1f}{}", account_key.0, account_key.1))
}
