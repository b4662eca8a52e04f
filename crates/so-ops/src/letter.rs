//! What a queued message says about itself, read from its AMQP properties:
//! the ingress's metadata, the worker's death or park headers, and
//! RabbitMQ's own `x-death` record for messages the broker dead-lettered.

use chrono::{DateTime, Utc};
use lapin::BasicProperties;
use lapin::types::AMQPValue;
use serde::Serialize;
use so_queue::{Scanned, codec};

/// One message, as listed. Contains no payload and no customer data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LetterSummary {
    /// The webhook id (`message_id`).
    pub id: String,
    /// Position in the queue when the scan started (0 = next out).
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

fn time(props: &BasicProperties, key: &str) -> Option<DateTime<Utc>> {
    codec::header(props, key)
        .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn text(props: &BasicProperties, key: &str) -> Option<String> {
    codec::header(props, key).map(str::to_owned)
}

fn number(props: &BasicProperties, key: &str) -> Option<u32> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok(),
        _ => None,
    }
}

/// The first entry of RabbitMQ's `x-death` array: (reason, time).
fn broker_death(props: &BasicProperties) -> Option<(String, Option<DateTime<Utc>>)> {
    let AMQPValue::FieldArray(deaths) = props.headers().as_ref()?.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(first) = deaths.as_slice().first()? else {
        return None;
    };
    let reason = match first.inner().get("reason")? {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        _ => return None,
    };
    let at = match first.inner().get("time") {
        Some(AMQPValue::Timestamp(t)) => {
            DateTime::from_timestamp(i64::try_from(*t).unwrap_or(0), 0)
        }
        _ => None,
    };
    Some((reason, at))
}

/// Reads a scanned message's summary.
pub fn summarize(m: &Scanned) -> LetterSummary {
    let p = &m.properties;
    let received_at = time(p, codec::RECEIVED_AT);
    let (reason, stage, at) = if let Some(reason) = text(p, codec::DEATH_REASON) {
        (
            Some(reason),
            text(p, codec::DEATH_STAGE),
            time(p, codec::DEATH_AT),
        )
    } else if let Some(reason) = text(p, codec::PARK_REASON) {
        (Some(reason), Some("parked".to_owned()), received_at)
    } else if let Some((reason, at)) = broker_death(p) {
        (Some(reason), Some("broker".to_owned()), at)
    } else {
        (None, None, received_at)
    };
    LetterSummary {
        id: p
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        position: m.position,
        topic: text(p, codec::TOPIC),
        shop: text(p, codec::SHOP),
        entity: text(p, codec::ENTITY),
        reason,
        stage,
        detail: text(p, codec::DEATH_DETAIL),
        attempts: number(p, codec::DEATH_ATTEMPTS).or_else(|| number(p, codec::ATTEMPT)),
        at: at.or(received_at),
        received_at,
        triggered_at: time(p, codec::TRIGGERED_AT),
        routing_key: m.routing_key.clone(),
        body_bytes: m.body.len(),
    }
}

fn header_json(v: &AMQPValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AMQPValue::LongString(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into()),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(n) => Value::from(*n),
        AMQPValue::ShortShortUInt(n) => Value::from(*n),
        AMQPValue::ShortInt(n) => Value::from(*n),
        AMQPValue::ShortUInt(n) => Value::from(*n),
        AMQPValue::LongInt(n) => Value::from(*n),
        AMQPValue::LongUInt(n) => Value::from(*n),
        AMQPValue::LongLongInt(n) => Value::from(*n),
        AMQPValue::Timestamp(t) => DateTime::from_timestamp(i64::try_from(*t).unwrap_or(0), 0)
            .map_or(Value::Null, |t| Value::String(t.to_rfc3339())),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(header_json).collect()),
        AMQPValue::FieldTable(t) => Value::Object(
            t.inner()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), header_json(v)))
                .collect(),
        ),
        other => Value::String(format!("{other:?}")),
    }
}

/// Reads a scanned message in full; `reveal` leaves customer data unmasked.
pub fn detail(m: &Scanned, reveal: bool) -> LetterDetail {
    let headers = m
        .properties
        .headers()
        .as_ref()
        .map(|t| {
            t.inner()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), header_json(v)))
                .collect()
        })
        .unwrap_or_default();
    let payload = match serde_json::from_slice::<serde_json::Value>(&m.body) {
        Ok(mut v) => {
            if !reveal {
                so_domain::pii::mask_json(&mut v);
            }
            v
        }
        Err(_) if reveal => serde_json::Value::String(String::from_utf8_lossy(&m.body).into()),
        Err(_) => serde_json::Value::String(format!(
            "<{} bytes, not JSON; use reveal to see them>",
            m.body.len()
        )),
    };
    LetterDetail {
        summary: summarize(m),
        headers,
        api_version: text(&m.properties, codec::API_VERSION),
        event_id: text(&m.properties, codec::EVENT_ID),
        payload_masked: !reveal,
        payload,
    }
}
