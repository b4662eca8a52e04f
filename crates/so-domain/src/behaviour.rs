//! Behavioural attributes of a contact, computed from its order history:
//! what a merchant segments on (orders count, total spent net of refunds,
//! average order value, first and last order, last order's size).
//!
//! Counted orders are those that are neither test orders nor cancelled,
//! voided or deleted; a refunded order still counts as an order but adds
//! only what was not refunded to the total spent.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::mapping::{Buyer, OrderState, OrderStatus};
use crate::merchant::BehaviourAttributes;
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{Money, PurchasingSummary};

/// Ometria contact `properties` keys, shared with the purchasing summary
/// (`shopify_orders_count`, `shopify_total_spent`) so both sources update
/// one attribute.
pub const ORDERS_COUNT: &str = "shopify_orders_count";
pub const TOTAL_SPENT: &str = "shopify_total_spent";
pub const AVERAGE_ORDER_VALUE: &str = "shopify_average_order_value";
pub const FIRST_ORDER_AT: &str = "shopify_first_order_at";
pub const LAST_ORDER_AT: &str = "shopify_last_order_at";
pub const LAST_ORDER_TOTAL: &str = "shopify_last_order_total";
pub const LAST_ORDER_QUANTITY: &str = "shopify_last_order_quantity";
pub const CURRENCY: &str = "shopify_currency";

/// The attributes of one contact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Behaviour {
    pub orders_count: u64,
    pub total_spent: Money,
    /// Of the last counted order; every order of a shop has its currency.
    pub currency: Option<String>,
    pub first_order_at: Option<DateTime<FixedOffset>>,
    pub last_order_at: Option<DateTime<FixedOffset>>,
    /// The last order's total, net of its refunds.
    pub last_order_total: Option<Money>,
    /// Items in the last order, less those refunded.
    pub last_order_quantity: Option<u64>,
}

fn counts(order: &OrderState) -> bool {
    !order.test
        && !matches!(
            order.base_status,
            OrderStatus::Cancelled | OrderStatus::Voided | OrderStatus::Deleted
        )
}

fn net_total(order: &OrderState) -> Money {
    let net = order.net_total();
    if net.is_positive() { net } else { Money::ZERO }
}

fn net_quantity(order: &OrderState) -> u64 {
    order
        .lines
        .iter()
        .map(|l| {
            l.quantity
                .saturating_sub(order.refunded(l.line_item_id).quantity)
        })
        .sum()
}

/// Summarises a contact's orders (each order once, in any order).
pub fn summarise<'a>(orders: impl IntoIterator<Item = &'a OrderState>) -> Behaviour {
    let mut out = Behaviour::default();
    let mut last: Option<&OrderState> = None;
    for order in orders.into_iter().filter(|o| counts(o)) {
        out.orders_count += 1;
        out.total_spent = out.total_spent + net_total(order);
        out.first_order_at = Some(
            out.first_order_at
                .map_or(order.timestamp, |t| t.min(order.timestamp)),
        );
        // Ties on the timestamp go to the higher order id: deterministic.
        if last.is_none_or(|l| (order.timestamp, order.order_id) > (l.timestamp, l.order_id)) {
            last = Some(order);
        }
    }
    if let Some(l) = last {
        out.last_order_at = Some(l.timestamp);
        out.last_order_total = Some(net_total(l));
        out.last_order_quantity = Some(net_quantity(l));
        out.currency = Some(l.currency.clone());
    }
    out
}

impl Behaviour {
    /// Net total spent divided by the orders count, to the cent.
    pub fn average_order_value(&self) -> Option<Money> {
        (self.orders_count > 0).then(|| {
            let avg = self.total_spent.amount() / Decimal::from(self.orders_count);
            Money::new(avg.round_dp(2))
        })
    }

    /// The switched-on attributes as contact `properties`. `summary_owned`:
    /// Shopify's purchasing summary owns the count and the total for this
    /// customer (it knows orders from before this service), so they are
    /// left to it.
    pub fn properties(&self, on: &BehaviourAttributes, summary_owned: bool) -> Map<String, Value> {
        let stamp = |t: &DateTime<FixedOffset>| {
            Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        };
        let wanted: [(bool, &str, Option<Value>); 7] = [
            (
                on.orders_count && !summary_owned,
                ORDERS_COUNT,
                Some(Value::from(self.orders_count)),
            ),
            (
                on.total_spent && !summary_owned,
                TOTAL_SPENT,
                Some(self.total_spent.to_json()),
            ),
            (
                on.average_order_value && !summary_owned,
                AVERAGE_ORDER_VALUE,
                self.average_order_value().map(Money::to_json),
            ),
            (
                on.first_order_date,
                FIRST_ORDER_AT,
                self.first_order_at.as_ref().map(stamp),
            ),
            (
                on.last_order_date,
                LAST_ORDER_AT,
                self.last_order_at.as_ref().map(stamp),
            ),
            (
                on.last_order_total,
                LAST_ORDER_TOTAL,
                self.last_order_total.map(Money::to_json),
            ),
            (
                on.last_order_quantity,
                LAST_ORDER_QUANTITY,
                self.last_order_quantity.map(Value::from),
            ),
        ];
        let mut p: Map<String, Value> = wanted
            .into_iter()
            .filter_map(|(on, key, value)| Some((key.to_owned(), value.filter(|_| on)?)))
            .collect();
        if let (false, Some(c)) = (p.is_empty(), &self.currency) {
            p.insert(CURRENCY.to_owned(), Value::from(c.as_str()));
        }
        p
    }
}

/// A contact update carrying only the attributes (Ometria merges it into
/// the listing), or `None` when none is switched on.
pub fn contact_update(buyer: &Buyer, properties: Map<String, Value>) -> Option<PushRecord> {
    if properties.is_empty() {
        return None;
    }
    let mut body = Map::new();
    body.insert(
        "@type".to_owned(),
        Value::from(RecordType::Contact.as_str()),
    );
    body.insert("id".to_owned(), Value::from(buyer.id.as_str()));
    body.insert(
        "@collection".to_owned(),
        Value::from(buyer.collection.as_str()),
    );
    if let Some(c) = &buyer.customer_id {
        body.insert("customer_id".to_owned(), Value::from(c.as_str()));
    }
    body.insert("properties".to_owned(), Value::Object(properties));
    Some(PushRecord {
        record_type: RecordType::Contact,
        id: buyer.id.clone(),
        body,
    })
}

/// A purchasing summary's contact records, shaped by the shop's switched-on
/// attributes: the summary owns count and total, so the average follows
/// from them; a switched-off attribute is removed.
pub fn shape_summary(
    records: &mut [PushRecord],
    on: BehaviourAttributes,
    summary: &PurchasingSummary,
) {
    for r in records {
        let Some(Value::Object(p)) = r.body.get_mut("properties") else {
            continue;
        };
        if let (true, Some(count), Some(spent)) = (
            on.average_order_value,
            summary.number_of_orders.map(|c| c.0).filter(|c| *c > 0),
            summary.amount_spent.as_ref().map(|a| a.amount),
        ) {
            let avg = Behaviour {
                orders_count: count,
                total_spent: spent,
                ..Behaviour::default()
            }
            .average_order_value();
            if let Some(avg) = avg {
                p.insert(AVERAGE_ORDER_VALUE.to_owned(), avg.to_json());
            }
        }
        if !on.orders_count {
            p.remove(ORDERS_COUNT);
        }
        if !on.total_spent {
            p.remove(TOTAL_SPENT);
            p.remove("shopify_total_spent_currency");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::mapping::{OrderLine, RefundSummary, RefundedLine};
    use crate::shopify::ShopifyId;

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn order(id: u64, day: u32, total: &str, qty: u64) -> OrderState {
        OrderState {
            order_id: ShopifyId::new(id),
            presentment_currency: None,
            timestamp: DateTime::parse_from_rfc3339(&format!("2026-03-{day:02}T10:00:00+01:00"))
                .unwrap(),
            currency: "GBP".to_owned(),
            grand_total: money(total),
            base_status: OrderStatus::Paid,
            test: false,
            lines: vec![OrderLine {
                line_item_id: ShopifyId::new(id * 10),
                product_id: ShopifyId::new(7),
                variant_id: None,
                sku: None,
                quantity: qty,
                unit_price: money("1.00"),
                subtotal: money("1.00"),
                discount: Money::ZERO,
                tax: Money::ZERO,
                total: money("1.00"),
                variant_options: Vec::new(),
            }],
            refunds: BTreeMap::new(),
            buyer: None,
        }
    }

    fn refund(o: &mut OrderState, id: u64, amount: &str, qty: u64) {
        let line = o.lines[0].line_item_id;
        o.refunds.insert(
            ShopifyId::new(id),
            RefundSummary {
                amount: money(amount),
                lines: BTreeMap::from([(
                    line,
                    RefundedLine {
                        quantity: qty,
                        amount: money(amount),
                    },
                )]),
            },
        );
    }

    #[test]
    fn orders_partial_refunds_and_cancellations() {
        let a = order(1, 1, "30.00", 3);
        let mut b = order(2, 5, "50.00", 5);
        refund(&mut b, 9, "20.00", 2);
        let mut c = order(3, 9, "99.00", 1);
        c.base_status = OrderStatus::Cancelled;
        let mut t = order(4, 10, "5.00", 1);
        t.test = true;
        let s = summarise([&a, &b, &c, &t]);
        assert_eq!(s.orders_count, 2);
        assert_eq!(s.total_spent, money("60.00"));
        assert_eq!(s.average_order_value(), Some(money("30.00")));
        assert_eq!(s.first_order_at, Some(a.timestamp));
        assert_eq!(s.last_order_at, Some(b.timestamp));
        assert_eq!(s.last_order_total, Some(money("30.00")));
        assert_eq!(s.last_order_quantity, Some(3));
        let p = s.properties(&BehaviourAttributes::default(), false);
        assert_eq!(p[ORDERS_COUNT], Value::from(2));
        assert_eq!(p[TOTAL_SPENT], serde_json::json!(60.0));
        assert_eq!(p[LAST_ORDER_AT], Value::from("2026-03-05T10:00:00+01:00"));
        assert_eq!(p[CURRENCY], Value::from("GBP"));
    }

    #[test]
    fn a_full_refund_counts_the_order_but_adds_nothing() {
        let mut a = order(1, 1, "30.00", 3);
        refund(&mut a, 9, "30.00", 3);
        let s = summarise([&a]);
        assert_eq!((s.orders_count, s.total_spent), (1, Money::ZERO));
        assert_eq!(s.last_order_quantity, Some(0));
    }

    #[test]
    fn switches_and_the_purchasing_summary_decide_what_is_sent() {
        let s = summarise([&order(1, 1, "10.00", 1), &order(2, 2, "20.00", 1)]);
        let owned = s.properties(&BehaviourAttributes::default(), true);
        assert!(!owned.contains_key(ORDERS_COUNT) && !owned.contains_key(TOTAL_SPENT));
        assert!(owned.contains_key(LAST_ORDER_TOTAL));
        let only_last = BehaviourAttributes {
            last_order_date: true,
            ..BehaviourAttributes::NONE
        };
        let p = s.properties(&only_last, false);
        assert_eq!(
            p.keys().map(String::as_str).collect::<Vec<_>>(),
            [CURRENCY, LAST_ORDER_AT]
        );
        assert!(s.properties(&BehaviourAttributes::NONE, false).is_empty());
        assert!(
            summarise([])
                .properties(&BehaviourAttributes::default(), false)
                .contains_key(ORDERS_COUNT)
        );
    }

    #[test]
    fn a_purchasing_summary_keeps_only_the_switched_on_attributes() {
        let summary = PurchasingSummary {
            customer_id: ShopifyId::new(1),
            number_of_orders: Some(crate::shopify::Count(4)),
            amount_spent: Some(crate::shopify::MoneyV2 {
                amount: money("10.00"),
                currency_code: Some("GBP".to_owned()),
            }),
            last_order_id: None,
            occurred_at: None,
        };
        let record = || PushRecord {
            record_type: RecordType::Contact,
            id: "c".to_owned(),
            body: serde_json::from_value(serde_json::json!({"properties": {
                ORDERS_COUNT: 4, TOTAL_SPENT: 10.0, "shopify_total_spent_currency": "GBP"
            }}))
            .unwrap(),
        };
        let mut all = [record()];
        shape_summary(&mut all, BehaviourAttributes::default(), &summary);
        let p = &all[0].body["properties"];
        assert_eq!(p[AVERAGE_ORDER_VALUE], money("2.50").to_json());
        assert_eq!(p[ORDERS_COUNT], Value::from(4));

        let mut none = [record()];
        shape_summary(&mut none, BehaviourAttributes::NONE, &summary);
        assert_eq!(none[0].body["properties"], serde_json::json!({}));
    }
}
