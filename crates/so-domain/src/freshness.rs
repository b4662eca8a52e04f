//! Dedupe and staleness: should this event be applied at all?
//!
//! Shopify delivers at least once, retries with the payload as it was at
//! trigger time, and does not keep order. Two checks, both pure:
//! 1. the webhook id in the dedupe ledger (a repeat delivery);
//! 2. the entity's version (`updated_at`, or `consent_updated_at` for
//!    consent) against the last one applied for (shop, kind, id).
//!
//! Equal versions: Shopify timestamps have one-second resolution, so two
//! real changes can share one. An equal version from a *different* webhook
//! is applied (pushes are idempotent upserts: re-sending the same state is
//! harmless, dropping a real change is not); from the same webhook it is a
//! duplicate.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use crate::{ShopDomain, WebhookId};

/// How long a webhook id counts as "seen". Default 72 h: Shopify retries
/// for 4 h today (48 h under the older rules), with margin for replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeWindow(Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dedupe window must be between 1 hour and 30 days")]
pub struct InvalidDedupeWindow;

impl DedupeWindow {
    pub const DEFAULT: DedupeWindow = DedupeWindow(Duration::from_secs(72 * 3600));
    const MIN: Duration = Duration::from_secs(3600);
    const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

    pub fn new(window: Duration) -> Result<DedupeWindow, InvalidDedupeWindow> {
        if (Self::MIN..=Self::MAX).contains(&window) {
            Ok(DedupeWindow(window))
        } else {
            Err(InvalidDedupeWindow)
        }
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// Ledger rows older than this may be pruned.
    pub fn expiry_before(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.delta()
    }

    fn delta(self) -> TimeDelta {
        TimeDelta::from_std(self.0).unwrap_or(TimeDelta::MAX)
    }

    fn covers(self, seen_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(seen_at) <= self.delta()
    }
}

impl Default for DedupeWindow {
    fn default() -> DedupeWindow {
        DedupeWindow::DEFAULT
    }
}

/// The dedupe ledger's answer for the incoming webhook id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerLookup {
    NotSeen,
    SeenAt(DateTime<Utc>),
}

/// What a version watermark is kept for. Consent, tags and purchasing
/// summary arrive on their own topics with their own clocks, so each has
/// its own watermark next to the customer profile's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Order,
    Customer,
    EmailConsent,
    SmsConsent,
    CustomerTags,
    PurchasingSummary,
    Product,
    Checkout,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Order => "order",
            EntityKind::Customer => "customer",
            EntityKind::EmailConsent => "email_consent",
            EntityKind::SmsConsent => "sms_consent",
            EntityKind::CustomerTags => "customer_tags",
            EntityKind::PurchasingSummary => "purchasing_summary",
            EntityKind::Product => "product",
            EntityKind::Checkout => "checkout",
        }
    }

    /// How an event without a version ranks. Consent with a `null`
    /// `consent_updated_at` was never set, so it is older than any dated
    /// consent; other versionless events (`orders/delete`...) cannot be
    /// ordered and are applied.
    fn missing_version(self) -> MissingVersion {
        match self {
            EntityKind::EmailConsent | EntityKind::SmsConsent => MissingVersion::OlderThanAny,
            EntityKind::Order
            | EntityKind::Customer
            | EntityKind::CustomerTags
            | EntityKind::PurchasingSummary
            | EntityKind::Product
            | EntityKind::Checkout => MissingVersion::Unordered,
        }
    }
}

enum MissingVersion {
    OlderThanAny,
    Unordered,
}

/// The store key of a watermark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatermarkKey {
    pub shop: ShopDomain,
    pub kind: EntityKind,
    /// Shopify id, or checkout token.
    pub id: String,
}

/// The last version applied for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    pub version: DateTime<Utc>,
    pub webhook_id: WebhookId,
}

/// The event being decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub webhook_id: WebhookId,
    pub kind: EntityKind,
    pub version: Option<DateTime<Utc>>,
}

impl Incoming {
    pub fn new(
        webhook_id: WebhookId,
        kind: EntityKind,
        version: Option<DateTime<FixedOffset>>,
    ) -> Incoming {
        Incoming {
            webhook_id,
            kind,
            version: version.map(|v| v.with_timezone(&Utc)),
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Apply; then store `advance_to` with compare-and-set (`None`: the
    /// event has no version, keep the watermark as it is).
    Apply { advance_to: Option<Watermark> },
    /// This delivery was already processed.
    Duplicate { first_seen: Option<DateTime<Utc>> },
    /// A newer version was already applied; the event is dropped.
    Stale {
        incoming: Option<DateTime<Utc>>,
        applied: DateTime<Utc>,
    },
}

/// Decides whether `incoming` is applied. A ledger hit older than `window`
/// is ignored: pruning is lazy, so the outcome must not depend on when it ran.
pub fn decide(
    window: DedupeWindow,
    now: DateTime<Utc>,
    ledger: LedgerLookup,
    applied: Option<&Watermark>,
    incoming: &Incoming,
) -> Freshness {
    if let LedgerLookup::SeenAt(seen) = ledger
        && window.covers(seen, now)
    {
        return Freshness::Duplicate {
            first_seen: Some(seen),
        };
    }
    let advance = |version| Watermark {
        version,
        webhook_id: incoming.webhook_id.clone(),
    };
    match (incoming.version, applied) {
        (Some(version), None) => Freshness::Apply {
            advance_to: Some(advance(version)),
        },
        (Some(version), Some(last)) => {
            if version > last.version {
                Freshness::Apply {
                    advance_to: Some(advance(version)),
                }
            } else if version < last.version {
                Freshness::Stale {
                    incoming: Some(version),
                    applied: last.version,
                }
            } else if last.webhook_id == incoming.webhook_id {
                Freshness::Duplicate { first_seen: None }
            } else {
                Freshness::Apply {
                    advance_to: Some(advance(version)),
                }
            }
        }
        (None, None) => Freshness::Apply { advance_to: None },
        (None, Some(last)) => match incoming.kind.missing_version() {
            MissingVersion::OlderThanAny => Freshness::Stale {
                incoming: None,
                applied: last.version,
            },
            MissingVersion::Unordered => Freshness::Apply { advance_to: None },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn wid(n: u32) -> WebhookId {
        WebhookId::parse(&format!("wh-{n}")).unwrap()
    }

    fn incoming(n: u32, kind: EntityKind, version: Option<i64>) -> Incoming {
        Incoming {
            webhook_id: wid(n),
            kind,
            version: version.map(at),
        }
    }

    fn mark(n: u32, secs: i64) -> Watermark {
        Watermark {
            version: at(secs),
            webhook_id: wid(n),
        }
    }

    #[test]
    fn a_seen_webhook_id_within_the_window_is_a_duplicate_and_outside_it_is_not() {
        let w = DedupeWindow::default();
        let ev = incoming(1, EntityKind::Order, Some(0));
        let recent = decide(w, at(3600), LedgerLookup::SeenAt(at(0)), None, &ev);
        assert_eq!(
            recent,
            Freshness::Duplicate {
                first_seen: Some(at(0))
            }
        );
        let old = decide(w, at(73 * 3600), LedgerLookup::SeenAt(at(0)), None, &ev);
        assert!(matches!(old, Freshness::Apply { .. }));
    }

    #[test]
    fn older_versions_are_stale_and_newer_ones_advance_the_watermark() {
        let w = DedupeWindow::default();
        let last = mark(1, 10);
        let stale = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(2, EntityKind::Order, Some(5)),
        );
        assert_eq!(
            stale,
            Freshness::Stale {
                incoming: Some(at(5)),
                applied: at(10)
            }
        );
        let newer = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(3, EntityKind::Order, Some(11)),
        );
        assert_eq!(
            newer,
            Freshness::Apply {
                advance_to: Some(mark(3, 11))
            }
        );
    }

    #[test]
    fn equal_versions_apply_for_another_webhook_and_dedupe_for_the_same_one() {
        let w = DedupeWindow::default();
        let last = mark(1, 10);
        let other = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(2, EntityKind::Customer, Some(10)),
        );
        assert_eq!(
            other,
            Freshness::Apply {
                advance_to: Some(mark(2, 10))
            }
        );
        let same = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(1, EntityKind::Customer, Some(10)),
        );
        assert_eq!(same, Freshness::Duplicate { first_seen: None });
    }

    #[test]
    fn an_undated_consent_is_older_than_a_dated_one_but_undated_deletes_apply() {
        let w = DedupeWindow::default();
        let last = mark(1, 10);
        let consent = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(2, EntityKind::EmailConsent, None),
        );
        assert_eq!(
            consent,
            Freshness::Stale {
                incoming: None,
                applied: at(10)
            }
        );
        let first = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            None,
            &incoming(2, EntityKind::SmsConsent, None),
        );
        assert_eq!(first, Freshness::Apply { advance_to: None });
        let delete = decide(
            w,
            at(20),
            LedgerLookup::NotSeen,
            Some(&last),
            &incoming(3, EntityKind::Order, None),
        );
        assert_eq!(delete, Freshness::Apply { advance_to: None });
    }

    #[test]
    fn window_bounds_are_enforced() {
        assert!(DedupeWindow::new(Duration::from_secs(60)).is_err());
        assert!(DedupeWindow::new(Duration::from_secs(31 * 86_400)).is_err());
        assert_eq!(
            DedupeWindow::default().as_duration(),
            Duration::from_secs(259_200)
        );
        assert_eq!(DedupeWindow::default().expiry_before(at(259_200)), at(0));
    }

    proptest! {
        /// Whatever order deliveries arrive in, the watermark ends at the
        /// newest version and nothing older than it is ever applied.
        #[test]
        fn any_arrival_order_converges_on_the_newest_version(
            versions in proptest::collection::vec(0i64..50, 1..20),
            seed in any::<u64>(),
        ) {
            let mut order: Vec<(u32, i64)> = versions.iter().copied().enumerate().map(|(i, v)| (i as u32, v)).collect();
            let len = order.len();
            for i in 0..len {
                order.swap(i, (seed.wrapping_mul(i as u64 + 1) % len as u64) as usize);
            }
            let mut mark: Option<Watermark> = None;
            for (n, v) in order {
                let ev = incoming(n, EntityKind::Product, Some(v));
                match decide(DedupeWindow::default(), at(100), LedgerLookup::NotSeen, mark.as_ref(), &ev) {
                    Freshness::Apply { advance_to } => {
                        let next = advance_to.unwrap();
                        prop_assert!(mark.as_ref().is_none_or(|m| next.version >= m.version));
                        mark = Some(next);
                    }
                    Freshness::Stale { incoming, applied } => prop_assert!(incoming.unwrap() < applied),
                    Freshness::Duplicate { .. } => prop_assert!(false, "distinct webhook ids"),
                }
            }
            prop_assert_eq!(mark.unwrap().version, at(*versions.iter().max().unwrap()));
        }

        #[test]
        fn a_repeat_delivery_inside_the_window_is_always_a_duplicate(age in 0i64..259_200, v in 0i64..10) {
            let ev = incoming(1, EntityKind::Order, Some(v));
            let out = decide(DedupeWindow::default(), at(age), LedgerLookup::SeenAt(at(0)), None, &ev);
            prop_assert_eq!(out, Freshness::Duplicate { first_seen: Some(at(0)) });
        }
    }
}
