//! The platform every service process of shopify-ometria stands on: typed
//! configuration, tracing, metrics, the ops HTTP server and shutdown (not an
//! async runtime; tokio is that).

pub mod config;
pub mod metrics;
pub mod oauth_vault;
pub mod ops;
pub mod secrets;
pub mod shops_live;
pub mod shutdown;
pub mod telemetry;
pub mod webhook_metrics;

pub use config::{
    Config, ConfigError, RejectionSettings, ShopAdmin, ShopSettings, SyncSettings, WorkerSettings,
};
pub use shutdown::{Shutdown, shutdown_on_signal};
