//! The centre of shopify-ometria: types and decisions that need no I/O.
//!
//! Everything here is deterministic and unit-testable; adapters (queue, store,
//! Ometria, Shopify) and services depend on this crate, never the reverse.

pub mod abandonment;
pub mod behaviour;
pub mod disposition;
pub mod envelope;
pub mod errors;
pub mod freshness;
pub mod identity;
#[cfg(test)]
mod identity_props;
pub mod mapping;
pub mod merchant;
pub mod ometria;
pub mod pii;
pub mod profile_send;
pub mod routing;
pub mod schedule;
pub mod serde_duration;
pub mod serde_secret;
pub mod shop;
pub mod shopify;
pub mod subscriptions;
pub mod time;
pub mod topic;
pub mod webhook;

pub use disposition::{Disposition, ParkReason, ReasonCode, SkipReason, Stage};
pub use envelope::EventMeta;
pub use errors::error_chain;
pub use routing::{EntityKey, PayloadError, partition_for, route_payload};
pub use shop::ShopDomain;
pub use shopify::ShopifyId;
pub use topic::{Topic, TopicName};
pub use webhook::{ApiVersion, KNOWN_API_VERSIONS, WebhookId};
