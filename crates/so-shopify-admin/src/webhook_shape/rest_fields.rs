//! Parts of a node in REST's spelling: ids, times, money, addresses,
//! consent, lines, refunds and variants.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::gid::Gid;
use crate::nodes::{
    Customer, CustomerRef, EmailMarketingState, LineItem, MailingAddress, MarketingOptInLevel,
    MoneyBag, ProductVariant, Refund, RefundLineItem,
};

/// A JSON object that leaves out unknown (`None`) fields.
pub(super) struct Body(Map<String, Value>);

impl Body {
    pub(super) fn new() -> Self {
        Body(Map::new())
    }

    pub(super) fn put(&mut self, key: &str, value: Option<Value>) {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v);
        }
    }

    pub(super) fn finish(self) -> Value {
        Value::Object(self.0)
    }
}

/// The numeric id as an exact JSON integer.
pub(super) fn id(gid: &Gid) -> Value {
    Value::from(gid.id())
}

pub(super) fn gid(gid: &Gid) -> Value {
    Value::from(gid.to_string())
}

pub(super) fn time(t: DateTime<Utc>) -> Value {
    Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

pub(super) fn text(s: Option<&str>) -> Option<Value> {
    s.map(Value::from)
}

/// GraphQL enum spellings become REST's lowercase ones (`ENABLED` →
/// `enabled`, `PARTIALLY_REFUNDED` → `partially_refunded`).
pub(super) fn lower(s: Option<&str>) -> Option<Value> {
    s.map(|s| Value::from(s.to_ascii_lowercase()))
}

/// REST's comma-separated tag string.
pub(super) fn tags(tags: &[String]) -> String {
    tags.join(", ")
}

/// Quantities are never negative; a negative one would be refused by the
/// decoder, so it is sent as 0.
pub(super) fn quantity(q: i64) -> Value {
    Value::from(u64::try_from(q).unwrap_or(0))
}

pub(super) fn amount(bag: Option<&MoneyBag>) -> Option<Value> {
    bag.map(|m| Value::from(m.shop_money.amount.as_str()))
}

/// A REST `*_set` pair; only the shop side is known, and the presentment
/// side is left out rather than guessed.
pub(super) fn money_set(bag: &MoneyBag) -> Value {
    json!({"shop_money": {
        "amount": bag.shop_money.amount,
        "currency_code": bag.shop_money.currency_code,
    }})
}

/// `OrderDisplayFulfillmentStatus` → REST `fulfillment_status`, which is
/// `fulfilled`, `partial`, `restocked` or `null` (nothing fulfilled yet).
pub(super) fn fulfillment_status(display: &str) -> Value {
    match display.to_ascii_uppercase().as_str() {
        "FULFILLED" => Value::from("fulfilled"),
        "PARTIALLY_FULFILLED" => Value::from("partial"),
        "RESTOCKED" => Value::from("restocked"),
        _ => Value::Null,
    }
}

pub(super) fn address(a: &MailingAddress) -> Value {
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

pub(super) fn email_consent(c: &Customer) -> Option<Value> {
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
pub(super) fn customer_ref(c: &CustomerRef) -> Value {
    let mut b = Body::new();
    b.put("id", Some(id(&c.id)));
    b.put("admin_graphql_api_id", Some(gid(&c.id)));
    b.put("email", text(c.email.as_deref()));
    b.put("first_name", text(c.first_name.as_deref()));
    b.put("last_name", text(c.last_name.as_deref()));
    b.finish()
}

pub(super) fn line_item(l: &LineItem) -> Value {
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

pub(super) fn refund(order_id: u64, r: &Refund) -> Value {
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

pub(super) fn variant(product_id: u64, v: &ProductVariant) -> Value {
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
