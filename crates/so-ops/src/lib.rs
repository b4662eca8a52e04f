//! Operator actions on the dead-letter and parked queues, one implementation
//! behind both the `shopify-ometria dlq` CLI and the admin HTTP API.
//!
//! - [`filter`]: which messages an action applies to.
//! - [`letter`]: what a queued message says about itself (reason, stage, shop...).
//! - [`actions`]: list, show, replay, purge, history; release of parked events.
//! - [`index`]: the store's index of both queues, and the indexer that keeps it.
//! - [`exports`]: `customers/data_request` exports kept in the store.
//! - [`limits`]: the documented range of every numeric input.
//! - [`shops`]: shops' status, pause and resume, settings changes and history.
//! - [`http_api`]: the admin HTTP API (`/admin/` routes), behind a bearer token.

pub mod actions;
pub mod error;
pub mod exports;
pub mod filter;
pub mod http_api;
mod http_shops;
pub mod index;
pub mod letter;
pub mod limits;
pub mod shops;

pub use actions::{OperationReport, QueueOps, ReplayOptions, TargetQueue};
pub use error::OpsError;
pub use filter::Filter;
pub use letter::{LetterDetail, LetterSummary};
pub use shops::{ShopChangeReport, ShopLine, ShopOps, ShopStatus, ShopsOverview};
