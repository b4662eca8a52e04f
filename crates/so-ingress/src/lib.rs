//! The webhook receiver.
//!
//! `GET /shopify/install` and `GET /shopify/callback` (when `[shopify.app]`
//! is configured) install the app with OAuth (`install.rs`).
//!
//! `POST /webhooks/shopify` answers 200 only after RabbitMQ confirmed the
//! durable publish; everything else gets a specific status and a
//! `{code, detail}` body (see [`error::ApiError`]).

pub mod app;
mod destination;
pub mod error;
pub mod install;
mod receive;
mod silence;

pub use app::{Application, IngressState};
pub use error::ApiError;
pub use install::{Connected, Install};
