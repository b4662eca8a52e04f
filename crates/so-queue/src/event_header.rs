//! The properties of an accepted webhook's message written straight into
//! its content header frame: the bytes amq-protocol writes for
//! [`codec::encode`]'s `BasicProperties` (a test compares them), without
//! building those per webhook (a table of short and long strings, about
//! twenty allocations).

use so_domain::EventMeta;

use crate::codec::{self, APP_ID, CONTENT_TYPE, PERSISTENT};

// Property flags of the basic class (AMQP 0-9-1 §4.2.6.1), first property
// in the highest bit.
const CONTENT_TYPE_FLAG: u16 = 1 << 15;
const HEADERS_FLAG: u16 = 1 << 13;
const DELIVERY_MODE_FLAG: u16 = 1 << 12;
const MESSAGE_ID_FLAG: u16 = 1 << 7;
const TIMESTAMP_FLAG: u16 = 1 << 6;
const APP_ID_FLAG: u16 = 1 << 3;

/// Appends the property flags and list of `meta`'s message (no extra
/// headers) to `out`.
pub(crate) fn event_properties(meta: &EventMeta, out: &mut Vec<u8>) {
    let flags = CONTENT_TYPE_FLAG
        | HEADERS_FLAG
        | DELIVERY_MODE_FLAG
        | MESSAGE_ID_FLAG
        | TIMESTAMP_FLAG
        | APP_ID_FLAG;
    out.extend_from_slice(&flags.to_be_bytes());
    short_string(out, CONTENT_TYPE);
    headers(meta, out);
    out.push(PERSISTENT);
    short_string(out, meta.webhook_id.as_str());
    let timestamp = u64::try_from(meta.received_at.timestamp()).unwrap_or(0);
    out.extend_from_slice(&timestamp.to_be_bytes());
    short_string(out, APP_ID);
}

/// The header table, in key order as amq-protocol's `BTreeMap` writes it.
fn headers(meta: &EventMeta, out: &mut Vec<u8>) {
    let received = codec::rfc3339(&meta.received_at);
    let triggered = meta.triggered_at.as_ref().map(codec::rfc3339);
    let entity = meta.entity.to_string();
    let mut entries = [
        Some((codec::TOPIC, meta.topic.as_str())),
        Some((codec::SHOP, meta.shop.as_str())),
        Some((codec::API_VERSION, meta.api_version.as_str())),
        meta.event_id.as_deref().map(|id| (codec::EVENT_ID, id)),
        triggered.as_deref().map(|t| (codec::TRIGGERED_AT, t)),
        Some((codec::RECEIVED_AT, received.as_str())),
        Some((codec::ENTITY, entity.as_str())),
    ];
    entries.sort_unstable_by_key(|e| e.map(|(key, _)| key));
    let size_at = out.len();
    out.extend_from_slice(&[0; 4]);
    for (key, value) in entries.into_iter().flatten() {
        short_string(out, key);
        out.push(b'S');
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    let size = (out.len() - size_at - 4) as u32;
    out[size_at..size_at + 4].copy_from_slice(&size.to_be_bytes());
}

/// A short string: at most 255 bytes (header names, the content type, the
/// app id, a webhook id), behind its length.
fn short_string(out: &mut Vec<u8>, s: &str) {
    let len = u8::try_from(s.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

#[cfg(test)]
mod tests {
    use so_domain::{ApiVersion, EntityKey, ShopDomain, Topic, TopicName, WebhookId};

    use super::*;
    use crate::wire::{Properties, Publish, publish_frames};

    fn meta(entity: EntityKey, event_id: Option<&str>, triggered: Option<&str>) -> EventMeta {
        EventMeta {
            webhook_id: WebhookId::parse(&"w".repeat(255)).unwrap(),
            topic: TopicName::Known(Topic::OrdersCreate),
            shop: ShopDomain::parse("a.myshopify.com").unwrap(),
            api_version: ApiVersion::parse("2026-07").unwrap(),
            event_id: event_id.map(str::to_owned),
            triggered_at: triggered.map(|t| t.parse().unwrap()),
            received_at: "2026-11-22T10:00:01.456Z".parse().unwrap(),
            entity,
        }
    }

    fn frames(properties: Properties) -> Vec<u8> {
        let publish = Publish {
            exchange: "p.ingest",
            routing_key: "work.3",
            mandatory: true,
            properties,
            body: b"{\"id\":1}",
        };
        publish_frames(7, publish, 131_072).unwrap()
    }

    #[test]
    fn writes_the_bytes_amq_protocol_writes_for_the_built_properties() {
        let cases = [
            meta(
                EntityKey::Order(1),
                Some("e-1"),
                Some("2026-11-22T10:00:00Z"),
            ),
            meta(EntityKey::Customer(u64::MAX), None, None),
            meta(EntityKey::Checkout("tok".into()), Some("x"), None),
            meta(
                EntityKey::Shop,
                None,
                Some("2026-01-01T00:00:00.123456+02:00"),
            ),
        ];
        for meta in cases {
            let built = frames(Properties::Built(Box::new(codec::encode(&meta, &[]))));
            let mut direct = Vec::new();
            event_properties(&meta, &mut direct);
            assert_eq!(frames(Properties::Encoded(direct)), built, "{meta:?}");
        }
    }
}
