//! Admin API nodes as the webhook payloads the worker would have received,
//! so a historical backfill can feed the same queue and worker path as live
//! webhooks (`shared/reference/shopify.md` §4).
//!
//! Bodies are REST-shaped: numeric ids (exact JSON integers, never floats),
//! money as decimal strings from the shop-money amounts, RFC 3339 times,
//! lowercase enum values. Fields a node does not carry are left out rather
//! than invented: the worker reads an absent field as "unknown, keep what
//! Ometria has".
//!
//! Customers use the **legacy (≤2024-10) shape**, with `tags` and
//! `email_marketing_consent`: a backfill has both, which 2025-01+ webhooks no
//! longer carry.
//!
//! [`backfill_webhook_id`] gives each synthesized payload a deterministic
//! webhook id, so re-running or resuming a backfill is idempotent through the
//! worker's dedupe (same id) and staleness (`updated_at`) checks.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::nodes::{AbandonedCheckout, Customer, Order, Product};

mod rest_fields;

use rest_fields::{
    Body, address, amount, customer_ref, email_consent, fulfillment_status, gid, id, line_item,
    lower, money_set, quantity, refund, tags, text, time, variant,
};

/// Topic of synthesized customers.
pub const CUSTOMERS_UPDATE: &str = "customers/update";
/// Topic of synthesized orders.
pub const ORDERS_UPDATED: &str = "orders/updated";
/// Topic of synthesized products.
pub const PRODUCTS_UPDATE: &str = "products/update";
/// Topic of synthesized abandoned checkouts.
pub const CHECKOUTS_UPDATE: &str = "checkouts/update";

/// Prefix of every [`backfill_webhook_id`].
pub const BACKFILL_WEBHOOK_ID_PREFIX: &str = so_domain::webhook::SYNTHESIZED_ID_PREFIX;
/// Hashed into every id: bump it when the synthesized shape changes so a
/// re-run after the change is not deduplicated against the old payloads.
const ID_SCHEME: &str = "so-backfill-v1";

/// A webhook payload built from an Admin API node.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    /// e.g. `customers/update`.
    pub topic: &'static str,
    /// What routing keys on: the numeric id, or the checkout token.
    pub entity_id: String,
    /// The node's `updatedAt`: the version the worker's staleness check
    /// compares.
    pub updated_at: Option<DateTime<Utc>>,
    /// The REST-shaped JSON body.
    pub body: Value,
}

impl Synthesized {
    /// The body as the bytes a webhook would deliver.
    pub fn body_bytes(&self) -> Vec<u8> {
        self.body.to_string().into_bytes()
    }

    /// [`backfill_webhook_id`] for this payload in `shop`.
    pub fn webhook_id(&self, shop: &str) -> String {
        backfill_webhook_id(shop, self.topic, &self.entity_id, self.updated_at)
    }
}

/// A stable synthetic webhook id: `bf-` and the hex SHA-256 of the shop
/// (trimmed, lowercased), topic, entity id and `updated_at` (67 visible
/// ASCII characters). The same inputs always give the same id; any
/// difference, including another `updated_at`, gives another.
pub fn backfill_webhook_id(
    shop: &str,
    topic: &str,
    entity_id: &str,
    updated_at: Option<DateTime<Utc>>,
) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let shop = shop.trim().to_ascii_lowercase();
    let version = updated_at.map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Nanos, true)
    });
    let mut hasher = Sha256::new();
    // Length-prefixed, so no two different inputs hash the same bytes.
    for part in [ID_SCHEME, shop.as_str(), topic, entity_id, version.as_str()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut id = String::with_capacity(BACKFILL_WEBHOOK_ID_PREFIX.len() + 2 * digest.len());
    id.push_str(BACKFILL_WEBHOOK_ID_PREFIX);
    for byte in digest {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

/// `customers/update` in the legacy (≤2024-10) shape, with `tags` and
/// `email_marketing_consent` (from `emailMarketingConsent`, else
/// `defaultEmailAddress`; left out when the state is unknown).
pub fn customer_webhook(customer: &Customer) -> Synthesized {
    let mut b = Body::new();
    b.put("id", Some(id(&customer.id)));
    b.put("admin_graphql_api_id", Some(gid(&customer.id)));
    b.put("email", customer.email_address().map(Value::from));
    b.put("first_name", text(customer.first_name.as_deref()));
    b.put("last_name", text(customer.last_name.as_deref()));
    b.put("phone", text(customer.phone.as_deref()));
    b.put("state", lower(customer.state.as_deref()));
    b.put("verified_email", customer.verified_email.map(Value::from));
    b.put("note", text(customer.note.as_deref()));
    b.put("created_at", customer.created_at.map(time));
    b.put("updated_at", customer.updated_at.map(time));
    b.put("tags", Some(Value::from(tags(&customer.tags))));
    b.put(
        "default_address",
        customer.default_address.as_ref().map(address),
    );
    b.put("email_marketing_consent", email_consent(customer));
    Synthesized {
        topic: CUSTOMERS_UPDATE,
        entity_id: customer.id.id().to_string(),
        updated_at: customer.updated_at,
        body: b.finish(),
    }
}

/// `orders/updated`, with line items and the refunds the node carries
/// (each with one successful `refund` transaction of its
/// `totalRefundedSet`, so the worker's refund amounts, and the order's total
/// net of refunds, match Shopify's).
pub fn order_webhook(order: &Order) -> Synthesized {
    let order_id = order.id.id();
    let mut b = Body::new();
    b.put("id", Some(id(&order.id)));
    b.put("admin_graphql_api_id", Some(gid(&order.id)));
    b.put("name", Some(Value::from(order.name.as_str())));
    b.put("email", text(order.email.as_deref()));
    b.put("created_at", Some(time(order.created_at)));
    b.put("updated_at", order.updated_at.map(time));
    b.put("processed_at", order.processed_at.map(time));
    b.put(
        "cancelled_at",
        Some(order.cancelled_at.map_or(Value::Null, time)),
    );
    b.put("currency", Some(Value::from(order.currency_code.as_str())));
    for (field, bag) in [
        ("total_price", &order.total_price_set),
        ("current_total_price", &order.current_total_price_set),
        ("subtotal_price", &order.subtotal_price_set),
        ("total_tax", &order.total_tax_set),
        ("total_discounts", &order.total_discounts_set),
    ] {
        b.put(field, amount(bag.as_ref()));
        b.put(&format!("{field}_set"), bag.as_ref().map(money_set));
    }
    b.put(
        "financial_status",
        lower(order.display_financial_status.as_deref()),
    );
    if let Some(status) = order.display_fulfillment_status.as_deref() {
        b.put("fulfillment_status", Some(fulfillment_status(status)));
    }
    b.put("test", order.test.map(Value::from));
    b.put("customer", order.customer.as_ref().map(customer_ref));
    b.put(
        "line_items",
        Some(Value::Array(
            order.line_items.nodes.iter().map(line_item).collect(),
        )),
    );
    b.put(
        "refunds",
        Some(Value::Array(
            order.refunds.iter().map(|r| refund(order_id, r)).collect(),
        )),
    );
    Synthesized {
        topic: ORDERS_UPDATED,
        entity_id: order_id.to_string(),
        updated_at: order.updated_at,
        body: b.finish(),
    }
}

/// `products/update` with the variants the node carries.
pub fn product_webhook(product: &Product) -> Synthesized {
    let product_id = product.id.id();
    let mut b = Body::new();
    b.put("id", Some(id(&product.id)));
    b.put("admin_graphql_api_id", Some(gid(&product.id)));
    b.put("title", Some(Value::from(product.title.as_str())));
    b.put("handle", Some(Value::from(product.handle.as_str())));
    b.put("vendor", text(product.vendor.as_deref()));
    b.put("product_type", text(product.product_type.as_deref()));
    b.put("status", lower(product.status.as_deref()));
    b.put("tags", Some(Value::from(tags(&product.tags))));
    b.put("updated_at", product.updated_at.map(time));
    b.put(
        "variants",
        Some(Value::Array(
            product
                .variants
                .nodes
                .iter()
                .map(|v| variant(product_id, v))
                .collect(),
        )),
    );
    Synthesized {
        topic: PRODUCTS_UPDATE,
        entity_id: product_id.to_string(),
        updated_at: product.updated_at,
        body: b.finish(),
    }
}

/// `checkouts/update`, keyed by the token read from the recovery URL (the
/// webhook key since 2026-04). `None` when the token is unknown: a checkout
/// the worker cannot key is better skipped than keyed on a made-up value.
pub fn checkout_webhook(checkout: &AbandonedCheckout) -> Option<Synthesized> {
    let token = checkout.token()?.to_owned();
    let customer = checkout.customer.as_ref();
    let mut b = Body::new();
    b.put("token", Some(Value::from(token.as_str())));
    b.put("email", text(customer.and_then(|c| c.email.as_deref())));
    b.put("created_at", Some(time(checkout.created_at)));
    b.put("updated_at", checkout.updated_at.map(time));
    b.put(
        "completed_at",
        Some(checkout.completed_at.map_or(Value::Null, time)),
    );
    b.put(
        "abandoned_checkout_url",
        text(checkout.abandoned_checkout_url.as_deref()),
    );
    let total = checkout.total_price_set.as_ref();
    b.put(
        "currency",
        total.map(|m| Value::from(m.shop_money.currency_code.as_str())),
    );
    b.put("total_price", amount(total));
    b.put("customer", customer.map(customer_ref));
    let lines: Vec<Value> = checkout
        .line_items
        .nodes
        .iter()
        .map(|l| {
            let mut line = Body::new();
            line.put("product_id", l.product.as_ref().map(|p| id(&p.id)));
            line.put("variant_id", l.variant.as_ref().map(|v| id(&v.id)));
            line.put("sku", text(l.sku.as_deref()));
            line.put("title", Some(Value::from(l.title.as_str())));
            line.put("quantity", Some(quantity(l.quantity)));
            line.finish()
        })
        .collect();
    b.put("line_items", Some(Value::Array(lines)));
    Some(Synthesized {
        topic: CHECKOUTS_UPDATE,
        entity_id: token,
        updated_at: checkout.updated_at,
        body: b.finish(),
    })
}

#[cfg(test)]
mod tests;
