//! `refunds/create`, also embedded in orders as `refunds[]`.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::de::null_default;
use super::{Money, MoneySet, ShopifyId};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Refund {
    pub id: ShopifyId,
    pub order_id: ShopifyId,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub processed_at: Option<DateTime<FixedOffset>>,
    #[serde(default, deserialize_with = "null_default")]
    pub refund_line_items: Vec<RefundLineItem>,
    #[serde(default, deserialize_with = "null_default")]
    pub transactions: Vec<Transaction>,
}

/// One refunded line. The plain `subtotal`/`total_tax` are JSON floats in
/// Shopify's samples, so only the exact `*_set` strings are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundLineItem {
    pub line_item_id: ShopifyId,
    pub quantity: u64,
    #[serde(default)]
    pub subtotal_set: Option<MoneySet>,
    #[serde(default)]
    pub total_tax_set: Option<MoneySet>,
}

impl RefundLineItem {
    /// What the shopper got back for this line: subtotal plus its tax.
    pub fn amount(&self) -> Money {
        let part = |s: &Option<MoneySet>| s.as_ref().map_or(Money::ZERO, |s| s.shop_money.amount);
        part(&self.subtotal_set) + part(&self.total_tax_set)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Transaction {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub amount: Money,
}

impl Refund {
    /// Money actually returned: successful `refund` transactions; if the
    /// refund has none (e.g. store credit outside payments), its lines.
    pub fn amount(&self) -> Money {
        let paid_back: Vec<Money> = self
            .transactions
            .iter()
            .filter(|t| {
                t.kind.as_deref() == Some("refund") && t.status.as_deref() == Some("success")
            })
            .map(|t| t.amount)
            .collect();
        if paid_back.is_empty() {
            self.refund_line_items
                .iter()
                .map(RefundLineItem::amount)
                .sum()
        } else {
            paid_back.into_iter().sum()
        }
    }
}
