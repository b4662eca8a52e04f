//! Event metadata -> AMQP properties, and the headers each move of a
//! message sets (retry, schedule, dead letter, park, replay). Header names
//! are defined once here; [`crate::headers`] reads them back.

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use so_domain::EventMeta;

use crate::DeathNote;
use crate::topology::RETRY_TIER_HEADER;

pub const TOPIC: &str = "x-shopify-topic";
pub const SHOP: &str = "x-shopify-shop-domain";
pub const API_VERSION: &str = "x-shopify-api-version";
pub const EVENT_ID: &str = "x-shopify-event-id";
pub const TRIGGERED_AT: &str = "x-shopify-triggered-at";
pub const RECEIVED_AT: &str = "x-received-at";
pub const ENTITY: &str = "x-entity";
/// Why a message sits in the parked queue (e.g. `unsupported_topic`).
pub const PARK_REASON: &str = "x-park-reason";
/// What exactly was wrong, when the ingress parked an authentic webhook it
/// could not route (names a header or field, never carries the body).
pub const PARK_DETAIL: &str = "x-park-detail";
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
/// On a scheduled copy: when it first fell due (RFC 3339). Set by the first
/// scheduling and kept when the check is deferred again.
pub const DUE_AT: &str = "x-so-due-at";
/// RabbitMQ's own record of a message's dead-letterings (its first entry
/// is the latest).
pub const BROKER_DEATH: &str = "x-death";
/// On a replayed message: when, and by which operator operation.
pub const REPLAYED_AT: &str = "x-replayed-at";
pub const REPLAY_OPERATION: &str = "x-replay-operation";

/// Headers that described a message's earlier life and must not follow it
/// back into the work queue on a replay (a fresh retry budget, no stale
/// reasons): ours and RabbitMQ's own dead-lettering record.
const DROPPED_ON_REPLAY: &[&str] = &[
    DEATH_REASON,
    DEATH_STAGE,
    DEATH_DETAIL,
    DEATH_ATTEMPTS,
    DEATH_AT,
    ATTEMPT,
    RETRY_REASON,
    PARK_REASON,
    PARK_DETAIL,
    RETRY_TIER_HEADER,
    BROKER_DEATH,
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
];

/// A copy of `props` with `extra` headers set (replacing same-named ones)
/// and `remove` headers dropped.
pub(crate) fn with_headers(
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
pub(crate) fn text(v: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(v))
}

/// An integer header value.
pub(crate) fn int(v: i64) -> AMQPValue {
    AMQPValue::LongLongInt(v)
}

pub(crate) const PERSISTENT: u8 = 2;
pub(crate) const CONTENT_TYPE: &str = "application/json";
pub(crate) const APP_ID: &str = "shopify-ometria";

pub(crate) fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn put(t: &mut FieldTable, k: &str, v: &str) {
    t.insert(k.into(), text(v));
}

/// Properties for a persistent event message. The webhook id becomes the
/// `message_id`, the idempotency key downstream.
pub(crate) fn encode(meta: &EventMeta, extra: &[(&str, &str)]) -> BasicProperties {
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
        .with_content_type(ShortString::from(CONTENT_TYPE))
        .with_message_id(ShortString::from(meta.webhook_id.as_str()))
        .with_timestamp(u64::try_from(meta.received_at.timestamp()).unwrap_or(0))
        .with_app_id(ShortString::from(APP_ID))
        .with_headers(h)
}

/// Reads a string header (long or short string).
pub(crate) fn header<'a>(props: &'a BasicProperties, key: &str) -> Option<&'a str> {
    let value = props.headers().as_ref()?.inner().get(key)?;
    match value {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str()),
        _ => None,
    }
}

/// The time headers are written in.
fn now() -> String {
    Utc::now().to_rfc3339()
}

/// The delay tier header's value for `delay_secs`.
fn tier(delay_secs: u64) -> AMQPValue {
    int(i64::try_from(delay_secs).unwrap_or(i64::MAX))
}

/// `x-first-seen` as the message already has it, else now: the first move
/// sets it and later moves keep it.
fn first_seen(props: &BasicProperties) -> AMQPValue {
    text(&header(props, FIRST_SEEN).map_or_else(now, str::to_owned))
}

/// A message re-queued through the delay tier `delay_secs` for attempt `attempt`.
pub(crate) fn retried(
    props: &BasicProperties,
    delay_secs: u64,
    attempt: u32,
    reason: &str,
) -> BasicProperties {
    with_headers(
        props,
        &[
            (RETRY_TIER_HEADER, tier(delay_secs)),
            (ATTEMPT, int(i64::from(attempt))),
            (RETRY_REASON, text(reason)),
            (FIRST_SEEN, first_seen(props)),
        ],
        &[],
    )
}

/// A copy scheduled to come back after `delay_secs`, marked `mark`. It is a
/// fresh event for the consumer, not a retry: no attempt count or reason.
pub(crate) fn scheduled(props: &BasicProperties, delay_secs: u64, mark: &str) -> BasicProperties {
    let due = header(props, DUE_AT).map_or_else(
        || {
            let delay = chrono::TimeDelta::seconds(i64::try_from(delay_secs).unwrap_or(i64::MAX));
            rfc3339(&(Utc::now() + delay))
        },
        str::to_owned,
    );
    with_headers(
        props,
        &[
            (RETRY_TIER_HEADER, tier(delay_secs)),
            (SCHEDULED, text(mark)),
            (DUE_AT, text(&due)),
        ],
        &[ATTEMPT, RETRY_REASON],
    )
}

/// A dead letter with why it died. The tier header of an earlier retry is
/// dropped: it only means something on the way to a delay queue.
pub(crate) fn dead(props: &BasicProperties, note: &DeathNote<'_>) -> BasicProperties {
    // Details can be long (Ometria messages); headers stay small.
    let detail: String = note.detail.chars().take(1000).collect();
    with_headers(
        props,
        &[
            (DEATH_STAGE, text(note.stage)),
            (DEATH_REASON, text(note.reason)),
            (DEATH_DETAIL, text(&detail)),
            (DEATH_ATTEMPTS, int(i64::from(note.attempts))),
            (DEATH_AT, text(&now())),
            (FIRST_SEEN, first_seen(props)),
        ],
        &[RETRY_TIER_HEADER],
    )
}

/// A message set aside in the parked queue with `reason`.
pub(crate) fn parked(props: &BasicProperties, reason: &str) -> BasicProperties {
    with_headers(props, &[(PARK_REASON, text(reason))], &[])
}

/// A message sent back to work by the operation `operation_id`, for
/// `entity` when the operation derived it anew from the payload.
pub(crate) fn replayed(
    props: &BasicProperties,
    operation_id: &str,
    entity: Option<&str>,
) -> BasicProperties {
    let mut set = vec![
        (REPLAYED_AT, text(&now())),
        (REPLAY_OPERATION, text(operation_id)),
    ];
    if let Some(entity) = entity {
        set.push((ENTITY, text(entity)));
    }
    with_headers(props, &set, DROPPED_ON_REPLAY)
}

/// An accepted webhook parked by the ingress with `reason` and `detail`;
/// without an entity header when `entity_known` is false (it could not be
/// derived; a replay derives it from the payload).
pub(crate) fn parked_event(
    meta: &EventMeta,
    reason: &str,
    detail: &str,
    entity_known: bool,
) -> BasicProperties {
    let detail: String = detail.chars().take(1000).collect();
    let props = encode(meta, &[(PARK_REASON, reason), (PARK_DETAIL, &detail)]);
    if entity_known {
        props
    } else {
        with_headers(&props, &[], &[ENTITY])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use so_domain::{ApiVersion, EntityKey, ShopDomain, Topic, TopicName, WebhookId};

    fn meta() -> EventMeta {
        EventMeta {
            webhook_id: WebhookId::parse("w-1").unwrap(),
            topic: TopicName::Known(Topic::OrdersCreate),
            shop: ShopDomain::parse("a.myshopify.com").unwrap(),
            api_version: ApiVersion::parse("2026-07").unwrap(),
            event_id: None,
            triggered_at: None,
            received_at: "2026-11-22T10:00:01.456Z".parse().unwrap(),
            entity: EntityKey::Order(1),
        }
    }

    fn event() -> BasicProperties {
        encode(&meta(), &[])
    }

    #[test]
    fn a_retry_keeps_its_first_sighting_and_a_dead_letter_drops_the_tier() {
        let once = retried(&event(), 30, 1, "rate_limited");
        let first = header(&once, FIRST_SEEN).unwrap().to_owned();
        let twice = retried(&once, 120, 2, "timeout");
        assert_eq!(header(&twice, FIRST_SEEN), Some(first.as_str()));
        assert_eq!(header(&twice, RETRY_REASON), Some("timeout"));
        let note = DeathNote {
            stage: "push",
            reason: "x",
            detail: &"d".repeat(2000),
            attempts: 3,
        };
        let died = dead(&twice, &note);
        assert_eq!(header(&died, FIRST_SEEN), Some(first.as_str()));
        assert_eq!(header(&died, DEATH_DETAIL).map(str::len), Some(1000));
        assert!(
            !died
                .headers()
                .as_ref()
                .unwrap()
                .inner()
                .contains_key(RETRY_TIER_HEADER)
        );
        assert_eq!(*died.delivery_mode(), Some(2));
    }

    #[test]
    fn a_replay_forgets_the_earlier_life() {
        let parked = parked(&retried(&event(), 5, 1, "x"), "shop_paused");
        let replayed = replayed(&parked, "op-1", None);
        for gone in [PARK_REASON, ATTEMPT, RETRY_REASON, RETRY_TIER_HEADER] {
            assert!(
                !replayed
                    .headers()
                    .as_ref()
                    .unwrap()
                    .inner()
                    .contains_key(gone),
                "{gone}"
            );
        }
        assert_eq!(header(&replayed, REPLAY_OPERATION), Some("op-1"));
        assert_eq!(header(&replayed, TOPIC), Some("orders/create"));
        assert_eq!(replayed.message_id(), parked.message_id());
        assert_eq!(header(&replayed, ENTITY), Some("order:1"));
    }

    #[test]
    fn an_unroutable_event_is_parked_without_an_entity_and_replayed_with_one() {
        let meta = EventMeta {
            entity: EntityKey::Shop,
            ..meta()
        };
        let parked = parked_event(&meta, "missing_entity_id", "field `id` ...", false);
        assert_eq!(header(&parked, ENTITY), None);
        assert_eq!(header(&parked, PARK_DETAIL), Some("field `id` ..."));
        let replayed = replayed(&parked, "op-2", Some("order:7"));
        assert_eq!(header(&replayed, ENTITY), Some("order:7"));
        assert_eq!(header(&replayed, PARK_DETAIL), None);
        let kept = parked_event(&meta, "malformed_api_version", "d", true);
        assert_eq!(header(&kept, ENTITY), Some("shop"));
    }
}
