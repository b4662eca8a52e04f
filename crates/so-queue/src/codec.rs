//! Event metadata <-> AMQP properties. Header names are defined once here.

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use so_domain::{ApiVersion, EntityKey, EventMeta, ShopDomain, TopicName, WebhookId};

use crate::Error;

pub const TOPIC: &str = "x-shopify-topic";
pub const SHOP: &str = "x-shopify-shop-domain";
pub const API_VERSION: &str = "x-shopify-api-version";
pub const EVENT_ID: &str = "x-shopify-event-id";
pub const TRIGGERED_AT: &str = "x-shopify-triggered-at";
pub const RECEIVED_AT: &str = "x-received-at";
pub const ENTITY: &str = "x-entity";
/// Why a message sits in the parked queue (e.g. `unsupported_topic`).
pub const PARK_REASON: &str = "x-park-reason";
/// Processing attempts so far (set when the worker re-queues for retry).
pub const ATTEMPT: &str = "x-attempt";
/// When the worker first saw the message (RFC 3339).
pub const FIRST_SEEN: &str = "x-first-seen";
/// Why the last attempt failed (reason code).
pub const RETRY_REASON: &str = "x-retry-reason";
/// Dead letters: reason code, stage, detail and attempts.
pub const DEATH_REASON: &str = "x-death-reason";
pub const DEATH_STAGE: &str = "x-death-stage";
pub const DEATH_DETAIL: &str = "x-death-detail";
pub const DEATH_ATTEMPTS: &str = "x-death-attempts";
pub const DEATH_AT: &str = "x-death-at";
/// On a copy the worker scheduled to come back later: what the copy is for
/// (`abandonment`: check whether the checkout in the body was abandoned).
pub const SCHEDULED: &str = "x-so-scheduled";

/// The attempt counter of a delivery (0 when never retried).
pub fn attempt(props: &BasicProperties) -> u32 {
    let Some(headers) = props.headers().as_ref() else {
        return 0;
    };
    match headers.inner().get(ATTEMPT) {
        Some(AMQPValue::LongLongInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongString(s)) => std::str::from_utf8(s.as_bytes())
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// A copy of `props` with `extra` headers set (replacing same-named ones)
/// and `remove` headers dropped.
pub fn with_headers(
    props: &BasicProperties,
    extra: &[(&str, AMQPValue)],
    remove: &[&str],
) -> BasicProperties {
    let mut table = props.headers().clone().unwrap_or_default();
    let mut map = table.inner().clone();
    for k in remove {
        map.remove(*k);
    }
    for (k, v) in extra {
        map.insert((*k).into(), v.clone());
    }
    table = FieldTable::from(map);
    props.clone().with_headers(table)
}

/// A string header value.
pub fn text(v: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(v))
}

/// An integer header value.
pub fn int(v: i64) -> AMQPValue {
    AMQPValue::LongLongInt(v)
}

const PERSISTENT: u8 = 2;

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn put(t: &mut FieldTable, k: &str, v: &str) {
    t.insert(k.into(), AMQPValue::LongString(LongString::from(v)));
}

/// Properties for a persistent event message. The webhook id becomes the
/// `message_id`, the idempotency key downstream.
pub fn encode(meta: &EventMeta, extra: &[(&str, &str)]) -> BasicProperties {
    let mut h = FieldTable::default();
    put(&mut h, TOPIC, meta.topic.as_str());
    put(&mut h, SHOP, meta.shop.as_str());
    put(&mut h, API_VERSION, meta.api_version.as_str());
    if let Some(id) = &meta.event_id {
        put(&mut h, EVENT_ID, id);
    }
    if let Some(t) = &meta.triggered_at {
        put(&mut h, TRIGGERED_AT, &rfc3339(t));
    }
    put(&mut h, RECEIVED_AT, &rfc3339(&meta.received_at));
    put(&mut h, ENTITY, &meta.entity.to_string());
    for (k, v) in extra {
        put(&mut h, k, v);
    }
    BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(ShortString::from(meta.webhook_id.as_str()))
        .with_timestamp(u64::try_from(meta.received_at.timestamp()).unwrap_or(0))
        .with_app_id(ShortString::from("shopify-ometria"))
        .with_headers(h)
}

/// Reads a string header (long or short string).
pub fn header<'a>(props: &'a BasicProperties, key: &str) -> Option<&'a str> {
    let value = props.headers().as_ref()?.inner().get(key)?;
    match value {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str()),
        _ => None,
    }
}

fn required<'a>(props: &'a BasicProperties, key: &'static str) -> Result<&'a str, Error> {
    header(props, key).ok_or_else(|| Error::Codec(format!("header `{key}` is missing")))
}

fn time(props: &BasicProperties, key: &'static str) -> Result<Option<DateTime<Utc>>, Error> {
    header(props, key)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Error::Codec(format!("header `{key}` is not RFC 3339")))
        })
        .transpose()
}

/// Rebuilds the metadata of a queued event.
pub fn decode(props: &BasicProperties) -> Result<EventMeta, Error> {
    let id = props
        .message_id()
        .as_ref()
        .map(ShortString::as_str)
        .unwrap_or_default();
    let webhook_id = WebhookId::parse(id).map_err(|e| Error::Codec(format!("message_id {e}")))?;
    let topic = TopicName::parse(required(props, TOPIC)?)
        .map_err(|e| Error::Codec(format!("header `{TOPIC}` {e}")))?;
    let shop = ShopDomain::parse(required(props, SHOP)?)
        .map_err(|e| Error::Codec(format!("header `{SHOP}` {e}")))?;
    let api_version = ApiVersion::parse(required(props, API_VERSION)?)
        .map_err(|e| Error::Codec(format!("header `{API_VERSION}` {e}")))?;
    let entity = EntityKey::parse(required(props, ENTITY)?)
        .ok_or_else(|| Error::Codec(format!("header `{ENTITY}` is malformed")))?;
    let received_at = time(props, RECEIVED_AT)?
        .ok_or_else(|| Error::Codec(format!("header `{RECEIVED_AT}` is missing")))?;
    Ok(EventMeta {
        webhook_id,
        topic,
        shop,
        api_version,
        event_id: header(props, EVENT_ID).map(str::to_owned),
        triggered_at: time(props, TRIGGERED_AT)?,
        received_at,
        entity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use so_domain::Topic;

    #[test]
    fn metadata_round_trips() {
        let meta = EventMeta {
            webhook_id: WebhookId::parse("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").unwrap(),
            topic: TopicName::Known(Topic::OrdersCreate),
            shop: ShopDomain::parse("a.myshopify.com").unwrap(),
            api_version: ApiVersion::parse("2026-07").unwrap(),
            event_id: Some("98880550-7158-44d4-b7cd-2c97c8a091b5".into()),
            triggered_at: Some("2026-11-22T10:00:00.123Z".parse().unwrap()),
            received_at: "2026-11-22T10:00:01.456Z".parse().unwrap(),
            entity: EntityKey::Order(820_982_911_946_154_508),
        };
        let props = encode(&meta, &[(PARK_REASON, "x")]);
        assert_eq!(decode(&props).unwrap(), meta);
        assert_eq!(header(&props, PARK_REASON), Some("x"));
        assert_eq!(*props.delivery_mode(), Some(2));
    }
}
