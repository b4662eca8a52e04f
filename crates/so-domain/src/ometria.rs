//! The unit of delivery to Ometria's Data API (`POST /v2/push`).
//!
//! Mapping (Shopify payload -> Ometria record) produces [`PushRecord`]s; the
//! Ometria client batches them (one [`RecordType`] per request, at most 100
//! per request, each at most 60 KB) and coalesces several updates of the same
//! `(type, id)` into the latest one.

use serde::{Deserialize, Serialize};

/// Ometria record types (`"@type"`). One type per push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Contact,
    Order,
    Product,
    CustomEvent,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Contact => "contact",
            RecordType::Order => "order",
            RecordType::Product => "product",
            RecordType::CustomEvent => "custom_event",
        }
    }
}

/// One record ready to push: its JSON object already contains `@type` and
/// `id`, duplicated here so batching and coalescing need not re-parse it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRecord {
    pub record_type: RecordType,
    /// Ometria record id. Never contains PII (see docs/identity.md).
    pub id: String,
    pub body: serde_json::Map<String, serde_json::Value>,
}

/// Ometria's documented per-record size limit.
pub const MAX_RECORD_BYTES: usize = 60 * 1024;
/// Ometria's documented per-request record limit.
pub const MAX_RECORDS_PER_REQUEST: usize = 100;
