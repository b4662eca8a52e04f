//! `[ingress]`: the webhook receiver (`so-ingress`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[ingress]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngressSettings {
    /// Address of the webhook listener.
    pub listen: SocketAddr,
    /// Largest accepted body. The default (2 MiB) holds an order with 250
    /// fully detailed line items with room to spare.
    pub max_body_bytes: usize,
    /// How long a client may take to send the body before 408 (slow senders
    /// would otherwise hold connections open), in milliseconds. Kept as a
    /// number: the 408's detail reports it in these units.
    pub body_timeout_ms: u64,
    /// Seconds in the `Retry-After` of a 503.
    pub retry_after_secs: u32,
}

impl Default for IngressSettings {
    fn default() -> Self {
        IngressSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 2 * 1024 * 1024,
            body_timeout_ms: 10_000,
            retry_after_secs: 5,
        }
    }
}

impl IngressSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            out.push("ingress.max_body_bytes must be between 1024 and 67108864".to_owned());
        }
        if !(100..=60_000).contains(&self.body_timeout_ms) {
            out.push("ingress.body_timeout_ms must be 100..=60000".to_owned());
        }
        out
    }
}
