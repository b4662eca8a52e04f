//! RabbitMQ adapter: everything that speaks AMQP lives here.
//!
//! - [`settings`]: the `[amqp]` configuration section (`addresses`: its list of broker URLs).
//! - [`names`]: exchange and queue names derived from the prefix.
//! - [`topology`]: idempotent declaration of the whole topology.
//! - [`link`]: a supervised connection that reconnects with backoff.
//! - [`publisher`]: persistent, mandatory publishing with confirms and timeouts, on a
//!   connection of its own (`publish_conn`, `publish_io`, `wire`, `confirms`).
//! - [`codec`]: event metadata -> AMQP properties; the headers each move of a message sets.
//! - [`headers`]: what a queued message says about itself, decoded once.
//! - [`consumer`], [`delivery`]: consuming the work partitions; ack, requeue, retry, park,
//!   dead-letter or schedule a delivery.
//! - [`scan`]: walking the dead-letter and parked queues for operators.
//! - [`feed`]: consuming the copies of dead letters and parked events for the operators' index.
//! - [`stats`]: queue depths and consumer counts.
//! - [`probe`]: inspection and raw publishing for tests and benchmarks.
//!
//! No other crate depends on lapin: what they need of AMQP is here.

mod addresses;
pub mod codec;
mod confirms;
pub mod consumer;
pub mod delivery;
pub mod error;
mod event_header;
pub mod feed;
pub mod headers;
pub mod link;
pub mod names;
pub mod probe;
mod publish_conn;
mod publish_io;
mod publish_slots;
pub mod publisher;
pub mod scan;
pub mod settings;
pub mod stats;
pub mod topology;
mod wire;

pub use consumer::consume_partitions;
pub use delivery::{AckOutcome, Delivery};
pub use error::{ChannelError, Error, PublishError};
pub use feed::{CopyOf, IndexCopy, IndexFeed};
pub use headers::{BrokerDeath, Envelope, HeaderValue, Headers};
pub use link::{Broker, LinkState};
pub use names::{Names, QueueRole};
pub use publisher::{DeathNote, Publisher};
pub use scan::{OrderedPublisher, QueueScan, Scanned};
pub use settings::AmqpSettings;
pub use stats::QueueStat;
