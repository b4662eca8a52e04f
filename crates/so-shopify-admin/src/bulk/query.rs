//! The bulk query of each entity, with an optional search filter.

use serde_json::Value;

use crate::queries::{
    CHECKOUT_LINE_FIELDS, CHECKOUT_SCALARS, CUSTOMER_FIELDS, LINE_ITEM_FIELDS, ORDER_SCALARS,
    PRODUCT_SCALARS, VARIANT_FIELDS,
};

/// Bulk query of every customer, optionally filtered (search syntax).
pub fn customers_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ customers{} {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of orders with their line items (child lines) and refunds
/// (inline, without refund lines).
pub fn orders_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ orders{} {{ edges {{ node {{ {ORDER_SCALARS} \
refunds {{ id createdAt totalRefundedSet {{ shopMoney {{ amount currencyCode }} }} }} \
lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of products with their variants (child lines).
pub fn products_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ products{} {{ edges {{ node {{ {PRODUCT_SCALARS} variants {{ edges {{ node {{ {VARIANT_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of abandoned checkouts with their lines (child lines).
pub fn checkouts_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ abandonedCheckouts{} {{ edges {{ node {{ {CHECKOUT_SCALARS} lineItems {{ edges {{ node {{ {CHECKOUT_LINE_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// `(query: "…")`, escaped as a GraphQL string (JSON escapes are valid
/// GraphQL escapes).
fn filter_args(filter: Option<&str>) -> String {
    match filter {
        None => String::new(),
        Some(f) => format!("(query: {})", Value::String(f.to_owned())),
    }
}
