//! Realistic order-lifecycle events for the delivery benchmark: per order a
//! create, paid, updated and fulfilled event (increasing `updated_at`), and
//! a refund for every fifth order; each order has a registered customer,
//! and each customer two orders.
//!
//! With [`Mix::WithCustomers`] (the default of `delivery`) the customer's
//! own webhooks come too, as a real shop sends them: `customers/create`
//! when the account is made (just before its first order) and a
//! `customers/update` after each order's create (the order changes the
//! customer's order count and total). [`Mix::OrdersOnly`] is the mix
//! measured before 2026-12-08, kept so old figures stay comparable.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

/// One event to preload: topic and body.
#[derive(Debug, Clone)]
pub(crate) struct LifecycleEvent {
    pub(crate) topic: &'static str,
    pub(crate) order_id: u64,
    /// The order's customer (each has two orders).
    pub(crate) customer: u64,
    pub(crate) body: Vec<u8>,
}

pub(crate) const FIRST_ORDER: u64 = 900_000_000_000_000_000;
const FIRST_CUSTOMER: u64 = 700_000_000_000_000_000;

/// Which webhooks a customer's lifecycle sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mix {
    /// Order events only.
    OrdersOnly,
    /// Order events plus the customer's create and updates.
    WithCustomers,
}

/// About `n` events, grouped by order (the order's events in sequence,
/// with `mix`'s customer events around them).
pub(crate) fn lifecycle(n: usize, seed: u64, mix: Mix) -> Vec<LifecycleEvent> {
    let mut out = Vec::with_capacity(n + 8);
    let mut k = 0u64;
    while out.len() < n {
        let order_id = FIRST_ORDER + seed * 10_000_000 + k;
        let customer = FIRST_CUSTOMER + seed * 10_000_000 + k / 2;
        let base = Utc
            .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
            .single()
            .unwrap_or_else(Utc::now)
            + Duration::seconds(k as i64);
        let with_customers = mix == Mix::WithCustomers;
        if with_customers && k.is_multiple_of(2) {
            // The account is made at its first checkout.
            let at = (base - Duration::seconds(30)).to_rfc3339();
            out.push(LifecycleEvent {
                topic: "customers/create",
                order_id,
                customer,
                body: customer_body(customer, &at),
            });
        }
        let steps: [(&'static str, &str, Option<&str>, i64); 4] = [
            ("orders/create", "pending", None, 0),
            ("orders/paid", "paid", None, 60),
            ("orders/updated", "paid", None, 120),
            ("orders/fulfilled", "paid", Some("fulfilled"), 180),
        ];
        for (topic, financial, fulfilment, offset) in steps {
            let updated = (base + Duration::seconds(offset)).to_rfc3339();
            out.push(LifecycleEvent {
                topic,
                order_id,
                customer,
                body: order(order_id, customer, &updated, financial, fulfilment),
            });
            if with_customers && topic == "orders/create" {
                let at = (base + Duration::seconds(30)).to_rfc3339();
                out.push(LifecycleEvent {
                    topic: "customers/update",
                    order_id,
                    customer,
                    body: customer_body(customer, &at),
                });
            }
        }
        if k.is_multiple_of(5) {
            out.push(LifecycleEvent {
                topic: "refunds/create",
                order_id,
                customer,
                body: refund(order_id),
            });
        }
        k += 1;
    }
    out.truncate(n);
    out
}

fn order(
    id: u64,
    customer: u64,
    updated_at: &str,
    financial: &str,
    fulfilment: Option<&str>,
) -> Vec<u8> {
    let email = format!("buyer{customer}@example.com");
    let v = json!({
        "id": id, "name": format!("#{}", id % 100_000), "email": email,
        "created_at": "2026-11-20T10:00:00+00:00", "updated_at": updated_at,
        "processed_at": "2026-11-20T10:00:00+00:00", "currency": "GBP",
        "total_price": "129.90", "subtotal_price": "119.90", "total_tax": "10.00", "total_discounts": "10.00",
        "financial_status": financial, "fulfillment_status": fulfilment, "test": false,
        "source_name": "web", "buyer_accepts_marketing": true,
        "discount_codes": [{"code": "BLACKFRIDAY", "amount": "10.00", "type": "fixed_amount"}],
        "customer": {"id": customer, "email": email, "first_name": "Ada", "last_name": "Lovelace", "state": "enabled"},
        "billing_address": {"city": "London", "province": "London", "zip": "N1 9GU", "country_code": "GB"},
        "shipping_address": {"city": "London", "province": "London", "zip": "N1 9GU", "country_code": "GB"},
        "shipping_lines": [{"title": "Standard", "price": "4.99"}],
        "line_items": [
            {"id": id * 10 + 1, "product_id": 632_910_392, "variant_id": 808_950_810, "sku": "TSHIRT-M", "title": "T-shirt", "variant_title": "M", "quantity": 2, "price": "29.95",
             "discount_allocations": [{"amount": "5.00"}], "tax_lines": [{"title": "VAT", "price": "5.00", "rate": 0.2}]},
            {"id": id * 10 + 2, "product_id": 632_910_393, "variant_id": 808_950_811, "sku": "HOODIE-L", "title": "Hoodie", "variant_title": "L", "quantity": 1, "price": "60.00",
             "discount_allocations": [{"amount": "5.00"}], "tax_lines": [{"title": "VAT", "price": "5.00", "rate": 0.2}]}
        ]
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// A customer as `customers/create|update` send it (API 2026-07: no
/// consent, tags or totals in the payload).
fn customer_body(id: u64, updated_at: &str) -> Vec<u8> {
    let email = format!("buyer{id}@example.com");
    let v = json!({
        "id": id, "email": email, "first_name": "Ada", "last_name": "Lovelace",
        "state": "enabled", "verified_email": true, "phone": null, "currency": "GBP",
        "created_at": "2026-11-20T09:59:00+00:00", "updated_at": updated_at,
        "note": null, "tax_exempt": false, "addresses": [], "tags": "vip, newsletter",
        "default_address": {"customer_id": id, "first_name": "Ada", "last_name": "Lovelace",
            "city": "London", "zip": "N1 9GU", "country_code": "GB", "default": true}
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

fn refund(order_id: u64) -> Vec<u8> {
    let v = json!({
        "id": order_id + 7, "order_id": order_id,
        "created_at": "2026-11-21T10:00:00+00:00", "processed_at": "2026-11-21T10:00:00+00:00",
        "refund_line_items": [{"id": order_id + 8, "line_item_id": order_id * 10 + 1, "quantity": 1,
            "subtotal_set": {"shop_money": {"amount": "29.95", "currency_code": "GBP"}, "presentment_money": {"amount": "29.95", "currency_code": "GBP"}}}],
        "transactions": [{"id": order_id + 9, "kind": "refund", "status": "success", "amount": "29.95", "currency": "GBP"}]
    });
    serde_json::to_vec(&v).unwrap_or_default()
}
