//! Small, realistic Shopify payloads for worker tests (exact 64-bit ids).

use serde_json::{Value, json};

pub(crate) const ORDER_ID: u64 = 820_982_911_946_154_508;
pub(crate) const CUSTOMER_ID: u64 = 706_405_506_930_370_084;

pub(crate) fn order(
    id: u64,
    customer: Option<(u64, &str)>,
    email: &str,
    updated_at: &str,
    financial: &str,
) -> Value {
    let mut o = json!({
        "id": id,
        "name": "No1001",
        "email": email,
        "created_at": "2026-11-20T10:00:00+00:00",
        "updated_at": updated_at,
        "processed_at": "2026-11-20T10:00:00+00:00",
        "currency": "GBP",
        "total_price": "100.00",
        "subtotal_price": "90.00",
        "total_tax": "10.00",
        "total_discounts": "0.00",
        "financial_status": financial,
        "fulfillment_status": null,
        "test": false,
        "line_items": [
            {"id": 1001, "product_id": 632_910_392, "variant_id": 808_950_810, "sku": "IPOD-1", "title": "iPod", "quantity": 2, "price": "30.00", "tax_lines": [], "discount_allocations": []},
            {"id": 1002, "product_id": 632_910_393, "variant_id": 808_950_811, "sku": "CASE-1", "title": "Case", "quantity": 1, "price": "30.00", "tax_lines": [], "discount_allocations": []}
        ]
    });
    if let Some((cid, cemail)) = customer {
        o["customer"] =
            json!({"id": cid, "email": cemail, "first_name": "Jon", "last_name": "Snow"});
    }
    o
}

pub(crate) fn refund(id: u64, order_id: u64, line_item: u64, quantity: u64, amount: &str) -> Value {
    json!({
        "id": id,
        "order_id": order_id,
        "created_at": "2026-11-21T10:00:00+00:00",
        "processed_at": "2026-11-21T10:00:00+00:00",
        "refund_line_items": [{"id": id + 1, "line_item_id": line_item, "quantity": quantity,
            "subtotal_set": {"shop_money": {"amount": amount, "currency_code": "GBP"}, "presentment_money": {"amount": amount, "currency_code": "GBP"}}}],
        "transactions": [{"id": id + 2, "kind": "refund", "status": "success", "amount": amount, "currency": "GBP"}]
    })
}

pub(crate) fn customer(id: u64, email: &str, updated_at: &str) -> Value {
    json!({
        "id": id,
        "email": email,
        "first_name": "Jon",
        "last_name": "Snow",
        "state": "enabled",
        "created_at": "2026-11-19T10:00:00+00:00",
        "updated_at": updated_at,
        "addresses": [],
    })
}

pub(crate) fn consent(customer_id: u64, email: &str, state: &str, at: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "email_address": email,
        "email_marketing_consent": {"state": state, "opt_in_level": "single_opt_in", "consent_updated_at": at}
    })
}
