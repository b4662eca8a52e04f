//! Ometria order `status` and `is_valid` from Shopify's order state.
//!
//! Values follow Ometria's Shopify importer where one exists (open,
//! authorized, paid, voided, expired, refunded, cancelled) and Ometria's
//! refund recipe for partial refunds (`partial_refund`). The full table is
//! in `docs/mapping.md`.

use serde::{Deserialize, Serialize};

/// The `status` sent to Ometria. Exhaustive so each value's validity is a
/// decision, not a default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OrderStatus {
    Open,
    Authorized,
    PartiallyPaid,
    Paid,
    /// Paid and fully fulfilled.
    Complete,
    PartialRefund,
    Refunded,
    Voided,
    Expired,
    Cancelled,
    /// `orders/delete`.
    Deleted,
    /// A financial status added after this code; passed through, valid.
    Other(String),
}

impl OrderStatus {
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Authorized => "authorized",
            OrderStatus::PartiallyPaid => "partially_paid",
            OrderStatus::Paid => "paid",
            OrderStatus::Complete => "complete",
            OrderStatus::PartialRefund => "partial_refund",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Voided => "voided",
            OrderStatus::Expired => "expired",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Deleted => "deleted",
            OrderStatus::Other(s) => s,
        }
    }

    /// Whether the order's revenue counts (`is_valid`), before the test
    /// order override.
    pub fn counts_as_revenue(&self) -> bool {
        match self {
            OrderStatus::Open
            | OrderStatus::Authorized
            | OrderStatus::PartiallyPaid
            | OrderStatus::Paid
            | OrderStatus::Complete
            | OrderStatus::PartialRefund
            | OrderStatus::Other(_) => true,
            OrderStatus::Refunded
            | OrderStatus::Voided
            | OrderStatus::Expired
            | OrderStatus::Cancelled
            | OrderStatus::Deleted => false,
        }
    }

    /// Final states a refund cannot change (a cancelled order that is then
    /// refunded stays cancelled).
    fn is_final(&self) -> bool {
        !self.counts_as_revenue()
    }

    /// From an order payload; first matching row of the table wins.
    pub fn from_shopify(
        financial: Option<&str>,
        fulfillment: Option<&str>,
        cancelled: bool,
    ) -> OrderStatus {
        if cancelled {
            return OrderStatus::Cancelled;
        }
        let financial = financial.map(str::to_ascii_lowercase);
        match financial.as_deref() {
            Some("refunded") => OrderStatus::Refunded,
            Some("voided") => OrderStatus::Voided,
            Some("expired") => OrderStatus::Expired,
            Some("partially_refunded") => OrderStatus::PartialRefund,
            Some("paid") if fulfillment.is_some_and(|f| f.eq_ignore_ascii_case("fulfilled")) => {
                OrderStatus::Complete
            }
            Some("paid") => OrderStatus::Paid,
            Some("partially_paid") => OrderStatus::PartiallyPaid,
            Some("authorized") => OrderStatus::Authorized,
            None | Some("pending" | "") => OrderStatus::Open,
            Some(other) => OrderStatus::Other(other.to_owned()),
        }
    }

    /// The status once refunds are known (refunds/create arrives before
    /// the order's own financial status changes).
    pub fn with_refunds(self, level: RefundLevel) -> OrderStatus {
        match level {
            _ if self.is_final() => self,
            RefundLevel::None => self,
            RefundLevel::Partial => OrderStatus::PartialRefund,
            RefundLevel::Full => OrderStatus::Refunded,
        }
    }
}

impl From<String> for OrderStatus {
    fn from(raw: String) -> OrderStatus {
        let known = [
            OrderStatus::Open,
            OrderStatus::Authorized,
            OrderStatus::PartiallyPaid,
            OrderStatus::Paid,
            OrderStatus::Complete,
            OrderStatus::PartialRefund,
            OrderStatus::Refunded,
            OrderStatus::Voided,
            OrderStatus::Expired,
            OrderStatus::Cancelled,
            OrderStatus::Deleted,
        ];
        known
            .into_iter()
            .find(|s| s.as_str() == raw)
            .unwrap_or(OrderStatus::Other(raw))
    }
}

impl From<OrderStatus> for String {
    fn from(status: OrderStatus) -> String {
        status.as_str().to_owned()
    }
}

/// How much of an order has been refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundLevel {
    None,
    Partial,
    Full,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        let s = |f, ff, c| OrderStatus::from_shopify(f, ff, c);
        assert_eq!(s(Some("paid"), None, true), OrderStatus::Cancelled);
        assert_eq!(s(Some("pending"), None, false), OrderStatus::Open);
        assert_eq!(s(None, None, false), OrderStatus::Open);
        assert_eq!(
            s(Some("paid"), Some("fulfilled"), false),
            OrderStatus::Complete
        );
        assert_eq!(s(Some("paid"), Some("partial"), false), OrderStatus::Paid);
        assert_eq!(
            s(Some("PARTIALLY_REFUNDED"), None, false),
            OrderStatus::PartialRefund
        );
        assert_eq!(s(Some("refunded"), None, false), OrderStatus::Refunded);
        assert_eq!(
            s(Some("something_new"), None, false),
            OrderStatus::Other("something_new".into())
        );
    }

    #[test]
    fn validity_follows_ometria_recipes() {
        assert!(OrderStatus::PartialRefund.counts_as_revenue());
        assert!(!OrderStatus::Refunded.counts_as_revenue());
        assert!(!OrderStatus::Cancelled.counts_as_revenue());
        assert!(!OrderStatus::Deleted.counts_as_revenue());
    }

    #[test]
    fn refunds_upgrade_live_orders_but_never_a_cancelled_one() {
        assert_eq!(
            OrderStatus::Paid.with_refunds(RefundLevel::Partial),
            OrderStatus::PartialRefund
        );
        assert_eq!(
            OrderStatus::PartialRefund.with_refunds(RefundLevel::Full),
            OrderStatus::Refunded
        );
        assert_eq!(
            OrderStatus::Cancelled.with_refunds(RefundLevel::Full),
            OrderStatus::Cancelled
        );
        assert_eq!(
            OrderStatus::Paid.with_refunds(RefundLevel::None),
            OrderStatus::Paid
        );
    }

    #[test]
    fn round_trips_through_storage() {
        for s in [OrderStatus::PartialRefund, OrderStatus::Other("x".into())] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<OrderStatus>(&json).unwrap(), s);
        }
    }
}
