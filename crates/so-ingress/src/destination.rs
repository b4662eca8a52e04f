//! Where an authenticated webhook goes.
//!
//! Shopify removes a subscription after 19 failed deliveries in a row, so
//! once the HMAC matched and the body is a JSON object the answer is 200
//! (queued for work, or parked with a reason ops can list and replay) or
//! 503 (not stored). Only a body that is not a JSON object is refused here.

use so_domain::{EntityKey, ParkReason, PayloadError, TopicName};
use so_shopify::Admitted;

use crate::error::ApiError;

/// Where the event is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// Its entity's partition.
    Work(EntityKey),
    /// The parked queue. `entity` is `None` when it could not be derived:
    /// the message then carries no entity header, and a replay derives it
    /// anew from the payload.
    Parked {
        reason: ParkReason,
        detail: String,
        entity: Option<EntityKey>,
    },
}

impl Destination {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Destination::Work(_) => "work",
            Destination::Parked { .. } => "parked",
        }
    }
}

/// Decides from the admitted headers and the routing probe's answer. An
/// irregular header parks before a payload problem (it is the first thing
/// wrong); an unsupported topic parks last.
pub(crate) fn destination(
    admitted: &Admitted,
    routed: Result<EntityKey, PayloadError>,
) -> Result<Destination, ApiError> {
    let (entity, payload_problem) = match routed {
        Ok(entity) => (Some(entity), None),
        Err(e) => match e.park_reason() {
            Some(reason) => (None, Some((reason, e.to_string()))),
            None => return Err(ApiError::InvalidPayload(e)),
        },
    };
    if let Some((reason, detail)) = admitted.parked().or(payload_problem) {
        return Ok(Destination::Parked {
            reason,
            detail,
            entity,
        });
    }
    let entity = entity.unwrap_or(EntityKey::Shop);
    Ok(match admitted.headers.topic {
        TopicName::Known(_) => Destination::Work(entity),
        TopicName::Unsupported(_) => Destination::Parked {
            reason: ParkReason::UnsupportedTopic,
            detail: format!(
                "topic {} is not handled by this service",
                admitted.headers.topic.as_str()
            ),
            entity: Some(entity),
        },
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};
    use so_domain::route_payload;
    use so_shopify::ShopifyHeaders;

    use super::*;

    fn admitted(topic: &str, version: &str) -> Admitted {
        let mut m = HeaderMap::new();
        for (k, v) in [
            ("x-shopify-topic", topic),
            ("x-shopify-api-version", version),
            ("x-shopify-webhook-id", "w-1"),
        ] {
            m.insert(k, HeaderValue::from_str(v).unwrap());
        }
        ShopifyHeaders::new(&m).admit().unwrap()
    }

    fn decide(topic: &str, version: &str, body: &[u8]) -> Result<Destination, ApiError> {
        let a = admitted(topic, version);
        destination(&a, route_payload(&a.headers.topic, body))
    }

    #[test]
    fn only_a_body_that_is_not_an_object_is_refused() {
        assert!(matches!(
            decide("orders/create", "2026-07", b"[1]"),
            Err(ApiError::InvalidPayload(PayloadError::NotAnObject))
        ));
        assert_eq!(
            decide("orders/create", "2026-07", br#"{"id":5}"#).unwrap(),
            Destination::Work(EntityKey::Order(5))
        );
        // An unknown but well-formed version is processed.
        assert_eq!(
            decide("orders/create", "2027-01", br#"{"id":5}"#).unwrap(),
            Destination::Work(EntityKey::Order(5))
        );
    }

    #[test]
    fn unroutable_objects_and_malformed_headers_are_parked_with_their_reason() {
        let parked = |topic, version, body: &[u8]| match decide(topic, version, body).unwrap() {
            Destination::Parked { reason, entity, .. } => (reason, entity),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parked("orders/create", "2026-07", br#"{"foo": "bar"}"#),
            (ParkReason::MissingEntityId, None)
        );
        assert_eq!(
            parked("orders/create", "2026-07", br#"{"id":"x"}"#),
            (ParkReason::InvalidEntityId, None)
        );
        assert_eq!(
            parked("orders/create", "2026-7", br#"{"id":5}"#),
            (ParkReason::MalformedApiVersion, Some(EntityKey::Order(5)))
        );
        assert_eq!(
            parked("orders/create", "2026-7", br#"{"foo":1}"#),
            (ParkReason::MalformedApiVersion, None)
        );
        assert_eq!(
            parked("carts/create", "2026-07", br#"{"token":"t"}"#),
            (ParkReason::UnsupportedTopic, Some(EntityKey::Shop))
        );
    }
}
