//! What should happen to a message after an attempt to process it, and the
//! bounded reasons that say why. Each reason's string (a queue header, a
//! metric label, a field of the admin API's JSON) is written once, here.

use std::fmt;
use std::time::Duration;

use crate::abandonment::NotAbandoned;

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

impl Disposition {
    /// The outcome of an event made of several records, given two of them:
    /// dead letter beats retry beats done, since an event is only done when
    /// every one of its records is. On a tie the first stays.
    pub fn worse(self, other: Disposition) -> Disposition {
        match (&self, &other) {
            (Disposition::DeadLetter { .. }, _) => self,
            (_, Disposition::DeadLetter { .. }) => other,
            (Disposition::Retry { .. }, _) => self,
            (_, Disposition::Retry { .. }) => other,
            (Disposition::Done, Disposition::Done) => self,
        }
    }
}

/// Declares a bounded reason enum whose values travel as strings: `as_str`
/// (and `Display`) write them, `parse` reads them back from a header.
macro_rules! reasons {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value on the wire and as a metric label.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Reads a value written by [`Self::as_str`].
            pub fn parse(raw: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|r| r.as_str() == raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

reasons! {
    /// Why an event is retried or dead-lettered (`x-death-reason`,
    /// `x-retry-reason`, the `reason` label of the retry and dead-letter
    /// counters).
    ReasonCode {
        OmetriaRateLimited => "ometria_rate_limited",
        OmetriaServerError => "ometria_server_error",
        OmetriaTimeout => "ometria_timeout",
        OmetriaTransport => "ometria_transport",
        OmetriaBadRequest => "ometria_bad_request",
        OmetriaUnauthorized => "ometria_unauthorized",
        OmetriaRecordRejected => "ometria_record_rejected",
        /// Ometria accepted the push (`rejected: 0`) and later listed one of
        /// its records in `GET /v2/push/_errors`; found by the rejection
        /// watcher, replayed as the entity's current state.
        OmetriaRejected => "ometria_rejected",
        /// A record failed the local check of what Ometria documents
        /// (property types, `event_type` length, timestamps); never sent.
        RecordInvalid => "record_invalid",
        RecordTooLarge => "record_too_large",
        InvalidPayload => "invalid_payload",
        UnsupportedTopic => "unsupported_topic",
        MissingEntityId => "missing_entity_id",
        RetriesExhausted => "retries_exhausted",
        DeliveryLimit => "delivery_limit",
        StoreUnavailable => "store_unavailable",
        OrderNotYetSeen => "order_not_yet_seen",
        Internal => "internal",
    }
}

reasons! {
    /// Where processing failed when an event was dead-lettered
    /// (`x-death-stage`, the `stage` label of the dead-letter counter).
    Stage {
        /// The queued metadata or the body could not be read.
        Decode => "decode",
        /// The shop's configuration.
        Config => "config",
        /// A store error that is not transient.
        Store => "store",
        /// Building the Ometria records.
        Map => "map",
        /// Ometria refused the request or a record.
        Push => "push",
        /// A transient failure outlasted the attempts allowed.
        Retry => "retry",
    }
}

reasons! {
    /// Why an event is kept aside on the parked queue (`x-park-reason`, the
    /// `reason` label of the parked counter).
    ParkReason {
        /// The shop is disabled in the configuration.
        ShopPaused => "shop_paused",
        /// A topic this service does not handle.
        UnsupportedTopic => "unsupported_topic",
        /// The shop has no Ometria API key configured.
        NoOmetriaAccount => "no_ometria_account",
        /// The app was uninstalled from the shop.
        ShopUninstalled => "shop_uninstalled",
        /// The shop's data was erased (`shop/redact`).
        ShopRedacted => "shop_redacted",
        /// An authentic webhook whose body has no id for its entity (the
        /// ingress parks it: refusing it would get the subscription removed).
        MissingEntityId => "missing_entity_id",
        /// An authentic webhook whose entity id is not an exact 64-bit
        /// integer or GID (negative, fractional, too large, wrong type).
        InvalidEntityId => "invalid_entity_id",
        /// An authentic webhook with a malformed `X-Shopify-API-Version`
        /// (a well-formed version we do not know is processed, not parked).
        MalformedApiVersion => "malformed_api_version",
        /// An authentic webhook with a malformed (or repeated) topic or
        /// webhook id header.
        MalformedHeader => "malformed_header",
    }
}

/// Why an event was settled without pushing anything (its state is still
/// committed); the `outcome` label of the processed-events counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The delivery was already processed.
    Duplicate,
    /// A newer version of the entity was already applied.
    Stale,
    /// Mapping produced no records.
    NoRecords,
    /// Nothing to send for this entity: a suppressed identity, no contact,
    /// or a merge carried out by its own request.
    NothingToSend,
    /// A subscribers-only shop holds the records of a non-subscriber.
    HeldNotSubscribed,
    /// `customers/redact` carried out.
    Redacted,
    /// `customers/data_request` exported.
    Exported,
    /// `shop/redact` carried out.
    ShopRedacted,
    /// `app/uninstalled` recorded.
    Uninstalled,
    /// An abandonment check for a shop that no longer sends checkout events.
    CheckoutEventsOff,
    /// An abandonment check that found the checkout not abandoned.
    NotAbandoned(NotAbandoned),
}

impl SkipReason {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Duplicate => "duplicate",
            SkipReason::Stale => "stale",
            SkipReason::NoRecords => "no_records",
            SkipReason::NothingToSend => "skipped",
            SkipReason::HeldNotSubscribed => "held_not_subscribed",
            SkipReason::Redacted => "redacted",
            SkipReason::Exported => "exported",
            SkipReason::ShopRedacted => "shop_redacted",
            SkipReason::Uninstalled => "uninstalled",
            SkipReason::CheckoutEventsOff => "checkout_events_off",
            SkipReason::NotAbandoned(why) => why.as_str(),
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for r in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(r.as_str()), Some(*r));
        }
    }

    #[test]
    fn stages_and_park_reasons_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(&s.to_string()), Some(*s));
        }
        for r in ParkReason::ALL {
            assert_eq!(ParkReason::parse(&r.to_string()), Some(*r));
        }
        assert_eq!(
            ParkReason::parse("shop_paused"),
            Some(ParkReason::ShopPaused)
        );
        assert_eq!(Stage::parse("broker"), None);
    }

    #[test]
    fn reason_strings_on_the_wire_are_unchanged() {
        assert_eq!(ReasonCode::RetriesExhausted.as_str(), "retries_exhausted");
        assert_eq!(Stage::Decode.as_str(), "decode");
        assert_eq!(ParkReason::NoOmetriaAccount.as_str(), "no_ometria_account");
        assert_eq!(SkipReason::NothingToSend.as_str(), "skipped");
        assert_eq!(
            SkipReason::NotAbandoned(NotAbandoned::OrderedSince).as_str(),
            "checkout_ordered_since"
        );
    }

    #[test]
    fn an_event_is_as_bad_as_its_worst_record() {
        let retry = Disposition::Retry {
            after: None,
            reason: ReasonCode::OmetriaTimeout,
            detail: "t".to_owned(),
        };
        let dead = Disposition::DeadLetter {
            reason: ReasonCode::OmetriaRecordRejected,
            detail: "r".to_owned(),
        };
        assert_eq!(
            Disposition::Done.worse(Disposition::Done),
            Disposition::Done
        );
        assert_eq!(Disposition::Done.worse(retry.clone()), retry);
        assert_eq!(retry.clone().worse(Disposition::Done), retry);
        assert_eq!(retry.clone().worse(dead.clone()), dead);
        assert_eq!(dead.clone().worse(retry), dead);
    }
}
