//! A stateful fake of the Ometria Data API, following
//! `shared/reference/ometria.md` (its "Fake-server checklist"):
//!
//! - `POST /v2/push`: auth (403), request rules (400), token-bucket rate limit
//!   and backlog cap (429), per-record size limit and asynchronous validation
//!   (`OK` with `rejected: 0`, refusals later in `_errors`, in either item
//!   shape; a synchronous mode counts them in `rejected`), merge-upsert per
//!   `(type, @collection, id)`, queue headers on every response; contacts
//!   follow the post-2024 identity rule (the first contact to carry an email,
//!   customer id or phone keeps it; [`IdentityRule`]), and `properties` is
//!   replaced whole or merged key by key ([`PropertiesMerge`], [`PROPERTIES_ENV`]);
//! - `GET /v2/push/_errors`, `/v2/profiles`, `/v2/profiles/{id}`,
//!   `/v2/unsubscribes` (an unsubscribe opts its profile out);
//! - `POST /v2/merge-profile` (1/min);
//! - GDPR: `POST`/`GET /v2/data-deletion-requests`,
//!   `GET /v2/data-deletion-requests/{id}` (6/min, asynchronous completion
//!   that anonymises the email's contacts);
//! - Rust-side inspection and run-time fault switches for tests, a log of
//!   every applied write, and pushes held between effect and answer.

mod bucket;
mod config;
mod erasures;
mod forced;
mod in_flight;
mod inspect;
mod known_products;
mod merges;
mod profiles;
mod records;
mod rejections;
mod routes;
mod server;
mod state;
mod unlinked;
mod unsubscribes;
mod validate;
mod write_log;

pub use config::{
    DEFAULT_BACKLOG_LIMIT, DRAIN_TICK, Drain, ErasureCompletion, FakeConfig, IdentityRule,
    PROPERTIES_ENV, PropertiesMerge, RateLimit,
};
pub use forced::ForcedState;
pub use in_flight::InFlight;
pub use records::{IgnoredIdentifier, RecordKey};
pub use rejections::{ErrorShape, Validation, ValidationMode};
pub use routes::{AUTH_HEADER, QUEUE_LIMIT_HEADER, QUEUE_REMAINING_HEADER};
pub use server::{FakeOmetria, serve};
pub use state::{REJECTED_BY_FAULT, RequestRecord};
pub use unsubscribes::{Unsubscribe, UnsubscribeOrigin};
pub use validate::{NOT_VALID, TOO_LARGE};
pub use write_log::AppliedWrite;
