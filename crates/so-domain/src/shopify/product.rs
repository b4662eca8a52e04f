//! `products/create|update|delete`.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::de::null_default;
use super::{Money, ShopifyId};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Product {
    pub id: ShopifyId,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    /// `active|draft|archived`; absent on very old payloads.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub published_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Only the first 100 variants come in full (the rest are `variant_gids`).
    #[serde(default, deserialize_with = "null_default")]
    pub variants: Vec<Variant>,
    #[serde(default, deserialize_with = "null_default")]
    pub images: Vec<Image>,
    #[serde(default)]
    pub image: Option<Image>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Variant {
    pub id: ShopifyId,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub compare_at_price: Option<Money>,
    /// Can be negative (oversold).
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
    /// `deny` or `continue` (sell when out of stock).
    #[serde(default)]
    pub inventory_policy: Option<String>,
    #[serde(default)]
    pub image_id: Option<ShopifyId>,
    #[serde(default)]
    pub option1: Option<String>,
    #[serde(default)]
    pub option2: Option<String>,
    #[serde(default)]
    pub option3: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Image {
    #[serde(default)]
    pub id: Option<ShopifyId>,
    #[serde(default)]
    pub src: Option<String>,
}

/// `products/delete`: only the id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProductDelete {
    pub id: ShopifyId,
}
