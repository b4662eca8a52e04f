//! A bulk operation's id, status and counts, as Shopify reports them.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A bulk operation's global id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct BulkOperationId(pub String);

impl BulkOperationId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    Failed,
    Expired,
    #[serde(other)]
    Unknown,
}

impl BulkStatus {
    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BulkStatus::Completed | BulkStatus::Canceled | BulkStatus::Failed | BulkStatus::Expired
        )
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Canceling => "CANCELING",
            BulkStatus::Canceled => "CANCELED",
            BulkStatus::Failed => "FAILED",
            BulkStatus::Expired => "EXPIRED",
            BulkStatus::Unknown => "UNKNOWN",
        }
    }
}

/// `BulkOperation`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub id: BulkOperationId,
    pub status: BulkStatus,
    /// e.g. `ACCESS_DENIED`, `INTERNAL_SERVER_ERROR`, `TIMEOUT`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Lines in the result (`UnsignedInt64`, sent as a string).
    #[serde(default, deserialize_with = "u64_ish")]
    pub object_count: u64,
    #[serde(default, deserialize_with = "u64_ish")]
    pub root_object_count: u64,
    /// The JSONL result; `None` when the query matched nothing.
    #[serde(default)]
    pub url: Option<String>,
    /// What had been written when an operation failed.
    #[serde(default)]
    pub partial_data_url: Option<String>,
}

fn u64_ish<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(serde::de::Error::custom),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("not an unsigned integer")),
        Some(other) => Err(serde::de::Error::custom(format!("unexpected {other}"))),
    }
}
