//! Process plumbing shared by every service of shopify-ometria.

pub mod config;
pub mod metrics;
pub mod ops;
pub mod secrets;
pub mod shutdown;
pub mod telemetry;

pub use config::{Config, ConfigError, ShopAdmin, ShopSettings, SyncSettings, WorkerSettings};
pub use shutdown::{Shutdown, shutdown_on_signal};
