//! Shopify adapter.
//!
//! - [`hmac`]: `X-Shopify-Hmac-Sha256` verification over the raw body bytes.
//! - [`headers`]: reading and validating Shopify's webhook headers, with or
//!   without the `X-` prefix.
//! - [`webhook`]: the `RawWebhook<Unverified>` -> `RawWebhook<Verified>` typestate.

pub mod headers;
pub mod hmac;
pub mod webhook;

pub use headers::{HeaderError, ShopifyHeaders, WebhookHeaders};
pub use hmac::{HmacError, sign, verify};
pub use webhook::{RawWebhook, Unverified, Verified};
