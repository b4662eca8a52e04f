//! Merchant field mappings: extra Shopify fields copied into the Ometria
//! `properties` of contact, order and product records, configured per shop
//! as `target property = source path`.
//!
//! Validation happens once, at start-up ([`FieldMappings::build`]), and
//! reports every problem, so a merchant fixes a config in one round. Values
//! are read from the raw webhook JSON rather than the typed payloads, because
//! merchants ask for fields (metafields, note attributes) the mappers
//! themselves never need. Syntax and rules: `docs/mapping.md`, "Merchant
//! field mappings".

mod convert;
mod entity;
mod error;
mod limits;
mod mappings;
mod source;
mod target;

#[cfg(test)]
mod tests;

pub use entity::MappedEntity;
pub use error::FieldMappingError;
pub use mappings::FieldMappings;
pub use source::FieldPath;
