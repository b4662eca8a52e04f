//! RabbitMQ adapter: everything that speaks AMQP lives here.
//!
//! - [`settings`]: the `[amqp]` configuration section.
//! - [`names`]: exchange and queue names derived from the prefix.
//! - [`topology`]: idempotent declaration of the whole topology.
//! - [`link`]: a supervised connection that reconnects with backoff.
//! - [`publisher`]: persistent, mandatory publishing with confirms and timeouts.
//! - [`codec`]: event metadata <-> AMQP properties and headers.
//! - [`stats`]: queue depths and consumer counts.

pub mod codec;
pub mod consumer;
pub mod error;
pub mod link;
pub mod names;
pub mod publisher;
pub mod scan;
pub mod settings;
pub mod stats;
pub mod topology;

pub use consumer::{AckOutcome, Delivery, consume_partitions};
pub use error::{Error, PublishError};
pub use link::{Broker, LinkState};
pub use names::{Names, QueueRole};
pub use publisher::{DeathNote, Publisher, Route};
pub use scan::{OrderedPublisher, QueueScan, Scanned};
pub use settings::AmqpSettings;
pub use stats::QueueStat;
