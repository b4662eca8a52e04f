//! The per-order state the worker stores, so a refund (whose payload lacks
//! the order) can re-send the whole order with its refunds applied.
//!
//! Stored per (shop, order id) as JSON (`Serialize`/`Deserialize`). It holds
//! no PII: the refund re-push omits `customer` and addresses, which Ometria
//! keeps because push merges supplied fields into the existing record.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::MappingContext;
use super::record::{Record, object, timestamp};
use super::status::{OrderStatus, RefundLevel};
use crate::ometria::RecordType;
use crate::shopify::{Money, Refund, ShopifyId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderState {
    pub order_id: ShopifyId,
    /// Ometria `timestamp`: kept on refunds so revenue stays on the order day.
    pub timestamp: DateTime<FixedOffset>,
    pub currency: String,
    /// The shopper's currency when it differs from the shop's: refund
    /// transactions are in it, so their amounts cannot count as shop money.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentment_currency: Option<String>,
    pub grand_total: Money,
    /// Status from the last order payload, before refunds are overlaid.
    pub base_status: OrderStatus,
    /// Shopify test orders never count as revenue.
    pub test: bool,
    pub lines: Vec<OrderLine>,
    /// Every refund seen, by refund id: applying one twice changes nothing.
    pub refunds: BTreeMap<ShopifyId, RefundSummary>,
    /// The contact the order belongs to, so a refund (whose payload names
    /// no customer) can update that contact's behavioural attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
}

/// A contact by its Ometria keys (no PII: ids only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Buyer {
    /// Ometria contact `id`.
    pub id: String,
    /// Ometria `@collection`.
    pub collection: String,
    /// Ometria `customer_id` (registered customers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

impl From<&crate::identity::ContactRef> for Buyer {
    fn from(c: &crate::identity::ContactRef) -> Buyer {
        Buyer {
            id: c.ometria_id(),
            collection: c.collection().as_str().to_owned(),
            customer_id: c.customer_id(),
        }
    }
}

/// One Ometria line item (only lines with a product; see docs/mapping.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_item_id: ShopifyId,
    pub product_id: ShopifyId,
    pub variant_id: Option<ShopifyId>,
    pub sku: Option<String>,
    pub quantity: u64,
    pub unit_price: Money,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    /// Option values from the variant title (`Small / Red`).
    pub variant_options: Vec<String>,
}

/// What one refund returned, overall and per Shopify line item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundSummary {
    pub amount: Money,
    pub lines: BTreeMap<ShopifyId, RefundedLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundedLine {
    pub quantity: u64,
    pub amount: Money,
}

impl RefundSummary {
    /// `refund` of an order in shop currency `shop`, paid in `presentment`.
    fn of(refund: &Refund, shop: &str, presentment: Option<&str>) -> RefundSummary {
        let mut lines: BTreeMap<ShopifyId, RefundedLine> = BTreeMap::new();
        for item in &refund.refund_line_items {
            let line = lines.entry(item.line_item_id).or_default();
            line.quantity += item.quantity;
            line.amount = line.amount + item.amount();
        }
        RefundSummary {
            amount: refund.amount_in(Some(shop), presentment),
            lines,
        }
    }
}

impl OrderState {
    /// Records `refund` (idempotent: keyed by refund id).
    pub fn add_refund(&mut self, refund: &Refund) {
        let summary =
            RefundSummary::of(refund, &self.currency, self.presentment_currency.as_deref());
        self.refunds.insert(refund.id, summary);
    }

    /// Full when the money returned reaches the total (or, for a zero-total
    /// order, when every line went back); partial when anything came back.
    pub fn refund_level(&self) -> RefundLevel {
        let returned = self.refunded_total();
        let any_line = self
            .refunds
            .values()
            .any(|r| r.lines.values().any(|l| l.quantity > 0));
        let all_lines = !self.lines.is_empty()
            && self
                .lines
                .iter()
                .all(|l| self.refunded(l.line_item_id).quantity >= l.quantity);
        let full = if self.grand_total.is_positive() {
            returned >= self.grand_total
        } else {
            all_lines
        };
        if full && (returned.is_positive() || any_line) {
            RefundLevel::Full
        } else if returned.is_positive() || any_line {
            RefundLevel::Partial
        } else {
            RefundLevel::None
        }
    }

    /// Money returned by every refund so far.
    pub fn refunded_total(&self) -> Money {
        self.refunds.values().map(|r| r.amount).sum()
    }

    /// The order total less its refunds (negative if refunds exceeded it).
    pub fn net_total(&self) -> Money {
        self.grand_total - self.refunded_total()
    }

    pub fn status(&self) -> OrderStatus {
        self.base_status.clone().with_refunds(self.refund_level())
    }

    pub fn is_valid(&self) -> bool {
        !self.test && self.status().counts_as_revenue()
    }

    /// Quantity and amount refunded so far for one Shopify line item.
    pub fn refunded(&self, line_item_id: ShopifyId) -> RefundedLine {
        self.refunds
            .values()
            .filter_map(|r| r.lines.get(&line_item_id))
            .fold(RefundedLine::default(), |acc, l| RefundedLine {
                quantity: acc.quantity + l.quantity,
                amount: acc.amount + l.amount,
            })
    }

    /// The fields every order push carries: Ometria's required ones, the
    /// status pair and the complete line items (an array is replaced whole).
    pub(crate) fn core_record(&self, ctx: &MappingContext) -> Record {
        let mut record = Record::new(RecordType::Order, ctx.id(self.order_id));
        record.set("timestamp", timestamp(&self.timestamp));
        record.set("grand_total", self.grand_total.to_json());
        record.set("currency", self.currency.as_str());
        record.set("status", self.status().as_str());
        record.set("is_valid", self.is_valid());
        let lines: Vec<Value> = self.lines.iter().map(|l| self.line_json(ctx, l)).collect();
        record.set("lineitems", lines);
        record
    }

    fn line_json(&self, ctx: &MappingContext, line: &OrderLine) -> Value {
        let refunded = self.refunded(line.line_item_id);
        let options: Vec<Value> = line
            .variant_options
            .iter()
            .enumerate()
            .map(|(i, label)| {
                serde_json::json!({ "type": format!("option{}", i + 1), "label": label })
            })
            .collect();
        let positive = |q: u64| (q > 0).then_some(Value::from(q));
        object([
            ("product_id", Some(Value::from(ctx.id(line.product_id)))),
            (
                "variant_id",
                line.variant_id
                    .map(|v| Value::from(ctx.variant_id(line.product_id, v))),
            ),
            ("sku", line.sku.clone().map(Value::from)),
            ("quantity", Some(Value::from(line.quantity))),
            ("unit_price", Some(line.unit_price.to_json())),
            ("subtotal", Some(line.subtotal.to_json())),
            ("discount", Some(line.discount.to_json())),
            ("tax", Some(line.tax.to_json())),
            ("total", Some(line.total.to_json())),
            ("quantity_refunded", positive(refunded.quantity)),
            (
                "refunded",
                refunded
                    .amount
                    .is_positive()
                    .then(|| refunded.amount.to_json()),
            ),
            (
                "variant_options",
                (!options.is_empty()).then_some(Value::Array(options)),
            ),
        ])
        .unwrap_or(Value::Null)
    }
}
