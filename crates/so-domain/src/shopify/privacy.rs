//! Mandatory compliance topics and `app/uninstalled`.

use serde::Deserialize;

use super::ShopifyId;
use super::de::null_default;

/// The customer a privacy request is about (`customer{id,email,phone}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PrivacyCustomer {
    #[serde(default)]
    pub id: Option<ShopifyId>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// `customers/redact`: erase the customer's personal data. Shopify sends it
/// 10 days after the request (or 60 days after the last order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomerRedact {
    pub customer: PrivacyCustomer,
    #[serde(default, deserialize_with = "null_default")]
    pub orders_to_redact: Vec<ShopifyId>,
}

/// `customers/data_request`: the customer asked what is held about them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DataRequest {
    pub customer: PrivacyCustomer,
    #[serde(default, deserialize_with = "null_default")]
    pub orders_requested: Vec<ShopifyId>,
    #[serde(default)]
    pub data_request: Option<DataRequestId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DataRequestId {
    pub id: ShopifyId,
}
