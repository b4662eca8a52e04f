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
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::gid::Gid;
use crate::nodes::{
    AbandonedCheckout, Customer, CustomerRef, EmailMarketingState, LineItem, MailingAddress,
    MarketingOptInLevel, MoneyBag, Order, Product, ProductVariant, Refund, RefundLineItem,
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
pub const BACKFILL_WEBHOOK_ID_PREFIX: &str = "bf-";
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

/// A JSON object that leaves out unknown (`None`) fields.
struct Body(Map<String, Value>);

impl Body {
    fn new() -> Self {
        Body(Map::new())
    }

    fn put(&mut self, key: &str, value: Option<Value>) {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v);
        }
    }

    fn finish(self) -> Value {
        Value::Object(self.0)
    }
}

/// The numeric id as an exact JSON integer.
fn id(gid: &Gid) -> Value {
    Value::from(gid.id())
}

fn gid(gid: &Gid) -> Value {
    Value::from(gid.to_string())
}

fn time(t: DateTime<Utc>) -> Value {
    Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn text(s: Option<&str>) -> Option<Value> {
    s.map(Value::from)
}

/// GraphQL enum spellings become REST's lowercase ones (`ENABLED` →
/// `enabled`, `PARTIALLY_REFUNDED` → `partially_refunded`).
fn lower(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::from(s.to_ascii_lowercase()))
}

/// REST's comma-separated tag string.
fn tags(tags: &[String]) -> String {
    tags.join(", ")
}

/// Quantities are never negative; a negative one would be refused by the
/// decoder, so it is sent as 0.
fn quantity(q: i64) -> Value {
    Value::from(u64::try_from(q).unwrap_or(0))
}

fn amount(bag: Option<&MoneyBag>) -> Option<Value> {
    bag.map(|m| Value::from(m.shop_money.amount.as_str()))
}

/// A REST `*_set` pair; only the shop side is known, and the presentment
/// side is left out rather than guessed.
fn money_set(bag: &MoneyBag) -> Value {
    json!({"shop_money": {
        "amount": bag.shop_money.amount,
        "currency_code": bag.shop_money.currency_code,
    }})
}

/// `OrderDisplayFulfillmentStatus` → REST `fulfillment_status`, which is
/// `fulfilled`, `partial`, `restocked` or `null` (nothing fulfilled yet).
fn fulfillment_status(display: &str) -> Value {
    match display.to_ascii_uppercase().as_str() {
        "FULFILLED" => Value::from("fulfilled"),
        "PARTIALLY_FULFILLED" => Value::from("partial"),
        "RESTOCKED" => Value::from("restocked"),
        _ => Value::Null,
    }
}

fn address(a: &MailingAddress) -> Value {
    let mut b = Body::new();
    for (key, value) in [
        ("first_name", &a.first_name),
        ("last_name", &a.last_name),
        ("company", &a.company),
        ("address1", &a.address1),
        ("address2", &a.address2),
        ("city", &a.city),
        ("province", &a.province),
        ("province_code", &a.province_code),
        ("country", &a.country),
        ("country_code", &a.country_code_v2),
        ("zip", &a.zip),
        ("phone", &a.phone),
    ] {
        b.put(key, text(value.as_deref()));
    }
    b.finish()
}

/// REST's lowercase consent state; `None` for a value this code does not
/// know (sending it would make the worker guess).
fn consent_state(state: EmailMarketingState) -> Option<&'static str> {
    match state {
        EmailMarketingState::NotSubscribed => Some("not_subscribed"),
        EmailMarketingState::Pending => Some("pending"),
        EmailMarketingState::Subscribed => Some("subscribed"),
        EmailMarketingState::Unsubscribed => Some("unsubscribed"),
        EmailMarketingState::Redacted => Some("redacted"),
        EmailMarketingState::Invalid => Some("invalid"),
        EmailMarketingState::Unknown => None,
    }
}

fn opt_in_level(level: MarketingOptInLevel) -> &'static str {
    match level {
        MarketingOptInLevel::SingleOptIn => "single_opt_in",
        MarketingOptInLevel::ConfirmedOptIn => "confirmed_opt_in",
        MarketingOptInLevel::Unknown => "unknown",
    }
}

fn email_consent(c: &Customer) -> Option<Value> {
    let from_consent = c.email_marketing_consent.as_ref().and_then(|e| {
        Some((
            consent_state(e.marketing_state)?,
            e.marketing_opt_in_level,
            e.consent_updated_at,
        ))
    });
    let from_address = || {
        c.default_email_address.as_ref().and_then(|e| {
            Some((
                consent_state(e.marketing_state?)?,
                e.marketing_opt_in_level,
                e.marketing_updated_at,
            ))
        })
    };
    let (state, level, updated_at) = from_consent.or_else(from_address)?;
    Some(json!({
        "state": state,
        "opt_in_level": level.map(opt_in_level),
        "consent_updated_at": updated_at.map(time),
    }))
}

/// The `customer` nested in orders and checkouts (2025-01+ shape: no
/// consent, no tags).
fn customer_ref(c: &CustomerRef) -> Value {
    let mut b = Body::new();
    b.put("id", Some(id(&c.id)));
    b.put("admin_graphql_api_id", Some(gid(&c.id)));
    b.put("email", text(c.email.as_deref()));
    b.put("first_name", text(c.first_name.as_deref()));
    b.put("last_name", text(c.last_name.as_deref()));
    b.finish()
}

fn line_item(l: &LineItem) -> Value {
    let price = l.original_unit_price_set.as_ref();
    let mut b = Body::new();
    b.put("id", Some(id(&l.id)));
    b.put("admin_graphql_api_id", Some(gid(&l.id)));
    b.put(
        "product_id",
        Some(l.product.as_ref().map_or(Value::Null, |p| id(&p.id))),
    );
    b.put(
        "variant_id",
        Some(l.variant.as_ref().map_or(Value::Null, |v| id(&v.id))),
    );
    b.put("sku", text(l.sku.as_deref()));
    b.put("title", Some(Value::from(l.title.as_str())));
    b.put("name", Some(Value::from(l.title.as_str())));
    b.put("quantity", Some(quantity(l.quantity)));
    // Required by the decoder: without it the order is refused, loudly,
    // rather than pushed with a made-up price.
    b.put("price", amount(price));
    b.put("price_set", price.map(money_set));
    b.finish()
}

fn refund(order_id: u64, r: &Refund) -> Value {
    let mut b = Body::new();
    b.put("id", Some(id(&r.id)));
    b.put("admin_graphql_api_id", Some(gid(&r.id)));
    b.put("order_id", Some(Value::from(order_id)));
    // GraphQL refunds have no `processedAt`; REST's equals `created_at`
    // for refunds made through Shopify.
    b.put("created_at", r.created_at.map(time));
    b.put("processed_at", r.created_at.map(time));
    b.put(
        "refund_line_items",
        Some(Value::Array(
            r.refund_line_items
                .nodes
                .iter()
                .filter_map(refund_line)
                .collect(),
        )),
    );
    // One successful refund transaction of the total refunded. A refund
    // that returned no money has no transactions in REST either (the worker
    // then counts its lines), so none is made up for it.
    let transactions: Vec<Value> = r
        .total_refunded_set
        .as_ref()
        .filter(|m| !is_zero(&m.shop_money.amount))
        .map(|m| {
            json!({
                "kind": "refund",
                "status": "success",
                "amount": m.shop_money.amount,
                "currency": m.shop_money.currency_code,
            })
        })
        .into_iter()
        .collect();
    b.put("transactions", Some(Value::Array(transactions)));
    b.finish()
}

/// A refunded line; `None` without its line item (the decoder needs
/// `line_item_id`).
fn refund_line(l: &RefundLineItem) -> Option<Value> {
    let line_item = l.line_item.as_ref()?;
    let mut b = Body::new();
    b.put("id", l.id.as_ref().map(id));
    b.put("line_item_id", Some(id(&line_item.id)));
    b.put("quantity", Some(quantity(l.quantity)));
    b.put("subtotal_set", l.subtotal_set.as_ref().map(money_set));
    Some(b.finish())
}

fn variant(product_id: u64, v: &ProductVariant) -> Value {
    let mut b = Body::new();
    b.put("id", Some(id(&v.id)));
    b.put("admin_graphql_api_id", Some(gid(&v.id)));
    b.put("product_id", Some(Value::from(product_id)));
    b.put("title", text(v.title.as_deref()));
    b.put("sku", text(v.sku.as_deref()));
    b.put("price", text(v.price.as_deref()));
    b.finish()
}

/// `"0.00"`, `"-0"`, `"0"`: a decimal string of value zero.
fn is_zero(amount: &str) -> bool {
    let digits = amount.trim().trim_start_matches(['-', '+']);
    digits.chars().any(|c| c.is_ascii_digit()) && digits.chars().all(|c| c == '0' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ids_are_stable_short_and_distinct() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = backfill_webhook_id("shop.myshopify.com", "orders/updated", "1", Some(t));
        assert_eq!(
            a,
            backfill_webhook_id(" Shop.myshopify.com ", "orders/updated", "1", Some(t))
        );
        assert!(a.starts_with("bf-") && a.len() == 67, "{a}");
        assert!(a.bytes().all(|b| b.is_ascii_graphic()));
        // The length prefixes keep shifted boundaries apart.
        assert_ne!(
            backfill_webhook_id("s", "ab", "c", None),
            backfill_webhook_id("s", "a", "bc", None)
        );
    }

    #[test]
    fn zero_amounts() {
        for z in ["0", "0.00", "-0.0", " 0.0 "] {
            assert!(is_zero(z), "{z}");
        }
        for nz in ["0.01", "10", "", ".", "abc"] {
            assert!(!is_zero(nz), "{nz}");
        }
    }

    #[test]
    fn fulfillment_statuses_use_rest_spellings() {
        assert_eq!(fulfillment_status("FULFILLED"), json!("fulfilled"));
        assert_eq!(fulfillment_status("PARTIALLY_FULFILLED"), json!("partial"));
        assert_eq!(fulfillment_status("UNFULFILLED"), Value::Null);
        assert_eq!(fulfillment_status("IN_PROGRESS"), Value::Null);
    }
}
