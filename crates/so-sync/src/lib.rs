//! The jobs beside the webhooks.
//!
//! Shopify says not to rely on webhooks alone, and a merchant needs their
//! history in Ometria on the first day. Everything here feeds the same
//! queue and worker path as webhooks ([`publish`]), so dedupe, staleness,
//! identity, merchant rules and the Ometria budget apply unchanged:
//!
//! - [`backfill`]: customers, orders, products and abandoned checkouts from
//!   the Admin API's bulk operations, resumable from a checkpoint;
//! - [`consent`]: Ometria unsubscribes written back to Shopify;
//! - [`reconcile`]: what Shopify has against what was delivered, with repair;
//! - [`profiles`]: profile sends, on demand and daily;
//! - [`scheduler`]: the periodic runs inside `shopify-ometria run`;
//! - [`webhooks`]: the shop-specific webhook subscriptions checked and repaired;
//! - [`clients`]: a shop's Shopify Admin API and Ometria clients from the configuration.

pub mod access_report;
pub mod backfill;
pub mod clients;
pub mod consent;
mod error;
pub mod profiles;
pub mod publish;
pub mod reconcile;
pub mod scheduler;
pub mod shop_status;
pub mod webhooks;

pub use error::SyncError;
pub(crate) use so_domain::error_chain;
