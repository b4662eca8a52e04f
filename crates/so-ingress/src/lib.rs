//! The webhook receiver.
//!
//! `POST /webhooks/shopify` answers 200 only after RabbitMQ confirmed the
//! durable publish; everything else gets a specific status and a
//! `{code, detail}` body (see [`error::ApiError`]).

pub mod app;
mod destination;
pub mod error;
mod receive;
mod silence;

pub use app::{Application, IngressState};
pub use error::ApiError;
