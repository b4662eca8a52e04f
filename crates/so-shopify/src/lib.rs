//! Shopify adapter.
//!
//! - [`hmac`]: `X-Shopify-Hmac-Sha256` verification over the raw body bytes.
//! - [`headers`]: reading and validating Shopify's webhook headers, with or
//!   without the `X-` prefix.
//! - [`admit`]: what an authenticated webhook's headers are worth: a
//!   missing required header is an error, a malformed one an irregularity
//!   that parks the event or is counted.
//! - [`webhook`]: the `RawWebhook<Unverified>` -> `RawWebhook<Verified>` typestate.

pub mod admit;
pub mod headers;
pub mod hmac;
pub mod webhook;

pub use admit::{Admitted, Irregular, Irregularity};
pub use headers::{HeaderError, ShopifyHeaders, WebhookHeaders};
pub use hmac::{HmacError, sign, verify};
pub use webhook::{RawWebhook, Unverified, Verified};
