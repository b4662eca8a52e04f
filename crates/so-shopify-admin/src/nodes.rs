//! Admin GraphQL objects as this adapter selects them (`queries.rs` holds
//! the selections). Field names follow the schema in camelCase; anything the
//! selection may omit, or Shopify may send as `null`, is optional, and
//! enum-valued strings with many values (financial status, product status)
//! stay strings so a new value cannot fail a backfill.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::gid::Gid;

/// `CustomerEmailMarketingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmailMarketingState {
    NotSubscribed,
    Pending,
    Subscribed,
    Unsubscribed,
    Redacted,
    Invalid,
    /// A value added after this code was written.
    #[serde(other)]
    Unknown,
}

impl EmailMarketingState {
    /// GraphQL spelling, e.g. `UNSUBSCRIBED`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailMarketingState::NotSubscribed => "NOT_SUBSCRIBED",
            EmailMarketingState::Pending => "PENDING",
            EmailMarketingState::Subscribed => "SUBSCRIBED",
            EmailMarketingState::Unsubscribed => "UNSUBSCRIBED",
            EmailMarketingState::Redacted => "REDACTED",
            EmailMarketingState::Invalid => "INVALID",
            EmailMarketingState::Unknown => "UNKNOWN",
        }
    }
}

/// The states `customerEmailMarketingConsentUpdate` accepts as input
/// (NOT_SUBSCRIBED, REDACTED and INVALID are refused; use UNSUBSCRIBED for
/// an opt-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentTarget {
    Subscribed,
    Unsubscribed,
    Pending,
}

impl From<ConsentTarget> for EmailMarketingState {
    fn from(t: ConsentTarget) -> Self {
        match t {
            ConsentTarget::Subscribed => EmailMarketingState::Subscribed,
            ConsentTarget::Unsubscribed => EmailMarketingState::Unsubscribed,
            ConsentTarget::Pending => EmailMarketingState::Pending,
        }
    }
}

/// `CustomerMarketingOptInLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MarketingOptInLevel {
    SingleOptIn,
    ConfirmedOptIn,
    /// Shopify's `UNKNOWN`, or a value added after this code was written.
    #[serde(other)]
    Unknown,
}

impl MarketingOptInLevel {
    /// GraphQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MarketingOptInLevel::SingleOptIn => "SINGLE_OPT_IN",
            MarketingOptInLevel::ConfirmedOptIn => "CONFIRMED_OPT_IN",
            MarketingOptInLevel::Unknown => "UNKNOWN",
        }
    }
}

/// `Customer.emailMarketingConsent` (`CustomerEmailMarketingConsentState`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMarketingConsent {
    pub marketing_state: EmailMarketingState,
    #[serde(default)]
    pub marketing_opt_in_level: Option<MarketingOptInLevel>,
    #[serde(default)]
    pub consent_updated_at: Option<DateTime<Utc>>,
}

/// `Customer.defaultEmailAddress` (since 2025-04; `Customer.email` is
/// deprecated in its favour).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerEmailAddress {
    pub email_address: String,
    #[serde(default)]
    pub marketing_state: Option<EmailMarketingState>,
    #[serde(default)]
    pub marketing_opt_in_level: Option<MarketingOptInLevel>,
    #[serde(default)]
    pub marketing_updated_at: Option<DateTime<Utc>>,
}

/// `MailingAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MailingAddress {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub province_code: Option<String>,
    pub country: Option<String>,
    pub country_code_v2: Option<String>,
    pub zip: Option<String>,
    pub phone: Option<String>,
}

/// `Customer`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: Gid,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub default_email_address: Option<CustomerEmailAddress>,
    #[serde(default)]
    pub email_marketing_consent: Option<EmailMarketingConsent>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// `CustomerState`: `DISABLED`, `INVITED`, `ENABLED`, `DECLINED`.
    #[serde(default)]
    pub state: Option<String>,
    /// Whether the customer verified their email address.
    #[serde(default)]
    pub verified_email: Option<bool>,
    /// The merchant's note.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub default_address: Option<MailingAddress>,
}

impl Customer {
    /// The email, preferring `defaultEmailAddress` over the deprecated
    /// `email`.
    pub fn email_address(&self) -> Option<&str> {
        self.default_email_address
            .as_ref()
            .map(|e| e.email_address.as_str())
            .or(self.email.as_deref())
    }

    /// The consent state, from `emailMarketingConsent` or else
    /// `defaultEmailAddress`; `None` for a customer without an email.
    pub fn marketing_state(&self) -> Option<EmailMarketingState> {
        self.email_marketing_consent
            .as_ref()
            .map(|c| c.marketing_state)
            .or_else(|| {
                self.default_email_address
                    .as_ref()
                    .and_then(|e| e.marketing_state)
            })
    }

    /// When the consent state last changed, from the same two places.
    pub fn marketing_changed_at(&self) -> Option<DateTime<Utc>> {
        self.email_marketing_consent
            .as_ref()
            .and_then(|c| c.consent_updated_at)
            .or_else(|| {
                self.default_email_address
                    .as_ref()
                    .and_then(|e| e.marketing_updated_at)
            })
    }
}

/// `MoneyV2`: the amount is a decimal string, kept exact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub amount: String,
    pub currency_code: String,
}

/// `MoneyBag`: only the shop currency is selected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: Money,
}

/// An object selected only for its id (`customer { id }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdRef {
    pub id: Gid,
}

/// `pageInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(default)]
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// A nested connection. In bulk results its nodes arrive as separate lines
/// and are attached by [`crate::BulkParent`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", bound = "T: Deserialize<'de>")]
pub struct Connection<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
    /// Selected on nested connections so truncation is visible.
    #[serde(default)]
    pub page_info: Option<PageInfo>,
}

impl<T> Default for Connection<T> {
    fn default() -> Self {
        Connection {
            nodes: Vec::new(),
            page_info: None,
        }
    }
}

impl<T> Connection<T> {
    /// More nodes exist than were fetched (the page size was too small).
    pub fn truncated(&self) -> bool {
        self.page_info.as_ref().is_some_and(|p| p.has_next_page)
    }
}

/// `Order`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Gid,
    /// e.g. `#1001`.
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub processed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    pub currency_code: String,
    #[serde(default)]
    pub total_price_set: Option<MoneyBag>,
    /// After refunds and edits.
    #[serde(default)]
    pub current_total_price_set: Option<MoneyBag>,
    #[serde(default)]
    pub subtotal_price_set: Option<MoneyBag>,
    #[serde(default)]
    pub total_tax_set: Option<MoneyBag>,
    #[serde(default)]
    pub total_discounts_set: Option<MoneyBag>,
    /// `OrderDisplayFinancialStatus`, e.g. `PAID`, `PARTIALLY_REFUNDED`.
    #[serde(default)]
    pub display_financial_status: Option<String>,
    /// `OrderDisplayFulfillmentStatus`, e.g. `FULFILLED`, `UNFULFILLED`.
    #[serde(default)]
    pub display_fulfillment_status: Option<String>,
    /// A test order (never revenue).
    #[serde(default)]
    pub test: Option<bool>,
    #[serde(default)]
    pub customer: Option<CustomerRef>,
    #[serde(default)]
    pub line_items: Connection<LineItem>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// `LineItem`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub id: Gid,
    pub quantity: i64,
    #[serde(default)]
    pub sku: Option<String>,
    pub title: String,
    #[serde(default)]
    pub variant: Option<IdRef>,
    #[serde(default)]
    pub product: Option<IdRef>,
    #[serde(default)]
    pub original_unit_price_set: Option<MoneyBag>,
}

/// `Refund`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub id: Gid,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub total_refunded_set: Option<MoneyBag>,
    /// Not selected in bulk queries (Shopify refuses connections inside
    /// lists there).
    #[serde(default)]
    pub refund_line_items: Connection<RefundLineItem>,
}

/// `RefundLineItem`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineItem {
    #[serde(default)]
    pub id: Option<Gid>,
    #[serde(default)]
    pub line_item: Option<IdRef>,
    pub quantity: i64,
    #[serde(default)]
    pub subtotal_set: Option<MoneyBag>,
}

/// `Product`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: Gid,
    pub title: String,
    pub handle: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    /// `ProductStatus`: `ACTIVE`, `ARCHIVED`, `DRAFT`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub variants: Connection<ProductVariant>,
}

/// `ProductVariant`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVariant {
    pub id: Gid,
    #[serde(default)]
    pub sku: Option<String>,
    /// `Money` scalar: a decimal string.
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// `AbandonedCheckout`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbandonedCheckout {
    pub id: Gid,
    /// The recovery link.
    #[serde(default)]
    pub abandoned_checkout_url: Option<String>,
    /// Set once the checkout became an order.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub customer: Option<CustomerRef>,
    #[serde(default)]
    pub total_price_set: Option<MoneyBag>,
    #[serde(default)]
    pub line_items: Connection<CheckoutLineItem>,
}

impl AbandonedCheckout {
    /// The checkout token (the webhook key since 2026-04), read from the
    /// recovery URL's `…/checkouts/{token}/recover` path; `None` when the URL
    /// has another form.
    pub fn token(&self) -> Option<&str> {
        let url = self.abandoned_checkout_url.as_deref()?;
        let after = url.split("/checkouts/").nth(1)?;
        let token = after.split(['/', '?']).next()?;
        (!token.is_empty()).then_some(token)
    }
}

/// The customer of an order or a checkout: id, email and name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRef {
    pub id: Gid,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

/// The customer of a checkout (the same selection as an order's).
pub type CheckoutCustomer = CustomerRef;

/// `AbandonedCheckoutLineItem`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutLineItem {
    #[serde(default)]
    pub id: Option<Gid>,
    pub title: String,
    pub quantity: i64,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub variant: Option<IdRef>,
    #[serde(default)]
    pub product: Option<IdRef>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn customer_reads_documented_shape() {
        let c: Customer = serde_json::from_value(json!({
            "id": "gid://shopify/Customer/820982911946154508",
            "email": "old@example.com",
            "defaultEmailAddress": {"emailAddress": "a@example.com", "marketingState": "SUBSCRIBED",
                                    "marketingOptInLevel": "SINGLE_OPT_IN", "marketingUpdatedAt": "2024-05-01T10:00:00Z"},
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED", "marketingOptInLevel": "CONFIRMED_OPT_IN",
                                      "consentUpdatedAt": "2024-05-01T10:00:00Z"},
            "firstName": "A", "lastName": null, "phone": null, "state": "ENABLED", "tags": ["vip"],
            "createdAt": "2023-01-01T00:00:00Z", "updatedAt": "2024-05-01T10:00:00Z",
            "defaultAddress": {"city": "Leeds", "countryCodeV2": "GB"}
        }))
        .unwrap();
        assert_eq!(c.id.id(), 820_982_911_946_154_508);
        assert_eq!(c.email_address(), Some("a@example.com"));
        assert_eq!(c.marketing_state(), Some(EmailMarketingState::Subscribed));
        assert_eq!(
            c.default_address.unwrap().country_code_v2.as_deref(),
            Some("GB")
        );
    }

    #[test]
    fn unknown_enum_values_do_not_fail() {
        let c: EmailMarketingConsent = serde_json::from_value(
            json!({"marketingState": "SOMETHING_NEW", "marketingOptInLevel": "NEW"}),
        )
        .unwrap();
        assert_eq!(c.marketing_state, EmailMarketingState::Unknown);
        assert_eq!(c.marketing_opt_in_level, Some(MarketingOptInLevel::Unknown));
    }

    #[test]
    fn checkout_token_from_recovery_url() {
        let c: AbandonedCheckout = serde_json::from_value(json!({
            "id": "gid://shopify/AbandonedCheckout/1",
            "abandonedCheckoutUrl": "https://shop.example/123/checkouts/abc123/recover?key=k",
            "createdAt": "2024-05-01T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(c.token(), Some("abc123"));
    }
}
