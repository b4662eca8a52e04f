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
    #[serde(default, deserialize_with = "null_default")]
    pub refund_shipping_lines: Vec<RefundShippingLine>,
}

/// A refunded shipping line; only its shop-money subtotal is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundShippingLine {
    #[serde(default)]
    pub subtotal_amount_set: Option<MoneySet>,
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
    /// In the transaction's own currency: the presentment currency of a
    /// multi-currency order, not the shop's.
    pub amount: Money,
    /// The transaction's currency; `null` in Shopify's samples.
    #[serde(default)]
    pub currency: Option<String>,
    /// The shop/presentment pair, when Shopify sends one.
    #[serde(default)]
    pub amount_set: Option<MoneySet>,
}

impl Refund {
    /// Money actually returned, in the shop currency, for an order whose
    /// shop currency is unknown here: transaction amounts are taken as shop
    /// money. See [`Refund::amount_in`].
    pub fn amount(&self) -> Money {
        self.amount_in(None, None)
    }

    /// Money actually returned, in the shop currency `shop` (the order's
    /// `currency`): the successful `refund` transactions when each is known
    /// in shop money (its `amount_set`, or an `amount` whose currency, else
    /// the order's `presentment` currency, is the shop's). A transaction in
    /// another currency cannot be converted here, so then, and when there
    /// is no transaction (e.g. store credit), the refund's own shop-money
    /// amounts count: its lines and shipping lines.
    pub fn amount_in(&self, shop: Option<&str>, presentment: Option<&str>) -> Money {
        let paid_back: Vec<&Transaction> = self
            .transactions
            .iter()
            .filter(|t| {
                t.kind.as_deref() == Some("refund") && t.status.as_deref() == Some("success")
            })
            .collect();
        let in_shop_money: Option<Vec<Money>> = paid_back
            .iter()
            .map(|t| t.shop_amount(shop, presentment))
            .collect();
        match in_shop_money {
            Some(amounts) if !amounts.is_empty() => amounts.into_iter().sum(),
            _ => self.shop_money_of_lines(),
        }
    }

    /// The refund's lines and shipping lines, in shop money.
    fn shop_money_of_lines(&self) -> Money {
        let lines: Money = self
            .refund_line_items
            .iter()
            .map(RefundLineItem::amount)
            .sum();
        let shipping: Money = self
            .refund_shipping_lines
            .iter()
            .filter_map(|s| s.subtotal_amount_set.as_ref())
            .map(|s| s.shop_money.amount)
            .sum();
        lines + shipping
    }
}

impl Transaction {
    /// This transaction in shop money, if it can be told without a rate.
    fn shop_amount(&self, shop: Option<&str>, presentment: Option<&str>) -> Option<Money> {
        if let Some(set) = &self.amount_set {
            return Some(set.shop_money.amount);
        }
        let Some(shop) = shop else {
            return Some(self.amount);
        };
        let currency = self
            .currency
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(presentment)
            .unwrap_or(shop);
        currency.eq_ignore_ascii_case(shop).then_some(self.amount)
    }
}
