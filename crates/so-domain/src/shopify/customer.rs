//! Customer payloads: `customers/*`, consent, tags, purchasing summary, merge.
//!
//! Since API 2025-01 a customer payload no longer carries `tags`,
//! `email_marketing_consent`, `sms_marketing_consent` or the order totals;
//! they arrive on their own topics. The fields stay here as `Option`s so a
//! pre-2025 payload still maps, and so the mapping can tell "absent" (keep
//! what Ometria has) from "present" (send it).

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::de::{Count, null_default};
use super::{Address, Money, ShopifyId};

/// `customers/create|update|enable|disable`, and the `customer` nested in
/// orders and checkouts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Customer {
    pub id: ShopifyId,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `enabled|disabled|invited|declined`: whether the customer has an
    /// activated account. Kept as text: it is only copied into properties.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub verified_email: Option<bool>,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub default_address: Option<Address>,
    /// Pre-2025-01 only: comma-separated.
    #[serde(default)]
    pub tags: Option<String>,
    /// Pre-2025-01 only.
    #[serde(default)]
    pub email_marketing_consent: Option<MarketingConsent>,
    /// Pre-2025-01 only.
    #[serde(default)]
    pub sms_marketing_consent: Option<MarketingConsent>,
    /// Pre-2025-01 only.
    #[serde(default)]
    pub orders_count: Option<Count>,
    /// Pre-2025-01 only.
    #[serde(default)]
    pub total_spent: Option<Money>,
    /// Pre-2025-01 only.
    #[serde(default)]
    pub last_order_id: Option<ShopifyId>,
}

/// Shopify's marketing state, lower-case in webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
pub enum ConsentState {
    NotSubscribed,
    Pending,
    Subscribed,
    Unsubscribed,
    Redacted,
    Invalid,
    /// A value added after this code was written; mapped conservatively.
    Other(String),
}

impl From<String> for ConsentState {
    fn from(raw: String) -> ConsentState {
        match raw.to_ascii_lowercase().as_str() {
            "not_subscribed" => ConsentState::NotSubscribed,
            "pending" => ConsentState::Pending,
            "subscribed" => ConsentState::Subscribed,
            "unsubscribed" => ConsentState::Unsubscribed,
            "redacted" => ConsentState::Redacted,
            "invalid" => ConsentState::Invalid,
            _ => ConsentState::Other(raw),
        }
    }
}

/// `email_marketing_consent` / `sms_marketing_consent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarketingConsent {
    /// `null` is seen in samples (SMS consent of a customer without phone).
    #[serde(default)]
    pub state: Option<ConsentState>,
    #[serde(default)]
    pub opt_in_level: Option<String>,
    /// Orders consent changes; `null` means consent was never set.
    #[serde(default)]
    pub consent_updated_at: Option<DateTime<FixedOffset>>,
}

/// `customers_email_marketing_consent/update`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailConsentUpdate {
    pub customer_id: ShopifyId,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub email_marketing_consent: Option<MarketingConsent>,
}

/// `customers_marketing_consent/update` (SMS).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SmsConsentUpdate {
    /// The customer id.
    pub id: ShopifyId,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub sms_marketing_consent: Option<MarketingConsent>,
}

/// `customers/delete`: only the id is reliable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomerDelete {
    pub id: ShopifyId,
}

/// `customers/merge`: `deleted` was merged into `kept`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomerMerge {
    #[serde(rename = "admin_graphql_api_customer_kept_id")]
    pub kept: ShopifyId,
    #[serde(rename = "admin_graphql_api_customer_deleted_id", default)]
    pub deleted: Option<ShopifyId>,
    /// `completed`, `failed`, `in_progress`...
    #[serde(default)]
    pub status: Option<String>,
}

impl CustomerMerge {
    /// Only a completed merge changes identities; a failed one (as in
    /// Shopify's own sample) must change nothing.
    pub fn completed(&self) -> Option<MergedCustomers> {
        let done = self
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("completed"));
        match (done, self.deleted) {
            (true, Some(deleted)) if deleted != self.kept => Some(MergedCustomers {
                kept: self.kept,
                deleted,
            }),
            _ => None,
        }
    }
}

/// The two sides of a completed merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergedCustomers {
    pub kept: ShopifyId,
    pub deleted: ShopifyId,
}

/// `customer.tags_added` / `customer.tags_removed` (GraphQL-shaped).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CustomerTagsEvent {
    #[serde(rename = "customerId")]
    pub customer_id: ShopifyId,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(rename = "occurredAt", default)]
    pub occurred_at: Option<DateTime<FixedOffset>>,
}

/// `customers/purchasing_summary` (GraphQL-shaped).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PurchasingSummary {
    #[serde(rename = "customerId")]
    pub customer_id: ShopifyId,
    #[serde(rename = "numberOfOrders", default)]
    pub number_of_orders: Option<Count>,
    #[serde(rename = "amountSpent", default)]
    pub amount_spent: Option<MoneyV2>,
    #[serde(rename = "lastOrderId", default)]
    pub last_order_id: Option<ShopifyId>,
    #[serde(rename = "occurredAt", default)]
    pub occurred_at: Option<DateTime<FixedOffset>>,
}

/// GraphQL `MoneyV2`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MoneyV2 {
    pub amount: Money,
    #[serde(rename = "currencyCode", default)]
    pub currency_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_2025_customer_has_no_consent_or_tags() {
        let c: Customer = serde_json::from_str(include_str!(
            "../../../../../shared/fixtures/shopify/webhook-2026-07-customers__update.json"
        ))
        .unwrap();
        assert!(c.tags.is_none() && c.email_marketing_consent.is_none());
        assert_eq!(c.email.as_deref(), Some("bob@biller.com"));
    }

    #[test]
    fn pre_2025_customer_keeps_consent_and_tags() {
        let c: Customer = serde_json::from_str(include_str!(
            "../../../../../shared/fixtures/shopify/webhook-2024-10-customers__update.json"
        ))
        .unwrap();
        assert_eq!(c.tags.as_deref(), Some(""));
        let consent = c.email_marketing_consent.unwrap();
        assert_eq!(consent.state, Some(ConsentState::NotSubscribed));
        assert_eq!(c.orders_count, Some(Count(1)));
    }

    #[test]
    fn failed_merge_changes_nothing_and_completed_merge_names_both_sides() {
        let failed: CustomerMerge = serde_json::from_str(include_str!(
            "../../../../../shared/fixtures/shopify/webhook-2026-07-customers__merge.json"
        ))
        .unwrap();
        assert_eq!(failed.completed(), None);
        let done: CustomerMerge = serde_json::from_str(
            r#"{"admin_graphql_api_customer_kept_id":"gid://shopify/Customer/820982911946154508",
                "admin_graphql_api_customer_deleted_id":"gid://shopify/Customer/2","status":"completed"}"#,
        )
        .unwrap();
        let merged = done.completed().unwrap();
        assert_eq!(merged.kept.get(), 820_982_911_946_154_508);
        assert_eq!(merged.deleted.get(), 2);
    }

    #[test]
    fn unknown_consent_states_are_kept_not_refused() {
        let c: MarketingConsent =
            serde_json::from_str(r#"{"state":"SOMETHING_NEW","consent_updated_at":null}"#).unwrap();
        assert_eq!(c.state, Some(ConsentState::Other("SOMETHING_NEW".into())));
    }
}
