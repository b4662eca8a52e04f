//! What a queued message says about itself, decoded once when it is taken
//! from its queue, so consumers, operators and tests read typed fields
//! instead of AMQP tables.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use so_domain::{ApiVersion, EntityKey, EventMeta, ShopDomain, TopicName, WebhookId};

use crate::{Error, codec};

/// The headers (and the few properties) this service reads back. Text
/// fields are kept as sent, so a malformed message can still be listed;
/// [`Envelope::event_meta`] is the strict reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headers {
    /// `message_id`: the webhook id.
    pub message_id: Option<String>,
    /// `delivery_mode` (2 = persistent).
    pub delivery_mode: Option<u8>,
    pub topic: Option<String>,
    pub shop: Option<String>,
    pub api_version: Option<String>,
    pub event_id: Option<String>,
    /// `order:<id>`, `customer:<id>`, ...
    pub entity: Option<String>,
    /// Unset (or unreadable) when not RFC 3339.
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// Processing attempts so far; unset until the worker re-queues it.
    pub attempt: Option<u32>,
    pub retry_reason: Option<String>,
    /// When the worker first re-queued or dead-lettered it (as sent).
    pub first_seen: Option<String>,
    /// What a scheduled copy is for (e.g. `abandonment`).
    pub scheduled: Option<String>,
    /// When a scheduled copy first fell due.
    pub due_at: Option<DateTime<Utc>>,
    pub park_reason: Option<String>,
    /// What exactly the ingress found wrong with a webhook it parked.
    pub park_detail: Option<String>,
    /// The worker's dead-letter note.
    pub death_reason: Option<String>,
    pub death_stage: Option<String>,
    pub death_detail: Option<String>,
    pub death_attempts: Option<u32>,
    pub death_at: Option<DateTime<Utc>>,
    /// The first entry of RabbitMQ's own `x-death` record, for messages the
    /// broker dead-lettered or expired.
    pub broker_death: Option<BrokerDeath>,
}

/// Why (and when) RabbitMQ itself dead-lettered a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerDeath {
    /// e.g. `delivery_limit`, `expired`.
    pub reason: String,
    pub at: Option<DateTime<Utc>>,
}

/// One header value, for showing every header of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    Text(String),
    /// A long string that is not UTF-8.
    Bytes(Vec<u8>),
    Bool(bool),
    Int(i64),
    /// Seconds since the epoch.
    Timestamp(u64),
    List(Vec<HeaderValue>),
    Table(BTreeMap<String, HeaderValue>),
    /// Any other AMQP type (floats, decimals, byte arrays), as debug text.
    Other(String),
}

impl HeaderValue {
    fn of(v: &AMQPValue) -> HeaderValue {
        match v {
            AMQPValue::LongString(s) => match std::str::from_utf8(s.as_bytes()) {
                Ok(s) => HeaderValue::Text(s.to_owned()),
                Err(_) => HeaderValue::Bytes(s.as_bytes().to_vec()),
            },
            AMQPValue::ShortString(s) => HeaderValue::Text(s.as_str().to_owned()),
            AMQPValue::Boolean(b) => HeaderValue::Bool(*b),
            AMQPValue::ShortShortInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::ShortShortUInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::ShortInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::ShortUInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::LongInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::LongUInt(n) => HeaderValue::Int(i64::from(*n)),
            AMQPValue::LongLongInt(n) => HeaderValue::Int(*n),
            AMQPValue::Timestamp(t) => HeaderValue::Timestamp(*t),
            AMQPValue::FieldArray(a) => {
                HeaderValue::List(a.as_slice().iter().map(HeaderValue::of).collect())
            }
            AMQPValue::FieldTable(t) => HeaderValue::Table(table(t)),
            other => HeaderValue::Other(format!("{other:?}")),
        }
    }
}

fn table(t: &FieldTable) -> BTreeMap<String, HeaderValue> {
    t.inner()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), HeaderValue::of(v)))
        .collect()
}

/// A message's AMQP properties as they came, with its headers decoded once.
/// The properties stay inside so-queue: copies the worker re-queues,
/// parks or dead-letters carry them on unchanged but for the headers their
/// move sets.
#[derive(Debug, Clone)]
pub struct Envelope {
    properties: BasicProperties,
    headers: Headers,
}

impl Envelope {
    /// The properties the ingress publishes an accepted webhook with.
    pub fn event(meta: &EventMeta) -> Envelope {
        Envelope::from_properties(codec::encode(meta, &[]))
    }

    pub(crate) fn from_properties(properties: BasicProperties) -> Envelope {
        let headers = read(&properties);
        Envelope {
            properties,
            headers,
        }
    }

    pub(crate) fn properties(&self) -> &BasicProperties {
        &self.properties
    }

    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The copy an operator replay sends back to work: marked with the
    /// operation, without the headers of the message's earlier life; with
    /// `entity` as derived anew from the payload when there is one (the
    /// entity header of a parked copy may be absent or stale).
    pub fn replayed(&self, operation_id: &str, entity: Option<&EntityKey>) -> Envelope {
        let entity = entity.map(ToString::to_string);
        Envelope::from_properties(codec::replayed(
            &self.properties,
            operation_id,
            entity.as_deref(),
        ))
    }

    /// A text header by name (long or short string).
    pub fn header(&self, key: &str) -> Option<&str> {
        codec::header(&self.properties, key)
    }

    /// Every header, by name.
    pub fn all_headers(&self) -> BTreeMap<String, HeaderValue> {
        self.properties
            .headers()
            .as_ref()
            .map(table)
            .unwrap_or_default()
    }

    /// The event's metadata; an error names the first missing or malformed
    /// header. Built from the headers decoded when the message was taken;
    /// only a time that did not decode sends it back to the raw header, to
    /// tell "missing" from "malformed".
    pub fn event_meta(&self) -> Result<EventMeta, Error> {
        let h = &self.headers;
        let id = h.message_id.as_deref().unwrap_or_default();
        let webhook_id =
            WebhookId::parse(id).map_err(|e| Error::Codec(format!("message_id {e}")))?;
        let topic = TopicName::parse(required(&h.topic, codec::TOPIC)?)
            .map_err(|e| Error::Codec(format!("header `{}` {e}", codec::TOPIC)))?;
        let shop = ShopDomain::parse(required(&h.shop, codec::SHOP)?)
            .map_err(|e| Error::Codec(format!("header `{}` {e}", codec::SHOP)))?;
        let api_version = ApiVersion::parse(required(&h.api_version, codec::API_VERSION)?)
            .map_err(|e| Error::Codec(format!("header `{}` {e}", codec::API_VERSION)))?;
        let entity = EntityKey::parse(required(&h.entity, codec::ENTITY)?)
            .ok_or_else(|| Error::Codec(format!("header `{}` is malformed", codec::ENTITY)))?;
        let received_at = self
            .strict_time(h.received_at, codec::RECEIVED_AT)?
            .ok_or_else(|| Error::Codec(format!("header `{}` is missing", codec::RECEIVED_AT)))?;
        Ok(EventMeta {
            webhook_id,
            topic,
            shop,
            api_version,
            event_id: h.event_id.clone(),
            triggered_at: self.strict_time(h.triggered_at, codec::TRIGGERED_AT)?,
            received_at,
            entity,
        })
    }

    /// A decoded time, or the error a present but malformed one deserves.
    fn strict_time(
        &self,
        decoded: Option<DateTime<Utc>>,
        key: &'static str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        match (decoded, codec::header(&self.properties, key)) {
            (Some(t), _) => Ok(Some(t)),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Error::Codec(format!("header `{key}` is not RFC 3339"))),
        }
    }
}

fn required<'a>(value: &'a Option<String>, key: &'static str) -> Result<&'a str, Error> {
    value
        .as_deref()
        .ok_or_else(|| Error::Codec(format!("header `{key}` is missing")))
}

fn read(props: &BasicProperties) -> Headers {
    let text = |key| codec::header(props, key).map(str::to_owned);
    let time = |key| {
        codec::header(props, key)
            .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Headers {
        message_id: props
            .message_id()
            .as_ref()
            .map(|s| ShortString::as_str(s).to_owned()),
        delivery_mode: *props.delivery_mode(),
        topic: text(codec::TOPIC),
        shop: text(codec::SHOP),
        api_version: text(codec::API_VERSION),
        event_id: text(codec::EVENT_ID),
        entity: text(codec::ENTITY),
        triggered_at: time(codec::TRIGGERED_AT),
        received_at: time(codec::RECEIVED_AT),
        attempt: number(props, codec::ATTEMPT),
        retry_reason: text(codec::RETRY_REASON),
        first_seen: text(codec::FIRST_SEEN),
        scheduled: text(codec::SCHEDULED),
        due_at: time(codec::DUE_AT),
        park_reason: text(codec::PARK_REASON),
        park_detail: text(codec::PARK_DETAIL),
        death_reason: text(codec::DEATH_REASON),
        death_stage: text(codec::DEATH_STAGE),
        death_detail: text(codec::DEATH_DETAIL),
        death_attempts: number(props, codec::DEATH_ATTEMPTS),
        death_at: time(codec::DEATH_AT),
        broker_death: broker_death(props),
    }
}

/// A counter header: the worker writes 64-bit integers; strings of digits
/// are accepted from hand-made messages.
fn number(props: &BasicProperties, key: &str) -> Option<u32> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok(),
        _ => None,
    }
}

fn broker_death(props: &BasicProperties) -> Option<BrokerDeath> {
    let AMQPValue::FieldArray(deaths) =
        props.headers().as_ref()?.inner().get(codec::BROKER_DEATH)?
    else {
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
    Some(BrokerDeath { reason, at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use so_domain::Topic;

    fn meta() -> EventMeta {
        EventMeta {
            webhook_id: WebhookId::parse("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").unwrap(),
            topic: TopicName::Known(Topic::OrdersCreate),
            shop: ShopDomain::parse("a.myshopify.com").unwrap(),
            api_version: ApiVersion::parse("2026-07").unwrap(),
            event_id: Some("98880550-7158-44d4-b7cd-2c97c8a091b5".into()),
            triggered_at: Some("2026-11-22T10:00:00.123Z".parse().unwrap()),
            received_at: "2026-11-22T10:00:01.456Z".parse().unwrap(),
            entity: EntityKey::Order(820_982_911_946_154_508),
        }
    }

    #[test]
    fn metadata_round_trips() {
        let meta = meta();
        let envelope =
            Envelope::from_properties(codec::encode(&meta, &[(codec::PARK_REASON, "x")]));
        assert_eq!(envelope.event_meta().unwrap(), meta);
        assert_eq!(envelope.header(codec::PARK_REASON), Some("x"));
        let h = envelope.headers();
        assert_eq!(h.park_reason.as_deref(), Some("x"));
        assert_eq!(h.delivery_mode, Some(2));
        assert_eq!(h.message_id.as_deref(), Some(meta.webhook_id.as_str()));
        assert_eq!(h.topic.as_deref(), Some("orders/create"));
        assert_eq!(h.entity.as_deref(), Some("order:820982911946154508"));
        assert_eq!(h.received_at, Some(meta.received_at));
        assert_eq!(h.triggered_at, meta.triggered_at);
        assert_eq!(h.attempt, None);
        assert_eq!(h.broker_death, None);
    }

    #[test]
    fn a_malformed_time_is_unset_but_refused_as_metadata() {
        let props = codec::with_headers(
            &codec::encode(&meta(), &[]),
            &[(codec::RECEIVED_AT, codec::text("yesterday"))],
            &[],
        );
        let envelope = Envelope::from_properties(props);
        assert_eq!(envelope.headers().received_at, None);
        let e = envelope.event_meta().unwrap_err();
        assert!(e.to_string().contains("x-received-at"), "{e}");
    }

    #[test]
    fn counters_and_the_broker_death_are_read() {
        let mut death = FieldTable::default();
        death.insert("reason".into(), codec::text("delivery_limit"));
        death.insert("time".into(), AMQPValue::Timestamp(1_700_000_000));
        let props = codec::with_headers(
            &codec::encode(&meta(), &[]),
            &[
                (codec::ATTEMPT, codec::int(3)),
                (codec::DEATH_ATTEMPTS, codec::text("4")),
                (
                    codec::BROKER_DEATH,
                    AMQPValue::FieldArray(vec![AMQPValue::FieldTable(death)].into()),
                ),
            ],
            &[],
        );
        let envelope = Envelope::from_properties(props);
        let h = envelope.headers();
        assert_eq!(h.attempt, Some(3));
        assert_eq!(h.death_attempts, Some(4));
        let death = h.broker_death.clone().unwrap();
        assert_eq!(death.reason, "delivery_limit");
        assert_eq!(death.at.map(|t| t.timestamp()), Some(1_700_000_000));
        assert!(matches!(
            envelope.all_headers().get(codec::BROKER_DEATH),
            Some(HeaderValue::List(l)) if matches!(&l[0], HeaderValue::Table(_))
        ));
    }
}
