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
    /// Largest accepted header section (every header's name and value plus
    /// 4 bytes of `: ` and CRLF each); larger requests get 431 before their
    /// body is read.
    pub max_header_bytes: usize,
}

/// The most `ingress.max_header_bytes` may be: hyper's HTTP/1 read buffer
/// (its default `max_buf_size`, 408 KiB) must hold the request line and the
/// whole header section before the handler runs, and a request hyper itself
/// refuses gets a bare 431 without our `{code, detail}` body. A quarter
/// below it leaves room for the request line and hyper's own accounting.
const MAX_HEADER_BYTES_LIMIT: usize = 256 * 1024;

impl Default for IngressSettings {
    fn default() -> Self {
        IngressSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 2 * 1024 * 1024,
            body_timeout_ms: 10_000,
            retry_after_secs: 5,
            max_header_bytes: 32 * 1024,
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
        if !(4096..=MAX_HEADER_BYTES_LIMIT).contains(&self.max_header_bytes) {
            out.push(format!(
                "ingress.max_header_bytes must be between 4096 and {MAX_HEADER_BYTES_LIMIT} \
                 (hyper's own header buffer must stay larger)"
            ));
        }
        out
    }
}
