//! Ometria Data API adapter.
//!
//! - [`Client`]: `POST /v2/push` and `GET /v2/push/_errors`, paced by a shared
//!   [`RateLimiter`], with short retries through [`RetryPolicy`].
//! - [`plan_batches`]: coalescing, size checks and chunking into valid requests.
//! - [`classify`]: *whether* a failure is transient, as a [`Verdict`] or a
//!   [`so_domain::Disposition`]; *when* to retry belongs to [`RetryPolicy`].

mod batch;
mod classify;
mod client;
mod error;
mod limiter;
mod retry;
mod settings;
mod wire;

pub use batch::{Batch, BatchPlan, Oversized, plan_batches, serialized_len};
pub use classify::{RETRY_AFTER_CEILING, Verdict, classify, classify_status};
pub use client::{Client, MergeError, PushFailure, PushOutcome};
pub use error::{Error, InvalidRequest};
pub use limiter::RateLimiter;
pub use retry::{Attempted, RetryPolicy};
pub use settings::{OmetriaSettings, RetrySettings, SettingsError};
pub use wire::{PushError, QueueStatus};
