//! What every mapping needs besides the payload, and how mapping fails.

use chrono::{DateTime, Utc};

use crate::ShopDomain;
use crate::identity::Namespace;
use crate::ometria::RecordType;
use crate::shopify::ShopifyId;

/// Per-shop settings and the event's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingContext {
    /// Prefix of every Ometria id from this shop.
    pub namespace: Namespace,
    /// Ometria `store` on orders and `store_ids` on contacts.
    pub store: String,
    /// Storefront base such as `https://shop.example.com`; product URLs are
    /// only sent when it is known (the myshopify domain is not public).
    pub storefront_url: Option<String>,
    /// The shop's currency (ISO 4217), sent as each product's `currency`:
    /// Shopify's product payloads carry prices in it but do not name it.
    pub currency: Option<String>,
    /// When the event happened (`X-Shopify-Triggered-At`, else receipt);
    /// stands in for a consent timestamp Shopify left `null`.
    pub event_time: DateTime<Utc>,
}

impl MappingContext {
    /// Defaults: store = the shop domain, no storefront URL.
    pub fn new(
        shop: &ShopDomain,
        namespace: Namespace,
        event_time: DateTime<Utc>,
    ) -> MappingContext {
        MappingContext {
            namespace,
            store: shop.as_str().to_owned(),
            storefront_url: None,
            currency: None,
            event_time,
        }
    }

    pub(crate) fn id(&self, raw: impl std::fmt::Display) -> String {
        self.namespace.id(raw)
    }

    /// Ometria id of a variant's product record: `<ns><product>_<variant>`.
    pub(crate) fn variant_id(&self, product: ShopifyId, variant: ShopifyId) -> String {
        self.namespace.id(format_args!("{product}_{variant}"))
    }
}

/// Why a payload could not become Ometria records. Names the entity by its
/// Shopify id (never PII) and the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{entity} {id}: field `{field}` is required")]
    MissingField {
        entity: &'static str,
        id: ShopifyId,
        field: &'static str,
    },
    #[error("{entity} {id}: field `{field}` {reason}")]
    InvalidField {
        entity: &'static str,
        id: ShopifyId,
        field: &'static str,
        reason: &'static str,
    },
    #[error("refund {refund_id}: no stored state for order {order_id} (fetch the order first)")]
    OrderStateMissing {
        order_id: ShopifyId,
        refund_id: ShopifyId,
    },
    #[error(
        "refund {refund_id} belongs to order {refund_order}, stored state is order {state_order}"
    )]
    OrderMismatch {
        refund_id: ShopifyId,
        refund_order: ShopifyId,
        state_order: ShopifyId,
    },
    #[error("{} record {id}: {bytes} bytes is over Ometria's per-record limit", record_type.as_str())]
    RecordTooLarge {
        record_type: RecordType,
        id: String,
        bytes: usize,
    },
}
