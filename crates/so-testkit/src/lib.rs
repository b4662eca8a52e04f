//! Test support for shopify-ometria. Only ever a dev-dependency.
//!
//! - [`app`]: `TestApp::spawn` starts the real ingress (and ops listener) on
//!   random ports, isolated on the shared broker by a unique prefix.
//! - [`broker`]: broker URL, unique prefixes, reading and deleting queues.
//! - [`private_broker`], [`cluster`]: RabbitMQ nodes and clusters of a test's own.
//! - [`fixtures`]: Shopify's documented sample payloads and HMAC vectors.
//! - [`webhook`]: building signed webhook requests.
//! - [`private_broker`], [`private_postgres`]: a RabbitMQ node or a
//!   PostgreSQL server of a test's own, to stop, kill or alarm.
//! - [`proxy`]: an in-process TCP proxy to cut or blackhole the broker link.
//! - [`process`]: the real binary as a child process; free ports.
//! - [`service_binary`]: where that binary is, for tests of other packages.
//! - [`wait`]: `eventually`, polling with a deadline instead of sleeping.

pub mod app;
pub mod broker;
pub mod cluster;
pub mod database;
pub mod fixtures;
pub mod metrics;
pub mod own_runtime;
pub mod private_broker;
pub mod private_postgres;
pub mod process;
pub mod proxy;
pub mod service_binary;
mod topology_guard;
pub mod wait;
pub mod webhook;

pub use app::{TestApp, TestAppOptions};
pub use database::Backend;
pub use own_runtime::OwnRuntime;
pub use private_broker::PrivateBroker;
pub use private_postgres::{PrivatePostgres, StopMode};
pub use process::{ServiceProcess, free_port, stable_port};
pub use service_binary::service_binary;
pub use so_fake_ometria::{FakeConfig, FakeOmetria};
pub use wait::eventually;
pub use webhook::Webhook;

/// `database.email_key` of every test app (guest-email fingerprints).
pub const TEST_EMAIL_KEY: &str = "test-email-key-0123456789";
