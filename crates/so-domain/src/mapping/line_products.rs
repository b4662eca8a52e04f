//! Minimal product records built from an order's line items, for products
//! Ometria never received (the app was installed mid-life without a product
//! backfill, or the product was deleted before it was ever sent): Ometria
//! needs the product an order line names to exist.
//!
//! Only what a line knows is sent: title, sku, unit price and the order's
//! currency. A later `products/update` sends the full record, which Ometria
//! merges over this one.

use serde_json::json;

use super::record::{Record, text};
use super::{MappingContext, MappingError};
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{LineItem, Order, ShopifyId};

/// A product record by its Shopify ids: the parent (`None`) or a variant.
pub type ProductKey = (ShopifyId, Option<ShopifyId>);

/// The product records the order's lines name, parent and variant, each
/// once, in line order (lines without a product are not in the order).
pub fn line_product_keys(order: &Order) -> Vec<ProductKey> {
    let mut keys = Vec::new();
    for line in &order.line_items {
        let Some(product) = line.product_id else {
            continue;
        };
        for key in [(product, None), (product, line.variant_id)] {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Minimal records for the product records in `missing` (from
/// [`line_product_keys`]), each built from the first line naming it.
pub fn map_line_products(
    ctx: &MappingContext,
    order: &Order,
    missing: &[ProductKey],
) -> Result<Vec<PushRecord>, MappingError> {
    missing
        .iter()
        .filter_map(|&(product, variant)| {
            let line = order.line_items.iter().find(|l| {
                l.product_id == Some(product) && (variant.is_none() || l.variant_id == variant)
            })?;
            Some(match variant {
                None => parent(ctx, order, product, line),
                Some(v) => variant_record(ctx, order, product, v, line),
            })
        })
        .collect()
}

fn parent(
    ctx: &MappingContext,
    order: &Order,
    product: ShopifyId,
    line: &LineItem,
) -> Result<PushRecord, MappingError> {
    let mut record = Record::new(RecordType::Product, ctx.id(product));
    record.set_text("title", line.title.as_deref());
    record.set("is_variant", false);
    record.set("price", line.price.to_json());
    record.set_text("currency", order.currency.as_deref());
    record.finish()
}

fn variant_record(
    ctx: &MappingContext,
    order: &Order,
    product: ShopifyId,
    variant: ShopifyId,
    line: &LineItem,
) -> Result<PushRecord, MappingError> {
    let mut record = Record::new(RecordType::Product, ctx.variant_id(product, variant));
    let title = match (
        text(line.title.as_deref()),
        text(line.variant_title.as_deref()),
    ) {
        (Some(t), Some(v)) if v != "Default Title" => Some(format!("{t} - {v}")),
        (t, _) => t,
    };
    record.set_opt("title", title);
    record.set("is_variant", true);
    record.set_text("sku", line.sku.as_deref());
    record.set("price", line.price.to_json());
    record.set_text("currency", order.currency.as_deref());
    record.set("properties", json!({ "parent_id": ctx.id(product) }));
    record.finish()
}
