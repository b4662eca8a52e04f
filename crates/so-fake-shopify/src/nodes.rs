//! Seeded records as full Admin GraphQL objects (camelCase, `__typename` on
//! every object). Execution then keeps only what the query selected.
//!
//! Conventions the projection in `project.rs` relies on:
//! - every field the fake knows is present, `null` when unset, so a field that
//!   is absent is one Shopify's schema does not have either (an
//!   `undefinedField` error, not a silent `null`);
//! - a nested connection is `{"__connection": [nodes…]}`, paginated with the
//!   field's own arguments when projected;
//! - a reference to a record the fake does not hold (a variant id on a line
//!   item without a seeded product) is a stub `{"__stub": true, id}` whose
//!   other fields read as `null`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::model::{
    AbandonedCheckout, Address, Customer, LineItem, MarketingState, Order, Product, Refund, Variant,
};
use crate::store::Store;

pub(crate) fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// Shopify's `DateTime` rendering: seconds precision, `Z`.
pub(crate) fn time(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, time)
}

fn connection(items: Vec<Value>) -> Value {
    json!({ "__connection": items })
}

fn stub(kind: &str, id: u64) -> Value {
    json!({"__typename": kind, "__stub": true, "id": gid(kind, id)})
}

pub(crate) fn money_bag(amount: &str, currency: &str) -> Value {
    let money = json!({"__typename": "MoneyV2", "amount": amount, "currencyCode": currency});
    json!({"__typename": "MoneyBag", "shopMoney": money, "presentmentMoney": money})
}

pub(crate) fn customer(c: &Customer) -> Value {
    let state = c.marketing_state();
    let opt_in = c
        .email_consent
        .as_ref()
        .and_then(|e| e.opt_in_level)
        .map(|l| l.as_str());
    let updated = c.email_consent.as_ref().and_then(|e| e.consent_updated_at);
    let (default_email, consent) = match &c.email {
        None => (Value::Null, Value::Null),
        Some(email) => (
            json!({
                "__typename": "CustomerEmailAddress",
                "emailAddress": email,
                "marketingState": state.as_str(),
                "marketingOptInLevel": opt_in,
                "marketingUpdatedAt": opt_time(updated),
                "validFormat": true,
            }),
            json!({
                "__typename": "CustomerEmailMarketingConsentState",
                "marketingState": state.as_str(),
                "marketingOptInLevel": opt_in,
                "consentUpdatedAt": opt_time(updated),
            }),
        ),
    };
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "__typename": "Customer",
        "id": gid("Customer", c.id),
        "legacyResourceId": c.id.to_string(),
        "email": c.email,
        "defaultEmailAddress": default_email,
        "emailMarketingConsent": consent,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "displayName": if name.is_empty() { c.email.clone().unwrap_or_default() } else { name },
        "phone": c.phone,
        "state": c.state,
        "verifiedEmail": c.email.is_some(),
        "note": null,
        "tags": c.tags,
        "createdAt": time(c.created_at),
        "updatedAt": time(c.updated_at),
        "defaultAddress": c.default_address.as_ref().map(|a| address(a, c)),
    })
}

fn address(a: &Address, c: &Customer) -> Value {
    json!({
        "__typename": "MailingAddress",
        "address1": a.address1,
        "address2": null,
        "city": a.city,
        "province": null,
        "provinceCode": a.province_code,
        "country": null,
        "countryCodeV2": a.country_code,
        "zip": a.zip,
        "phone": c.phone,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "company": null,
    })
}

fn customer_ref(store: &Store, id: Option<u64>) -> Value {
    match id {
        None => Value::Null,
        Some(id) => store
            .customers
            .get(&id)
            .map_or_else(|| stub("Customer", id), customer),
    }
}

fn product_ref(store: &Store, id: Option<u64>) -> Value {
    match id {
        None => Value::Null,
        Some(id) => store
            .products
            .get(&id)
            .map_or_else(|| stub("Product", id), product),
    }
}

fn variant_ref(store: &Store, id: Option<u64>) -> Value {
    let Some(id) = id else {
        return Value::Null;
    };
    for p in store.products.values() {
        if let Some(v) = p.variants.iter().find(|v| v.id == id) {
            return variant(v, p.id);
        }
    }
    stub("ProductVariant", id)
}

pub(crate) fn order(store: &Store, o: &Order) -> Value {
    let cur = o.currency.as_str();
    let lines: Vec<Value> = o
        .line_items
        .iter()
        .map(|l| line_item(store, l, cur))
        .collect();
    json!({
        "__typename": "Order",
        "id": gid("Order", o.id),
        "legacyResourceId": o.id.to_string(),
        "name": o.name,
        "email": o.email,
        "createdAt": time(o.created_at),
        "updatedAt": time(o.updated_at),
        "processedAt": time(o.processed_at),
        "cancelledAt": opt_time(o.cancelled_at),
        "closedAt": null,
        "currencyCode": cur,
        "totalPriceSet": money_bag(&o.total_price, cur),
        "currentTotalPriceSet": money_bag(&o.current_total_price, cur),
        "subtotalPriceSet": money_bag(&o.subtotal_price, cur),
        "totalTaxSet": money_bag(&o.total_tax, cur),
        "totalDiscountsSet": money_bag(&o.total_discounts, cur),
        "displayFinancialStatus": o.financial_status,
        "displayFulfillmentStatus": "UNFULFILLED",
        "test": false,
        "tags": [],
        "customer": customer_ref(store, o.customer_id),
        "lineItems": connection(lines),
        "refunds": o.refunds.iter().map(|r| refund(store, o, r)).collect::<Vec<_>>(),
    })
}

fn line_item(store: &Store, l: &LineItem, currency: &str) -> Value {
    json!({
        "__typename": "LineItem",
        "id": gid("LineItem", l.id),
        "quantity": l.quantity,
        "currentQuantity": l.quantity,
        "sku": l.sku,
        "title": l.title,
        "name": l.title,
        "variant": variant_ref(store, l.variant_id),
        "product": product_ref(store, l.product_id),
        "originalUnitPriceSet": money_bag(&l.unit_price, currency),
    })
}

fn refund(store: &Store, o: &Order, r: &Refund) -> Value {
    let cur = o.currency.as_str();
    let lines: Vec<Value> = r
        .line_items
        .iter()
        .map(|rl| {
            let line = o
                .line_items
                .iter()
                .find(|l| l.id == rl.line_item_id)
                .map_or_else(
                    || stub("LineItem", rl.line_item_id),
                    |l| line_item(store, l, cur),
                );
            json!({
                "__typename": "RefundLineItem",
                "id": gid("RefundLineItem", rl.id),
                "lineItem": line,
                "quantity": rl.quantity,
                "restockType": "NO_RESTOCK",
                "subtotalSet": money_bag(&rl.subtotal, cur),
            })
        })
        .collect();
    json!({
        "__typename": "Refund",
        "id": gid("Refund", r.id),
        "createdAt": time(r.created_at),
        "note": null,
        "totalRefundedSet": money_bag(&r.total_refunded, cur),
        "refundLineItems": connection(lines),
    })
}

pub(crate) fn product(p: &Product) -> Value {
    json!({
        "__typename": "Product",
        "id": gid("Product", p.id),
        "legacyResourceId": p.id.to_string(),
        "title": p.title,
        "handle": p.handle,
        "vendor": p.vendor,
        "productType": p.product_type,
        "status": p.status,
        "tags": p.tags,
        "createdAt": time(p.created_at),
        "updatedAt": time(p.updated_at),
        "variants": connection(p.variants.iter().map(|v| variant(v, p.id)).collect()),
    })
}

fn variant(v: &Variant, product_id: u64) -> Value {
    json!({
        "__typename": "ProductVariant",
        "id": gid("ProductVariant", v.id),
        "legacyResourceId": v.id.to_string(),
        "sku": v.sku,
        "price": v.price,
        "title": v.title,
        "product": stub("Product", product_id),
    })
}

/// The recovery link, in the REST `abandoned_checkout_url` form that carries
/// the checkout token.
pub(crate) fn recovery_url(shop: &str, c: &AbandonedCheckout) -> String {
    format!(
        "https://{shop}/{}/checkouts/{}/recover?key=fake{}",
        c.id % 100_000_000,
        c.token,
        c.id
    )
}

pub(crate) fn checkout(store: &Store, shop: &str, c: &AbandonedCheckout) -> Value {
    let lines: Vec<Value> = c
        .line_items
        .iter()
        .map(|l| {
            json!({
                "__typename": "AbandonedCheckoutLineItem",
                "id": gid("AbandonedCheckoutLineItem", l.id),
                "title": l.title,
                "quantity": l.quantity,
                "sku": l.sku,
                "variant": variant_ref(store, l.variant_id),
                "product": product_ref(store, l.product_id),
            })
        })
        .collect();
    json!({
        "__typename": "AbandonedCheckout",
        "id": gid("AbandonedCheckout", c.id),
        "name": format!("#{}", c.id % 1_000_000),
        "abandonedCheckoutUrl": recovery_url(shop, c),
        "completedAt": opt_time(c.completed_at),
        "createdAt": time(c.created_at),
        "updatedAt": time(c.updated_at),
        "customer": customer_ref(store, c.customer_id),
        "totalPriceSet": money_bag(&c.total_price, &c.currency),
        "lineItems": connection(lines),
    })
}

/// The REST-shaped body of the `customers_email_marketing_consent/update`
/// webhook (shopify.md §4): lowercase states.
pub(crate) fn consent_webhook(c: &Customer) -> Value {
    let consent = c.email_consent.as_ref();
    json!({
        "customer_id": c.id,
        "email_address": c.email,
        "email_marketing_consent": {
            "state": c.marketing_state().as_str().to_ascii_lowercase(),
            "opt_in_level": consent.and_then(|e| e.opt_in_level).map(|l| l.as_str().to_ascii_lowercase()),
            "consent_updated_at": consent.and_then(|e| e.consent_updated_at).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    })
}

/// Whether the marketing state counts as subscribed for `accepts_marketing`.
pub(crate) fn accepts_marketing(c: &Customer) -> bool {
    c.marketing_state() == MarketingState::Subscribed
}
