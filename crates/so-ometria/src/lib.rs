//! Ometria Data API adapter.
//!
//! - [`Client`]: `POST /v2/push` and `GET /v2/push/_errors`, paced by a shared
//!   [`RateLimiter`], with short retries through [`RetryPolicy`]; reading
//!   back unsubscribes and profiles ([`Client::unsubscribes`],
//!   [`Client::profile`], [`Client::profiles_by_email`]); merge-profile and
//!   the GDPR data-deletion API ([`Client::request_erasure`]) on slow lanes
//!   of their own that answer "busy" rather than wait.
//! - [`plan_batches`]: coalescing, size checks, local validation of what
//!   Ometria documents ([`validate_record`]) and chunking into valid requests.
//! - [`classify`]: *whether* a failure is transient, as a [`Verdict`] or a
//!   [`so_domain::Disposition`]; *when* to retry belongs to [`RetryPolicy`].

mod batch;
mod classify;
mod client;
mod error;
mod limiter;
mod retry;
mod settings;
mod timestamp;
mod validate;
mod wire;

pub use batch::{
    Batch, BatchPlan, Coalescing, Oversized, plan_batches, plan_batches_with, serialized_len,
};
pub use classify::{RETRY_AFTER_CEILING, Verdict, classify, classify_status};
pub use client::{
    Client, ErasureError, ErasureRequest, MarketingOptin, MergeError, Profile, ProfileIdentity,
    PushFailure, PushOutcome, Unsubscribe,
};
pub use error::{Error, InvalidRequest};
pub use limiter::RateLimiter;
pub use retry::{Attempted, RetryPolicy};
pub use settings::{OmetriaSettings, RetrySettings, SettingsError};
pub use validate::{Invalid, MAX_EVENT_TYPE_CHARS, MAX_PROPERTY_STRING_CHARS, validate_record};
pub use wire::{PushError, QueueStatus};
