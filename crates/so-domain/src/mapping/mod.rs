//! Shopify payloads → Ometria [`PushRecord`](crate::ometria::PushRecord)s.
//!
//! Pure functions. State that a payload lacks (the order behind a refund,
//! the tag set behind a tag delta, the resolved contact) comes in as an
//! argument; what must be stored comes back out. Field-by-field reference:
//! `docs/mapping.md`.

mod consent;
mod contact;
mod context;
mod field_mappings;
mod line_products;
mod order;
mod order_state;
mod overlay;
mod product;
mod record;
mod refund;
mod status;
mod tags;

#[cfg(test)]
mod tests;

pub use consent::{
    ConsentEffect, ConsentHistory, MarketingOptIn, map_email_consent, map_sms_consent,
    marketing_optin, settle_email_consent,
};
pub use contact::{LegacyParts, Part, map_customer, map_customer_delete, map_purchasing_summary};
pub use context::{MappingContext, MappingError};
pub use field_mappings::{FieldMappingError, FieldMappings, FieldPath, MappedEntity};
pub use line_products::{ProductKey, line_product_keys, map_line_products};
pub use order::{OrderMapping, map_order, map_order_delete};
pub use order_state::{Buyer, OrderLine, OrderState, RefundSummary, RefundedLine};
pub use overlay::apply_field_mappings;
pub use product::{map_product, map_product_delete};
pub use refund::map_refund;
pub use status::{OrderStatus, RefundLevel};
pub use tags::{TagSet, apply_tag_change, map_tags};
