//! Orders whose line items name products the account does not have.
//!
//! A line item's `product_id` "must be a known product id" (ometria.md §2c,
//! from third-party docs [S]); whether Ometria rejects such an order, drops
//! the line, or takes it is not documented [U]. So it is a switch
//! ([`crate::FakeConfig::require_known_products`]): on, such an order is a
//! per-record validation error, as Ometria reports them.

use serde_json::{Map, Value};
use so_domain::ometria::RecordType;

use crate::records::{RecordKey, Store};
use crate::validate::{FieldError, NOT_VALID};

/// One error per line item field (`product_id`, `variant_id`) naming a
/// product record `store` does not hold.
pub(crate) fn unknown_products(
    store: &Store,
    record_type: RecordType,
    body: &Map<String, Value>,
) -> Vec<FieldError> {
    if record_type != RecordType::Order {
        return Vec::new();
    }
    let lines = body.get("lineitems").and_then(Value::as_array);
    let mut errors = Vec::new();
    for (i, line) in lines.into_iter().flatten().enumerate() {
        for field in ["product_id", "variant_id"] {
            let Some(id) = line.get(field).and_then(Value::as_str) else {
                continue;
            };
            let key = RecordKey {
                record_type: RecordType::Product,
                collection: None,
                id: id.to_owned(),
            };
            if store.get(&key).is_none() {
                errors.push(FieldError {
                    message: NOT_VALID.to_owned(),
                    path: format!("root > lineitems > {i} > {field}"),
                });
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_the_lines_whose_products_are_unknown() {
        let mut store = Store::default();
        let product = json!({"@type": "product", "id": "p1"});
        let key = RecordKey::of(RecordType::Product, product.as_object().unwrap()).unwrap();
        store.upsert(key, product.as_object().unwrap());
        let order = json!({"id": "o", "lineitems": [
            {"product_id": "p1"},
            {"product_id": "p2", "variant_id": "p2_1"}
        ]});
        let errors = unknown_products(&store, RecordType::Order, order.as_object().unwrap());
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "root > lineitems > 1 > product_id",
                "root > lineitems > 1 > variant_id"
            ]
        );
        assert!(
            unknown_products(&store, RecordType::Product, order.as_object().unwrap()).is_empty()
        );
    }
}
