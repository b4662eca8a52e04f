//! `orders/*` → Ometria `order` (plus a guest `contact` for guest orders).

use serde_json::Value;

use super::order_state::{Buyer, OrderLine, OrderState};
use super::record::{Record, object, text};
use super::status::OrderStatus;
use super::{MappingContext, MappingError};
use crate::identity::{ContactRef, ContactSubject};
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::{Address, LineItem, Money, Order};

/// Records to push and the state to store for later refunds.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderMapping {
    pub state: OrderState,
    pub records: Vec<PushRecord>,
}

const ENTITY: &str = "order";

/// Maps an order payload. `contact` is the identity resolution (`None` when
/// suppressed or unknown: the order goes without a `customer`). `stored` is
/// the previous state: refunds it knows and this payload does not yet list
/// (a `refunds/create` that overtook this update) are kept.
pub fn map_order(
    ctx: &MappingContext,
    order: &Order,
    contact: Option<&ContactRef>,
    stored: Option<&OrderState>,
) -> Result<OrderMapping, MappingError> {
    let mut state = order_state(order, stored)?;
    state.buyer = contact
        .map(Buyer::from)
        .or_else(|| stored.and_then(|s| s.buyer.clone()));
    let mut record = state.core_record(ctx);
    record.set_opt("subtotal", order.subtotal_price.map(Money::to_json));
    record.set_opt("discount", order.total_discounts.map(Money::to_json));
    record.set_opt("shipping", shipping(order).map(Money::to_json));
    record.set_opt("tax", order.total_tax.map(Money::to_json));
    record.set("store", ctx.store.as_str());
    record.set("channel", channel(order.source_name.as_deref()));
    record.set_text("web_id", order.name.as_deref());
    record.set_opt(
        "coupon_code",
        order
            .discount_codes
            .iter()
            .find_map(|d| text(Some(&d.code))),
    );
    record.set_opt(
        "billing_address",
        order.billing_address.as_ref().and_then(address),
    );
    record.set_opt(
        "shipping_address",
        order.shipping_address.as_ref().and_then(address),
    );
    record.set_opt("customer", contact.and_then(|c| customer_block(c, order)));
    record.set_opt(
        "properties",
        object([
            (
                "shopify_financial_status",
                text(order.financial_status.as_deref()).map(Value::from),
            ),
            (
                "shopify_fulfillment_status",
                text(order.fulfillment_status.as_deref()).map(Value::from),
            ),
            (
                "shopify_source_name",
                text(order.source_name.as_deref()).map(Value::from),
            ),
        ]),
    );
    let mut records = vec![record.finish()?];
    if let Some(guest) = contact.filter(|c| matches!(c.subject(), ContactSubject::Guest(_))) {
        records.push(guest_contact(ctx, guest, order)?);
    }
    Ok(OrderMapping { state, records })
}

/// `orders/delete`: the payload is just the id. With stored state the full
/// core is re-sent with status `deleted`; without, nothing is: a record of
/// only the status pair would create an incomplete order in Ometria (no
/// timestamp, total or currency) for an order it never had.
pub fn map_order_delete(
    ctx: &MappingContext,
    stored: Option<&OrderState>,
) -> Result<(Option<OrderState>, Vec<PushRecord>), MappingError> {
    let Some(state) = stored else {
        return Ok((None, Vec::new()));
    };
    let mut state = state.clone();
    state.base_status = OrderStatus::Deleted;
    let record = state.core_record(ctx).finish()?;
    Ok((Some(state), vec![record]))
}

fn order_state(order: &Order, stored: Option<&OrderState>) -> Result<OrderState, MappingError> {
    let missing = |field| MappingError::MissingField {
        entity: ENTITY,
        id: order.id,
        field,
    };
    let timestamp = order
        .processed_at
        .or(order.created_at)
        .ok_or_else(|| missing("created_at"))?;
    let currency = text(order.currency.as_deref()).ok_or_else(|| missing("currency"))?;
    let grand_total = order.total_price.ok_or_else(|| missing("total_price"))?;
    let taxes_included = order.taxes_included.unwrap_or(false);
    let mut state = OrderState {
        order_id: order.id,
        timestamp,
        presentment_currency: text(order.presentment_currency.as_deref())
            .filter(|p| !p.eq_ignore_ascii_case(&currency)),
        currency,
        grand_total,
        base_status: OrderStatus::from_shopify(
            order.financial_status.as_deref(),
            order.fulfillment_status.as_deref(),
            order.cancelled_at.is_some(),
        ),
        test: order.test.unwrap_or(false),
        lines: order
            .line_items
            .iter()
            .filter_map(|l| order_line(l, taxes_included))
            .collect(),
        refunds: stored.map(|s| s.refunds.clone()).unwrap_or_default(),
        buyer: None,
    };
    for refund in &order.refunds {
        state.add_refund(refund);
    }
    Ok(state)
}

/// Lines without a product (custom items, deleted products) are left out:
/// Ometria requires `product_id` to name a known product. They still count
/// in the order's totals.
fn order_line(item: &LineItem, taxes_included: bool) -> Option<OrderLine> {
    let product_id = item.product_id?;
    let subtotal = item.price * item.quantity;
    let discount = if item.discount_allocations.is_empty() {
        item.total_discount.unwrap_or(Money::ZERO)
    } else {
        item.discount_allocations.iter().map(|d| d.amount).sum()
    };
    let tax: Money = item.tax_lines.iter().map(|t| t.price).sum();
    // With tax-inclusive prices the tax is already inside the subtotal.
    let total = if taxes_included {
        subtotal - discount
    } else {
        subtotal - discount + tax
    };
    let variant_options = item
        .variant_title
        .as_deref()
        .map(|t| t.split(" / ").filter_map(|s| text(Some(s))).collect())
        .unwrap_or_default();
    Some(OrderLine {
        line_item_id: item.id,
        product_id,
        variant_id: item.variant_id,
        sku: text(item.sku.as_deref()),
        quantity: item.quantity,
        unit_price: item.price,
        subtotal,
        discount,
        tax,
        total,
        variant_options,
    })
}

fn shipping(order: &Order) -> Option<Money> {
    match &order.total_shipping_price_set {
        Some(set) => Some(set.shop_money.amount),
        None if order.shipping_lines.is_empty() => None,
        None => Some(order.shipping_lines.iter().filter_map(|s| s.price).sum()),
    }
}

/// Shopify's `source_name` is `web`, `pos`, `shopify_draft_order` or an
/// app id; Ometria's `channel` only distinguishes online from in-store.
fn channel(source_name: Option<&str>) -> &'static str {
    match source_name {
        Some("pos") => "pos",
        _ => "online",
    }
}

pub(crate) fn address(a: &Address) -> Option<Value> {
    let state = text(a.province_code.as_deref()).or_else(|| text(a.province.as_deref()));
    object([
        ("city", text(a.city.as_deref()).map(Value::from)),
        ("state", state.map(Value::from)),
        ("postcode", text(a.zip.as_deref()).map(Value::from)),
        (
            "country_code",
            text(a.country_code.as_deref()).map(Value::from),
        ),
    ])
}

/// `customer.id` is the contact's `customer_id`, which links the order to
/// the profile; guests are linked by email alone.
fn customer_block(contact: &ContactRef, order: &Order) -> Option<Value> {
    let (first, last) = names(order);
    object([
        ("id", contact.customer_id().map(Value::from)),
        ("email", text(order.buyer_email()).map(Value::from)),
        ("firstname", first.map(Value::from)),
        ("lastname", last.map(Value::from)),
    ])
}

fn names(order: &Order) -> (Option<String>, Option<String>) {
    match &order.customer {
        Some(c) => (text(c.first_name.as_deref()), text(c.last_name.as_deref())),
        None => {
            let billing = order.billing_address.as_ref();
            (
                text(billing.and_then(|b| b.first_name.as_deref())),
                text(billing.and_then(|b| b.last_name.as_deref())),
            )
        }
    }
}

/// A guest has no customer topic, so its order creates its listing. No
/// `marketing_optin`: consent comes only from Shopify's consent topics.
fn guest_contact(
    ctx: &MappingContext,
    guest: &ContactRef,
    order: &Order,
) -> Result<PushRecord, MappingError> {
    let (first, last) = names(order);
    let mut record = Record::new(RecordType::Contact, guest.ometria_id());
    record.set("@collection", guest.collection().as_str());
    record.set_text("email", order.buyer_email());
    record.set_opt("firstname", first);
    record.set_opt("lastname", last);
    record.set("store_ids", vec![ctx.store.clone()]);
    record.finish()
}
