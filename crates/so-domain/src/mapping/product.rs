//! `products/*` → Ometria `product` records: one for the product and one
//! per variant (`<ns><product>_<variant>`, `is_variant: true`), the ids the
//! order line items point at. Separate records keep each under Ometria's
//! 60 KB limit however many variants a product has.

use serde_json::{Value, json};

use super::record::{Record, text};
use super::{MappingContext, MappingError};
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{Product, ShopifyId, Variant};

/// `products/create|update`. Only the variants Shopify sent in full (the
/// first 100) are mapped.
pub fn map_product(
    ctx: &MappingContext,
    product: &Product,
) -> Result<Vec<PushRecord>, MappingError> {
    let missing = |field| MappingError::MissingField {
        entity: "product",
        id: product.id,
        field,
    };
    let title = text(product.title.as_deref()).ok_or_else(|| missing("title"))?;
    let active = is_active(product);
    let url = product_url(ctx, product);
    let image = product
        .image
        .as_ref()
        .or(product.images.first())
        .and_then(|i| text(i.src.as_deref()));
    let attributes = attributes(product);

    let mut parent = Record::new(RecordType::Product, ctx.id(product.id));
    parent.set("title", title.as_str());
    parent.set("is_active", active);
    parent.set("is_variant", false);
    if let [only] = product.variants.as_slice() {
        parent.set_text("sku", only.sku.as_deref());
    }
    // The parent shows the "from" price: the cheapest variant's pair.
    let cheapest = product
        .variants
        .iter()
        .filter(|v| v.price.is_some())
        .min_by_key(|v| v.price);
    if let Some(v) = cheapest {
        set_prices(&mut parent, v);
    }
    parent.set_opt("is_in_stock", in_stock_any(&product.variants));
    parent.set_opt("url", url.clone());
    parent.set_opt("image_url", image.clone());
    parent.set_opt("currency", ctx.currency.clone());
    parent.set("attributes", attributes.clone());
    let listing = listing(ctx, &parent);
    parent.set("listings", listing);
    parent.set_opt(
        "properties",
        text(product.status.as_deref()).map(|s| json!({ "shopify_status": s })),
    );

    let mut records = vec![parent.finish()?];
    for variant in &product.variants {
        let mut record = Record::new(RecordType::Product, ctx.variant_id(product.id, variant.id));
        record.set("title", variant_title(&title, variant));
        record.set("is_active", active);
        record.set("is_variant", true);
        record.set_text("sku", variant.sku.as_deref());
        set_prices(&mut record, variant);
        record.set_opt("currency", ctx.currency.clone());
        record.set_opt("is_in_stock", in_stock(variant));
        record.set_opt(
            "url",
            url.as_ref().map(|u| format!("{u}?variant={}", variant.id)),
        );
        record.set_opt(
            "image_url",
            variant_image(product, variant).or_else(|| image.clone()),
        );
        record.set("attributes", attributes.clone());
        record.set("properties", json!({ "parent_id": ctx.id(product.id) }));
        records.push(record.finish()?);
    }
    Ok(records)
}

/// `products/delete`: the payload has only the product id, so variant
/// records are deactivated only if the caller knows their ids (from the
/// last `products/update` it stored).
pub fn map_product_delete(
    ctx: &MappingContext,
    product_id: ShopifyId,
    known_variants: &[ShopifyId],
) -> Result<Vec<PushRecord>, MappingError> {
    let ids = std::iter::once(ctx.id(product_id)).chain(
        known_variants
            .iter()
            .map(|v| ctx.variant_id(product_id, *v)),
    );
    ids.map(|id| {
        let mut record = Record::new(RecordType::Product, id);
        record.set("is_active", false);
        record.finish()
    })
    .collect()
}

/// `status: active`; payloads from before `status` existed fall back to
/// being published.
fn is_active(product: &Product) -> bool {
    match product.status.as_deref() {
        Some(status) => status.eq_ignore_ascii_case("active"),
        None => product.published_at.is_some(),
    }
}

/// Shopify's price is what the shopper pays; `compare_at_price` is the
/// "was" price. Only a variant actually on sale (compare-at above price)
/// has a `special_price`: Ometria `price` is then the compare-at and
/// `special_price` the price. Otherwise `price` is the price and no
/// `special_price` is sent, so nothing reads as a discount that is not one.
fn set_prices(record: &mut Record, variant: &Variant) {
    let Some(price) = variant.price else { return };
    match variant.compare_at_price {
        Some(was) if was > price => {
            record.set("price", was.to_json());
            record.set("special_price", price.to_json());
        }
        _ => record.set("price", price.to_json()),
    }
}

/// The parent's one listing (Ometria's per-store view of a product; a
/// Shopify account has one per store): the shop's `store` with the
/// parent's own title, prices, state, links and currency.
fn listing(ctx: &MappingContext, parent: &Record) -> Value {
    let mut listing = serde_json::Map::new();
    listing.insert("store".to_owned(), Value::from(ctx.store.as_str()));
    for key in [
        "title",
        "price",
        "special_price",
        "currency",
        "is_active",
        "url",
        "image_url",
    ] {
        if let Some(v) = parent.get(key) {
            listing.insert(key.to_owned(), v.clone());
        }
    }
    Value::Array(vec![Value::Object(listing)])
}

/// In stock when units remain or overselling is allowed; `None` when the
/// payload says nothing about inventory.
fn in_stock(variant: &Variant) -> Option<bool> {
    let continues = variant
        .inventory_policy
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("continue"));
    match variant.inventory_quantity {
        Some(q) => Some(q > 0 || continues),
        None => continues.then_some(true),
    }
}

fn in_stock_any(variants: &[Variant]) -> Option<bool> {
    let known: Vec<bool> = variants.iter().filter_map(in_stock).collect();
    (!known.is_empty()).then(|| known.contains(&true))
}

fn product_url(ctx: &MappingContext, product: &Product) -> Option<String> {
    let base = ctx.storefront_url.as_deref()?.trim_end_matches('/');
    let handle = text(product.handle.as_deref())?;
    Some(format!("{base}/products/{handle}"))
}

fn variant_title(title: &str, variant: &Variant) -> String {
    match text(variant.title.as_deref()) {
        Some(v) if v != "Default Title" => format!("{title} - {v}"),
        _ => title.to_owned(),
    }
}

fn variant_image(product: &Product, variant: &Variant) -> Option<String> {
    let id = variant.image_id?;
    product
        .images
        .iter()
        .find(|i| i.id == Some(id))
        .and_then(|i| text(i.src.as_deref()))
}

fn attributes(product: &Product) -> Value {
    let attr = |kind: &str, value: Option<&str>| {
        text(value).map(|v| json!({ "type": kind, "id": v, "label": v }))
    };
    Value::Array(
        [
            attr("vendor", product.vendor.as_deref()),
            attr("product_type", product.product_type.as_deref()),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}
