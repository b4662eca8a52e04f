//! Mapping tests: hand-made payloads for the rules, Shopify's samples for
//! coverage. The samples' numeric ids lost precision, so exactness is
//! tested on crafted payloads only.

mod customers;
mod fixtures;
mod orders;
mod products;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::ShopDomain;
use crate::identity::{ContactRef, GuestId, Namespace};
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{
    Customer, EmailConsentUpdate, Order, Product, Refund, ShopifyId, SmsConsentUpdate,
};

pub(super) const BIG: u64 = 820_982_911_946_154_508;

pub(super) fn ctx(ns: &str) -> MappingContext {
    let shop = ShopDomain::parse("demo.myshopify.com").unwrap();
    let now: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
    MappingContext::new(&shop, Namespace::parse(ns).unwrap(), now)
}

pub(super) fn customer_ref(ns: &str, id: u64) -> ContactRef {
    ContactRef::customer(&Namespace::parse(ns).unwrap(), ShopifyId::new(id))
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(raw: &str) -> T {
    serde_json::from_str(raw).unwrap()
}

pub(super) fn order_json(financial: &str, extra: Value) -> String {
    let mut order = json!({
        "id": BIG, "name": "#1001", "email": "Jo@Example.com",
        "created_at": "2026-01-01T10:00:00+01:00", "processed_at": "2026-01-01T10:00:00+01:00",
        "updated_at": "2026-01-01T10:05:00+01:00", "financial_status": financial, "fulfillment_status": null,
        "currency": "EUR", "total_price": "110.00", "subtotal_price": "100.00", "total_tax": "10.00",
        "total_discounts": "5.00", "taxes_included": false, "source_name": "web",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": "EUR"}},
        "discount_codes": [{"code": "WELCOME5"}],
        "customer": {"id": 42, "email": "jo@example.com", "first_name": "Jo", "last_name": "Doe"},
        "billing_address": {"city": "Paris", "province": null, "zip": "75001", "country_code": "FR"},
        "line_items": [
            {"id": 1001, "product_id": 7, "variant_id": 70, "sku": "A-S", "variant_title": "Small / Red",
             "quantity": 2, "price": "30.00", "discount_allocations": [{"amount": "5.00"}],
             "tax_lines": [{"price": "5.50"}]},
            {"id": 1002, "product_id": 8, "variant_id": null, "sku": "B", "quantity": 1, "price": "40.00",
             "tax_lines": [{"price": "4.50"}]},
            {"id": 1003, "product_id": null, "sku": "CUSTOM", "quantity": 1, "price": "0.00"}
        ]
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut order, extra) {
        base.extend(more);
    }
    order.to_string()
}

pub(super) fn order_record(mapping: &OrderMapping) -> &PushRecord {
    mapping
        .records
        .iter()
        .find(|r| r.record_type == RecordType::Order)
        .unwrap()
}

pub(super) fn refund_json(id: u64, lines: &[(u64, u64, &str)], paid_back: &str) -> String {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(line, qty, amount)| {
            json!({"line_item_id": line, "quantity": qty, "subtotal": 1.5,
                   "subtotal_set": {"shop_money": {"amount": amount}},
                   "total_tax_set": {"shop_money": {"amount": "0.00"}}})
        })
        .collect();
    json!({"id": id, "order_id": BIG, "refund_line_items": lines,
           "transactions": [{"kind": "refund", "status": "success", "amount": paid_back}]})
    .to_string()
}
