//! Order payloads: `orders/*`, `orders/edited`, `orders/delete`.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::de::null_default;
use super::{Customer, Money, MoneySet, Refund, ShopifyId};

/// `orders/create|updated|paid|fulfilled|partially_fulfilled|cancelled`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Order {
    pub id: ShopifyId,
    /// `#1001`: what the shopper sees.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub processed_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub financial_status: Option<String>,
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// Shop currency: every plain amount field is in it.
    #[serde(default)]
    pub currency: Option<String>,
    /// The currency the shopper paid in; refund transactions are in it.
    #[serde(default)]
    pub presentment_currency: Option<String>,
    #[serde(default)]
    pub total_price: Option<Money>,
    #[serde(default)]
    pub subtotal_price: Option<Money>,
    #[serde(default)]
    pub total_tax: Option<Money>,
    #[serde(default)]
    pub total_discounts: Option<Money>,
    #[serde(default)]
    pub total_shipping_price_set: Option<MoneySet>,
    #[serde(default)]
    pub taxes_included: Option<bool>,
    #[serde(default)]
    pub test: Option<bool>,
    #[serde(default)]
    pub source_name: Option<String>,
    /// The checkout this order completed (since 2026-04 the only link;
    /// `checkout_id` was removed).
    #[serde(default)]
    pub checkout_token: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub discount_codes: Vec<DiscountCode>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default)]
    pub billing_address: Option<Address>,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[serde(default, deserialize_with = "null_default")]
    pub line_items: Vec<LineItem>,
    #[serde(default, deserialize_with = "null_default")]
    pub shipping_lines: Vec<ShippingLine>,
    /// Every refund so far: an order payload carries the whole refund
    /// history, so mapping it needs no stored state.
    #[serde(default, deserialize_with = "null_default")]
    pub refunds: Vec<Refund>,
}

impl Order {
    /// The email identity rules key guests on: the customer's, else the
    /// order's own.
    pub fn buyer_email(&self) -> Option<&str> {
        let customer = self.customer.as_ref().and_then(|c| c.email.as_deref());
        [
            customer,
            self.email.as_deref(),
            self.contact_email.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|e| !e.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscountCode {
    pub code: String,
}

/// Billing, shipping or default address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineItem {
    pub id: ShopifyId,
    /// `null` for custom items and deleted products.
    #[serde(default)]
    pub product_id: Option<ShopifyId>,
    #[serde(default)]
    pub variant_id: Option<ShopifyId>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// `"Small / Red"`: line items carry option values, not option names.
    #[serde(default)]
    pub variant_title: Option<String>,
    pub quantity: u64,
    pub price: Money,
    #[serde(default)]
    pub total_discount: Option<Money>,
    #[serde(default, deserialize_with = "null_default")]
    pub discount_allocations: Vec<AmountLine>,
    #[serde(default, deserialize_with = "null_default")]
    pub tax_lines: Vec<TaxLine>,
}

/// A discount allocation: `{ "amount": "5.00" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AmountLine {
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaxLine {
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShippingLine {
    #[serde(default)]
    pub price: Option<Money>,
}

/// `orders/delete`: only the id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderDelete {
    pub id: ShopifyId,
}

/// `orders/edited`: deltas only; the full state follows as `orders/updated`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderEdited {
    pub order_edit: OrderEdit,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderEdit {
    pub id: ShopifyId,
    pub order_id: ShopifyId,
    #[serde(default)]
    pub committed_at: Option<DateTime<FixedOffset>>,
}
