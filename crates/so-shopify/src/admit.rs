//! What the headers of an authenticated webhook are worth.
//!
//! Once the HMAC matched, the request is Shopify's, and refusing it would
//! count as a failed delivery: 19 in a row and Shopify removes the
//! subscription, losing every later event of that topic for that shop. So
//! only a *missing* required header is still an error (that is not a
//! webhook Shopify sends); a malformed one is replaced by a usable stand-in
//! and reported as an [`Irregular`], which says whether the event must be
//! parked or may be processed anyway.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use so_domain::{ApiVersion, ParkReason, TopicName, WebhookId};

use crate::headers::{HeaderError, ShopifyHeaders, WebhookHeaders, names};

/// What was wrong with one header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Irregularity {
    /// `X-Shopify-Topic` malformed or repeated: parked under a sanitised name.
    MalformedTopic,
    /// `X-Shopify-Webhook-Id` malformed or repeated: parked under an id
    /// derived from the value's bytes (so Shopify's retries share it).
    MalformedWebhookId,
    /// `X-Shopify-API-Version` not `YYYY-MM` or `unstable`: parked.
    MalformedApiVersion,
    /// A well-formed version this code was not written against: processed,
    /// counted (see [`ApiVersion::is_known`]).
    UnknownApiVersion,
    /// `X-Shopify-Event-Id` malformed: dropped, the event is processed.
    MalformedEventId,
    /// `X-Shopify-Triggered-At` not RFC 3339: dropped, the event is
    /// processed with its `updated_at` or receive time.
    MalformedTriggeredAt,
}

impl Irregularity {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Irregularity::MalformedTopic => "malformed_topic",
            Irregularity::MalformedWebhookId => "malformed_webhook_id",
            Irregularity::MalformedApiVersion => "malformed_api_version",
            Irregularity::UnknownApiVersion => "unknown_api_version",
            Irregularity::MalformedEventId => "malformed_event_id",
            Irregularity::MalformedTriggeredAt => "malformed_triggered_at",
        }
    }

    /// Where an event with this irregularity goes instead of its partition.
    pub fn park_reason(self) -> Option<ParkReason> {
        match self {
            Irregularity::MalformedTopic | Irregularity::MalformedWebhookId => {
                Some(ParkReason::MalformedHeader)
            }
            Irregularity::MalformedApiVersion => Some(ParkReason::MalformedApiVersion),
            Irregularity::UnknownApiVersion
            | Irregularity::MalformedEventId
            | Irregularity::MalformedTriggeredAt => None,
        }
    }
}

/// One irregular header and what exactly was wrong (its `Display` names
/// the header; it never contains the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irregular {
    pub kind: Irregularity,
    pub problem: HeaderError,
}

/// Usable headers and what had to be made usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub headers: WebhookHeaders,
    pub irregular: Vec<Irregular>,
}

impl Admitted {
    /// The first irregularity that parks the event, with its detail.
    pub fn parked(&self) -> Option<(ParkReason, String)> {
        self.irregular.iter().find_map(|i| {
            i.kind
                .park_reason()
                .map(|reason| (reason, i.problem.to_string()))
        })
    }
}

impl ShopifyHeaders<'_> {
    /// Reads the headers of a webhook whose HMAC matched. `Err` only when a
    /// header Shopify always sends is missing; anything malformed is
    /// admitted with a stand-in and listed in [`Admitted::irregular`].
    pub fn admit(&self) -> Result<Admitted, HeaderError> {
        let mut irregular = Vec::new();
        let mut note = |kind, problem| irregular.push(Irregular { kind, problem });

        let topic = match self.required(names::TOPIC).map(TopicName::parse) {
            Ok(Ok(topic)) => topic,
            Ok(Err(e)) => {
                note(
                    Irregularity::MalformedTopic,
                    HeaderError::invalid(names::TOPIC, e),
                );
                stand_in_topic(self.first_bytes(names::TOPIC))
            }
            Err(e) if e.is_missing() => return Err(e),
            Err(e) => {
                note(Irregularity::MalformedTopic, e);
                stand_in_topic(self.first_bytes(names::TOPIC))
            }
        };
        let api_version = match self.required(names::API_VERSION) {
            Err(e) if e.is_missing() => return Err(e),
            Err(e) => {
                note(Irregularity::MalformedApiVersion, e);
                ApiVersion::malformed(self.first_bytes(names::API_VERSION))
            }
            Ok(raw) => match ApiVersion::parse(raw) {
                Ok(v) => {
                    if !v.is_known() {
                        let why = "is a version this code does not know yet";
                        note(
                            Irregularity::UnknownApiVersion,
                            HeaderError::invalid(names::API_VERSION, why),
                        );
                    }
                    v
                }
                Err(e) => {
                    let problem = HeaderError::invalid(names::API_VERSION, e);
                    note(Irregularity::MalformedApiVersion, problem);
                    ApiVersion::malformed(raw.as_bytes())
                }
            },
        };
        let webhook_id = match self.required(names::WEBHOOK_ID).map(WebhookId::parse) {
            Ok(Ok(id)) => id,
            Err(e) if e.is_missing() => return Err(e),
            other => {
                let problem = match other {
                    Ok(Err(e)) => HeaderError::invalid(names::WEBHOOK_ID, e),
                    Err(e) => e,
                    Ok(Ok(_)) => unreachable!("matched above"),
                };
                note(Irregularity::MalformedWebhookId, problem);
                stand_in_id(self.first_bytes(names::WEBHOOK_ID))
            }
        };
        let event_id = match self.get(names::EVENT_ID).map(|v| v.map(WebhookId::parse)) {
            Ok(None) => None,
            Ok(Some(Ok(id))) => Some(id.as_str().to_owned()),
            Ok(Some(Err(e))) => {
                note(
                    Irregularity::MalformedEventId,
                    HeaderError::invalid(names::EVENT_ID, e),
                );
                None
            }
            Err(e) => {
                note(Irregularity::MalformedEventId, e);
                None
            }
        };
        let triggered_at = match self.get(names::TRIGGERED_AT) {
            Ok(None) => None,
            Ok(Some(raw)) => match DateTime::parse_from_rfc3339(raw.trim()) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    let why = "must be an RFC 3339 timestamp";
                    let problem = HeaderError::invalid(names::TRIGGERED_AT, why);
                    note(Irregularity::MalformedTriggeredAt, problem);
                    None
                }
            },
            Err(e) => {
                note(Irregularity::MalformedTriggeredAt, e);
                None
            }
        };
        Ok(Admitted {
            headers: WebhookHeaders {
                topic,
                api_version,
                webhook_id,
                event_id,
                triggered_at,
            },
            irregular,
        })
    }
}

/// Visible ASCII of `raw`, at most `max` characters, anything else as `_`.
fn sanitised(raw: &[u8], max: usize) -> String {
    so_domain::webhook::visible_ascii(raw, max, '_')
}

/// The topic a parked event is kept under when its header was malformed:
/// the first value, sanitised (a repeated header's first value may well be
/// a topic; the event is parked all the same).
fn stand_in_topic(raw: &[u8]) -> TopicName {
    let text = sanitised(raw, 100);
    TopicName::parse(&text).unwrap_or(TopicName::Unsupported(text))
}

/// An id for a delivery whose own id is unusable: derived from the value's
/// bytes, so Shopify's retries of it get the same id (and dedupe on replay).
fn stand_in_id(raw: &[u8]) -> WebhookId {
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    WebhookId::parse(&format!("malformed-{hex}"))
        .unwrap_or_else(|_| unreachable!("`malformed-` and 32 hex digits are a valid webhook id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn map(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_bytes(v).unwrap());
        }
        m
    }

    fn full() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("x-shopify-topic", b"orders/create"),
            ("x-shopify-shop-domain", b"a.myshopify.com"),
            ("x-shopify-api-version", b"2026-07"),
            ("x-shopify-webhook-id", b"b54557e4"),
            ("x-shopify-event-id", b"e-1"),
            ("x-shopify-triggered-at", b"2026-11-22T10:00:00.123456Z"),
        ]
    }

    fn admit_with(name: &'static str, value: &'static [u8]) -> Admitted {
        let mut pairs = full();
        pairs.retain(|(k, _)| *k != name);
        pairs.push((name, value));
        ShopifyHeaders::new(&map(&pairs)).admit().unwrap()
    }

    fn kinds(a: &Admitted) -> Vec<Irregularity> {
        a.irregular.iter().map(|i| i.kind).collect()
    }

    #[test]
    fn well_formed_headers_are_admitted_as_they_are() {
        let a = ShopifyHeaders::new(&map(&full())).admit().unwrap();
        assert!(a.irregular.is_empty());
        assert_eq!(a.parked(), None);
        assert_eq!(a.headers.webhook_id.as_str(), "b54557e4");
        assert_eq!(a.headers.event_id.as_deref(), Some("e-1"));
    }

    #[test]
    fn a_missing_required_header_is_still_an_error() {
        for name in [
            "x-shopify-topic",
            "x-shopify-api-version",
            "x-shopify-webhook-id",
        ] {
            let mut pairs = full();
            pairs.retain(|(k, _)| *k != name);
            let e = ShopifyHeaders::new(&map(&pairs)).admit().unwrap_err();
            assert_eq!(e.problem, "is missing", "{name}");
            let blank = admit_blank(name);
            assert_eq!(blank.problem, "is missing", "{name}");
        }
    }

    fn admit_blank(name: &'static str) -> HeaderError {
        let mut pairs = full();
        pairs.retain(|(k, _)| *k != name);
        pairs.push((name, b"  "));
        ShopifyHeaders::new(&map(&pairs)).admit().unwrap_err()
    }

    #[test]
    fn malformed_optional_headers_are_dropped_and_the_event_processed() {
        let a = admit_with("x-shopify-triggered-at", b"yesterday");
        assert_eq!(kinds(&a), [Irregularity::MalformedTriggeredAt]);
        assert_eq!(a.headers.triggered_at, None);
        assert_eq!(a.parked(), None);
        let a = admit_with("x-shopify-event-id", b"a b");
        assert_eq!(kinds(&a), [Irregularity::MalformedEventId]);
        assert_eq!(a.headers.event_id, None);
        assert_eq!(a.parked(), None);
    }

    #[test]
    fn api_versions_unknown_are_processed_and_malformed_are_parked() {
        let a = admit_with("x-shopify-api-version", b"2027-04");
        assert_eq!(kinds(&a), [Irregularity::UnknownApiVersion]);
        assert_eq!(a.headers.api_version.as_str(), "2027-04");
        assert_eq!(a.parked(), None);
        let a = admit_with("x-shopify-api-version", b"2026-13");
        assert_eq!(kinds(&a), [Irregularity::MalformedApiVersion]);
        assert_eq!(a.headers.api_version.as_str(), "2026-13");
        let (reason, detail) = a.parked().unwrap();
        assert_eq!(reason, ParkReason::MalformedApiVersion);
        assert!(detail.contains("X-Shopify-API-Version"), "{detail}");
    }

    #[test]
    fn malformed_topics_and_ids_are_parked_under_stand_ins() {
        let a = admit_with("x-shopify-topic", b"orders create;drop");
        assert_eq!(kinds(&a), [Irregularity::MalformedTopic]);
        assert_eq!(a.headers.topic.as_str(), "orders_create;drop");
        assert_eq!(a.parked().unwrap().0, ParkReason::MalformedHeader);

        let long: &'static [u8] = Box::leak(vec![b'x'; 300].into_boxed_slice());
        let a = admit_with("x-shopify-webhook-id", long);
        let b = admit_with("x-shopify-webhook-id", long);
        assert_eq!(kinds(&a), [Irregularity::MalformedWebhookId]);
        assert!(a.headers.webhook_id.as_str().starts_with("malformed-"));
        assert_eq!(
            a.headers.webhook_id, b.headers.webhook_id,
            "retries share the id"
        );
        assert_eq!(a.parked().unwrap().0, ParkReason::MalformedHeader);

        let mut pairs = full();
        pairs.push(("shopify-topic", b"orders/paid"));
        let a = ShopifyHeaders::new(&map(&pairs)).admit().unwrap();
        assert_eq!(kinds(&a), [Irregularity::MalformedTopic]);
    }
}
