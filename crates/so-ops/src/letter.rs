//! What a queued message says about itself, read from its typed headers:
//! the ingress's metadata, the worker's death or park headers, and
//! RabbitMQ's own `x-death` record for messages the broker dead-lettered.

use chrono::{DateTime, Utc};
use serde::Serialize;
use so_queue::{HeaderValue, Scanned};

/// One message, as listed. Contains no payload and no customer data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LetterSummary {
    /// The webhook id (`message_id`).
    pub id: String,
    /// From a scan: position in the queue when it started (0 = next out).
    /// From the index: rank among the listing's matches (0 = oldest).
    pub position: u32,
    pub topic: Option<String>,
    pub shop: Option<String>,
    /// `order:<id>`, `customer:<id>`, ... (Shopify ids, not personal data).
    pub entity: Option<String>,
    /// Reason code: the worker's `x-death-reason`, the broker's `x-death`
    /// reason (e.g. `delivery_limit`), or the park reason.
    pub reason: Option<String>,
    /// `decode`, `config`, `store`, `map`, `push`, `retry`; `broker` when
    /// RabbitMQ dead-lettered it; `parked` for parked messages.
    pub stage: Option<String>,
    /// The worker's `x-death-detail`, or the ingress's `x-park-detail`.
    pub detail: Option<String>,
    pub attempts: Option<u32>,
    /// When it was dead-lettered (or, for parked messages, received).
    pub at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub routing_key: String,
    pub body_bytes: usize,
}

/// One message, in full: its summary, every header, and the payload with
/// customer data masked unless revealed.
#[derive(Debug, Clone, Serialize)]
pub struct LetterDetail {
    #[serde(flatten)]
    pub summary: LetterSummary,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub api_version: Option<String>,
    pub event_id: Option<String>,
    pub payload_masked: bool,
    /// The payload as JSON, or as text when it is not JSON.
    pub payload: serde_json::Value,
}

/// Reads a scanned message's summary.
pub fn summarize(m: &Scanned) -> LetterSummary {
    summarize_parts(m.headers(), m.position, &m.routing_key, m.body.len())
}

/// Reads a summary from a message's headers (a scanned message, or the
/// index's copy of one).
pub(crate) fn summarize_parts(
    h: &so_queue::Headers,
    position: u32,
    routing_key: &str,
    body_bytes: usize,
) -> LetterSummary {
    let (reason, stage, at) = if let Some(reason) = &h.death_reason {
        (Some(reason.clone()), h.death_stage.clone(), h.death_at)
    } else if let Some(reason) = &h.park_reason {
        (
            Some(reason.clone()),
            Some("parked".to_owned()),
            h.received_at,
        )
    } else if let Some(death) = &h.broker_death {
        (
            Some(death.reason.clone()),
            Some("broker".to_owned()),
            death.at,
        )
    } else {
        (None, None, h.received_at)
    };
    LetterSummary {
        id: h.message_id.clone().unwrap_or_default(),
        position,
        topic: h.topic.clone(),
        shop: h.shop.clone(),
        entity: h.entity.clone(),
        reason,
        stage,
        detail: h.death_detail.clone().or_else(|| h.park_detail.clone()),
        attempts: h.death_attempts.or(h.attempt),
        at: at.or(h.received_at),
        received_at: h.received_at,
        triggered_at: h.triggered_at,
        routing_key: routing_key.to_owned(),
        body_bytes,
    }
}

fn header_json(v: &HeaderValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        HeaderValue::Text(s) => Value::String(s.clone()),
        HeaderValue::Bytes(b) => Value::String(String::from_utf8_lossy(b).into()),
        HeaderValue::Bool(b) => Value::Bool(*b),
        HeaderValue::Int(n) => Value::from(*n),
        HeaderValue::Timestamp(t) => DateTime::from_timestamp(i64::try_from(*t).unwrap_or(0), 0)
            .map_or(Value::Null, |t| Value::String(t.to_rfc3339())),
        HeaderValue::List(a) => Value::Array(a.iter().map(header_json).collect()),
        HeaderValue::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), header_json(v))).collect())
        }
        HeaderValue::Other(text) => Value::String(text.clone()),
    }
}

/// Every header of a message, as JSON (in name order).
pub(crate) fn headers_json(
    envelope: &so_queue::Envelope,
) -> serde_json::Map<String, serde_json::Value> {
    envelope
        .all_headers()
        .iter()
        .map(|(k, v)| (k.clone(), header_json(v)))
        .collect()
}

/// The payload as shown: JSON with customer data masked unless revealed,
/// or a placeholder for a body that is not JSON.
pub(crate) fn payload_json(body: &[u8], reveal: bool) -> serde_json::Value {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            if !reveal {
                so_domain::pii::mask_json(&mut v);
            }
            v
        }
        Err(_) if reveal => serde_json::Value::String(String::from_utf8_lossy(body).into()),
        Err(_) => serde_json::Value::String(format!(
            "<{} bytes, not JSON; use reveal to see them>",
            body.len()
        )),
    }
}

/// Reads a scanned message in full; `reveal` leaves customer data unmasked.
pub fn detail(m: &Scanned, reveal: bool) -> LetterDetail {
    let payload = payload_json(&m.body, reveal);
    LetterDetail {
        summary: summarize(m),
        headers: headers_json(m.envelope()),
        api_version: m.headers().api_version.clone(),
        event_id: m.headers().event_id.clone(),
        payload_masked: !reveal,
        payload,
    }
}
