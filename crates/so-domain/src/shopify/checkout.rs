//! `checkouts/create|update|delete`, keyed by `token` since API 2026-04.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::de::null_default;
use super::{Customer, Money, ShopifyId};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Checkout {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub cart_token: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// `null` until the checkout became an order.
    #[serde(default)]
    pub completed_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub abandoned_checkout_url: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub total_price: Option<Money>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default, deserialize_with = "null_default")]
    pub line_items: Vec<CheckoutLineItem>,
}

impl Checkout {
    /// The key routing uses too: `token`, else `cart_token`.
    pub fn key(&self) -> Option<&str> {
        [self.token.as_deref(), self.cart_token.as_deref()]
            .into_iter()
            .flatten()
            .find(|t| !t.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CheckoutLineItem {
    #[serde(default)]
    pub product_id: Option<ShopifyId>,
    #[serde(default)]
    pub variant_id: Option<ShopifyId>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub quantity: u64,
    #[serde(default)]
    pub price: Option<Money>,
}

/// `checkouts/delete`: samples still carry the legacy id and cart token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckoutDelete {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub cart_token: Option<String>,
    #[serde(default)]
    pub id: Option<ShopifyId>,
}
