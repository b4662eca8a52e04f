//! The order and refund bodies of `peak` (see [`crate::peak_payloads`]):
//! the documented `orders/*` sample with the burst's order written over
//! it (ids, buyer, lines from the sold catalogue, amounts in GBP, the
//! step's financial and fulfilment state, the checkout it completes), and
//! a refund of one unit of its first line.

use serde_json::{Value, json};

use crate::peak_payloads::{
    SHIPPING, Templates, VARIANT_TITLES, first, money, money_set, order_name, price, set, time,
    variant_id,
};
use crate::peak_plan::{Buyer, Event, Kind, Line, OrderPlan, Plan};

impl Templates {
    pub(crate) fn buyer_block(&self, plan: &Plan, buyer: Buyer) -> (String, Value) {
        match buyer {
            Buyer::Customer(c) => {
                let c = &plan.customers[c];
                let mut block = self.order.get("customer").cloned().unwrap_or_default();
                set(
                    &mut block,
                    vec![
                        ("id", json!(c.id)),
                        ("email", json!(c.email)),
                        ("first_name", json!("Ada")),
                        ("last_name", json!("Peak")),
                        ("state", json!("enabled")),
                        (
                            "admin_graphql_api_id",
                            json!(format!("gid://shopify/Customer/{}", c.id)),
                        ),
                    ],
                );
                if let Some(address) = block.get_mut("default_address") {
                    set(address, vec![("customer_id", json!(c.id))]);
                }
                (c.email.clone(), block)
            }
            Buyer::Guest(g) => (plan.guests[g].clone(), Value::Null),
        }
    }

    fn line(&self, plan: &Plan, id: u64, l: &Line) -> (Value, u64) {
        let product = plan.catalogue[l.product];
        let variant = variant_id(product, l.variant);
        let each = price(product, l.variant);
        let mut line = first(&self.order, "line_items");
        set(
            &mut line,
            vec![
                ("id", json!(id)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/LineItem/{id}")),
                ),
                ("product_id", json!(product)),
                ("variant_id", json!(variant)),
                ("title", json!(format!("Bestseller {}", product % 100_000))),
                ("name", json!(format!("Bestseller {}", product % 100_000))),
                ("variant_title", json!(VARIANT_TITLES[l.variant])),
                ("sku", json!(format!("BF-{product}-{}", l.variant))),
                ("vendor", json!("Peak")),
                ("quantity", json!(l.quantity)),
                ("current_quantity", json!(l.quantity)),
                ("fulfillable_quantity", json!(l.quantity)),
                ("price", json!(money(each))),
                ("price_set", money_set(each)),
                ("total_discount", json!("0.00")),
                ("total_discount_set", money_set(0)),
                ("discount_allocations", json!([])),
                ("tax_lines", json!([])),
            ],
        );
        (line, each * u64::from(l.quantity))
    }

    pub(crate) fn order(&self, plan: &Plan, o: &OrderPlan, e: &Event) -> Value {
        let (email, customer) = self.buyer_block(plan, o.buyer);
        let mut lines = Vec::new();
        let mut subtotal = 0;
        for (j, l) in o.lines.iter().enumerate() {
            let (line, amount) = self.line(plan, o.id * 10 + j as u64, l);
            lines.push(line);
            subtotal += amount;
        }
        let total = subtotal + SHIPPING;
        let (financial, fulfilment, cancelled) = match e.kind {
            Kind::OrderCreate => ("pending", Value::Null, Value::Null),
            Kind::OrderCancelled => ("refunded", Value::Null, time(e.at)),
            Kind::OrderFulfilled => ("paid", json!("fulfilled"), Value::Null),
            _ => ("paid", Value::Null, Value::Null),
        };
        let mut shipping = first(&self.order, "shipping_lines");
        set(
            &mut shipping,
            vec![
                ("price", json!(money(SHIPPING))),
                ("price_set", money_set(SHIPPING)),
            ],
        );
        let checkout = o.checkout.map(|c| json!(plan.checkouts[c].token));
        let mut v = self.order.clone();
        set(
            &mut v,
            vec![
                ("id", json!(o.id)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/Order/{}", o.id)),
                ),
                ("name", json!(order_name(o.id, e.version))),
                ("order_number", json!(o.id % 1_000_000)),
                ("email", json!(email)),
                ("contact_email", json!(email)),
                ("created_at", time(o.created)),
                ("processed_at", time(o.created)),
                ("updated_at", time(e.at)),
                ("currency", json!("GBP")),
                ("presentment_currency", json!("GBP")),
                ("test", json!(false)),
                ("confirmed", json!(true)),
                ("financial_status", json!(financial)),
                ("fulfillment_status", fulfilment),
                (
                    "cancel_reason",
                    if cancelled.is_null() {
                        Value::Null
                    } else {
                        json!("customer")
                    },
                ),
                ("cancelled_at", cancelled),
                ("checkout_token", checkout.unwrap_or(Value::Null)),
                ("customer", customer),
                ("line_items", Value::Array(lines)),
                ("shipping_lines", json!([shipping])),
                ("discount_codes", json!([])),
                ("tags", json!("")),
                ("subtotal_price", json!(money(subtotal))),
                ("subtotal_price_set", money_set(subtotal)),
                ("current_subtotal_price", json!(money(subtotal))),
                ("current_subtotal_price_set", money_set(subtotal)),
                ("total_line_items_price", json!(money(subtotal))),
                ("total_line_items_price_set", money_set(subtotal)),
                ("total_price", json!(money(total))),
                ("total_price_set", money_set(total)),
                ("current_total_price", json!(money(total))),
                ("current_total_price_set", money_set(total)),
                ("total_shipping_price_set", money_set(SHIPPING)),
                ("current_shipping_price_set", money_set(SHIPPING)),
                ("total_discounts", json!("0.00")),
                ("total_discounts_set", money_set(0)),
                ("total_tax", json!("0.00")),
                ("total_tax_set", money_set(0)),
                ("total_outstanding", json!("0.00")),
            ],
        );
        v
    }

    /// A refund of one unit of the order's first line.
    pub(crate) fn refund(&self, plan: &Plan, o: &OrderPlan, at: i64) -> Value {
        let id = o.id + 50_000_000_000_000_000;
        let (line, _) = self.line(plan, o.id * 10, &o.lines[0]);
        let product = plan.catalogue[o.lines[0].product];
        let amount = price(product, o.lines[0].variant);
        let mut item = first(&self.refund, "refund_line_items");
        set(
            &mut item,
            vec![
                ("id", json!(id + 1)),
                ("line_item_id", json!(o.id * 10)),
                ("quantity", json!(1)),
                ("subtotal", json!(amount as f64 / 100.0)),
                ("total_tax", json!(0)),
                ("subtotal_set", money_set(amount)),
                ("total_tax_set", money_set(0)),
                ("line_item", line),
            ],
        );
        let mut txn = first(&self.refund, "transactions");
        set(
            &mut txn,
            vec![
                ("id", json!(id + 2)),
                ("order_id", json!(o.id)),
                ("kind", json!("refund")),
                ("status", json!("success")),
                ("amount", json!(money(amount))),
                ("currency", json!("GBP")),
                ("test", json!(false)),
                ("created_at", time(at)),
                ("processed_at", time(at)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/OrderTransaction/{}", id + 2)),
                ),
            ],
        );
        let mut v = self.refund.clone();
        set(
            &mut v,
            vec![
                ("id", json!(id)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/Refund/{id}")),
                ),
                ("order_id", json!(o.id)),
                ("created_at", time(at)),
                ("processed_at", time(at)),
                ("refund_line_items", json!([item])),
                ("transactions", json!([txn])),
                ("refund_shipping_lines", json!([])),
                ("order_adjustments", json!([])),
            ],
        );
        v
    }
}
