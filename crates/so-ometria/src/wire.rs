//! Ometria's response shapes and headers, and their parsing.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

/// Header with the account's push backlog capacity.
pub(crate) const QUEUE_LIMIT_HEADER: &str = "x-queuesize-limit";
/// Header with the account's remaining push backlog capacity.
pub(crate) const QUEUE_REMAINING_HEADER: &str = "x-queuesize-remaining";
/// Authentication header.
pub(crate) const AUTH_HEADER: &str = "x-ometria-auth";

/// Push backlog state reported on every push response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStatus {
    /// `X-QueueSize-Limit`, if sent.
    pub limit: Option<u64>,
    /// `X-QueueSize-Remaining`, if sent.
    pub remaining: Option<u64>,
}

impl QueueStatus {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num = |name| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let status = QueueStatus {
            limit: num(QUEUE_LIMIT_HEADER),
            remaining: num(QUEUE_REMAINING_HEADER),
        };
        (status.limit.is_some() || status.remaining.is_some()).then_some(status)
    }
}

/// Body of a 200 from `POST /v2/push`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct PushResponse {
    pub(crate) status: String,
    pub(crate) request_id: String,
    #[serde(default)]
    pub(crate) accepted: u32,
    #[serde(default)]
    pub(crate) rejected: u32,
}

/// One entry of `GET /v2/push/_errors`. The failing record itself is
/// deliberately not kept: it is customer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushError {
    /// Ometria's message, usually `"not a valid value"`.
    pub error_message: String,
    /// Where in the record, e.g. `"root > lastname"`.
    pub error_path: Option<String>,
    /// The push request it came from, when Ometria says.
    pub request_id: Option<String>,
    /// `@type` of the failing record, when Ometria says.
    pub record_type: Option<String>,
    /// `id` of the failing record, when Ometria says.
    pub record_id: Option<String>,
    /// When the error was recorded, as Ometria formats it.
    pub timestamp: Option<String>,
}

/// Either documented shape: the plain `{error_message, error_path}` or the
/// richer `{request_id, record_type, record_id, record, timestamp,
/// message:{error_message, error_path}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPushError {
    message: Option<RawMessage>,
    error_message: Option<String>,
    error_path: Option<String>,
    request_id: Option<String>,
    record_type: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    record_id: Option<String>,
    timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    error_message: Option<String>,
    error_path: Option<String>,
}

impl From<RawPushError> for PushError {
    fn from(raw: RawPushError) -> Self {
        let (nested_message, nested_path) = raw
            .message
            .map_or((None, None), |m| (m.error_message, m.error_path));
        PushError {
            error_message: nested_message.or(raw.error_message).unwrap_or_default(),
            error_path: nested_path.or(raw.error_path),
            request_id: raw.request_id,
            record_type: raw.record_type,
            record_id: raw.record_id,
            timestamp: raw.timestamp,
        }
    }
}

/// Ids are strings, but some clients send numbers; accept both.
pub(crate) fn id_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// `Retry-After` as delta-seconds or an HTTP date. Unparseable means absent:
/// Ometria documents no `Retry-After`, so nothing may depend on it.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = at.signed_duration_since(chrono::Utc::now());
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Ometria's short error message from an error body, if it has one. Capped so
/// an unexpected echo of a payload cannot travel far.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    const MAX: usize = 200;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let msg = ["message", "error", "detail", "title"]
        .iter()
        .find_map(|k| value.get(k).and_then(|v| v.as_str()))?;
    Some(msg.chars().take(MAX).collect())
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_both_error_shapes() {
        let raw: Vec<RawPushError> = serde_json::from_value(json!([
            {"error_message": "not a valid value", "error_path": "root > lastname"},
            {"request_id": "r1", "record_type": "order", "record_id": 42,
             "record": {"email": "pii@example.com"}, "timestamp": "2024-01-01T00:00:00Z",
             "message": {"error_message": "Payload invalid: Record is too large.", "error_path": "root"}}
        ]))
        .unwrap();
        let errs: Vec<PushError> = raw.into_iter().map(PushError::from).collect();
        assert_eq!(errs[0].error_message, "not a valid value");
        assert_eq!(errs[0].error_path.as_deref(), Some("root > lastname"));
        assert_eq!(errs[0].record_id, None);
        assert_eq!(
            errs[1].error_message,
            "Payload invalid: Record is too large."
        );
        assert_eq!(errs[1].record_id.as_deref(), Some("42"));
        assert_eq!(errs[1].record_type.as_deref(), Some("order"));
        assert!(!format!("{:?}", errs[1]).contains("pii@example.com"));
    }

    #[test]
    fn reads_queue_headers_when_present() {
        let mut h = HeaderMap::new();
        assert_eq!(QueueStatus::from_headers(&h), None);
        h.insert("X-QueueSize-Limit", HeaderValue::from_static("50000"));
        h.insert("X-QueueSize-Remaining", HeaderValue::from_static(" 120 "));
        assert_eq!(
            QueueStatus::from_headers(&h),
            Some(QueueStatus {
                limit: Some(50_000),
                remaining: Some(120)
            })
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_message_is_short_and_optional() {
        assert_eq!(
            error_message(br#"{"message":"API key is not authorised"}"#).as_deref(),
            Some("API key is not authorised")
        );
        assert_eq!(error_message(b"<html>"), None);
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(1_000));
        assert_eq!(error_message(long.as_bytes()).map(|m| m.len()), Some(200));
    }
}
