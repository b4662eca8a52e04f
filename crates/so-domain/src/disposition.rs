//! What should happen to a message after an attempt to process it.

use std::time::Duration;

/// The outcome of processing one event, decided by pure code (classifiers,
/// validators) and carried out by the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Accepted downstream (or nothing to do): ack.
    Done,
    /// Transient failure: re-queue through the broker's delayed retry tiers.
    /// `after` is a lower bound (e.g. from `Retry-After`).
    Retry {
        after: Option<Duration>,
        reason: ReasonCode,
        detail: String,
    },
    /// Permanent failure: dead-letter at once, keeping why.
    DeadLetter { reason: ReasonCode, detail: String },
}

/// Bounded set of reason codes, usable as metric label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonCode {
    OmetriaRateLimited,
    OmetriaServerError,
    OmetriaTimeout,
    OmetriaTransport,
    OmetriaBadRequest,
    OmetriaUnauthorized,
    OmetriaRecordRejected,
    RecordTooLarge,
    InvalidPayload,
    UnsupportedTopic,
    MissingEntityId,
    RetriesExhausted,
    DeliveryLimit,
    StoreUnavailable,
    OrderNotYetSeen,
    Internal,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::OmetriaRateLimited => "ometria_rate_limited",
            ReasonCode::OmetriaServerError => "ometria_server_error",
            ReasonCode::OmetriaTimeout => "ometria_timeout",
            ReasonCode::OmetriaTransport => "ometria_transport",
            ReasonCode::OmetriaBadRequest => "ometria_bad_request",
            ReasonCode::OmetriaUnauthorized => "ometria_unauthorized",
            ReasonCode::OmetriaRecordRejected => "ometria_record_rejected",
            ReasonCode::RecordTooLarge => "record_too_large",
            ReasonCode::InvalidPayload => "invalid_payload",
            ReasonCode::UnsupportedTopic => "unsupported_topic",
            ReasonCode::MissingEntityId => "missing_entity_id",
            ReasonCode::RetriesExhausted => "retries_exhausted",
            ReasonCode::DeliveryLimit => "delivery_limit",
            ReasonCode::StoreUnavailable => "store_unavailable",
            ReasonCode::OrderNotYetSeen => "order_not_yet_seen",
            ReasonCode::Internal => "internal",
        }
    }

    pub fn parse(raw: &str) -> Option<ReasonCode> {
        ALL_REASONS.into_iter().find(|r| r.as_str() == raw)
    }
}

const ALL_REASONS: [ReasonCode; 16] = [
    ReasonCode::OmetriaRateLimited,
    ReasonCode::OmetriaServerError,
    ReasonCode::OmetriaTimeout,
    ReasonCode::OmetriaTransport,
    ReasonCode::OmetriaBadRequest,
    ReasonCode::OmetriaUnauthorized,
    ReasonCode::OmetriaRecordRejected,
    ReasonCode::RecordTooLarge,
    ReasonCode::InvalidPayload,
    ReasonCode::UnsupportedTopic,
    ReasonCode::MissingEntityId,
    ReasonCode::RetriesExhausted,
    ReasonCode::DeliveryLimit,
    ReasonCode::StoreUnavailable,
    ReasonCode::OrderNotYetSeen,
    ReasonCode::Internal,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for r in ALL_REASONS {
            assert_eq!(ReasonCode::parse(r.as_str()), Some(r));
        }
    }
}
