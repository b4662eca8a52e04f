use super::*;
use crate::nodes::Order;

#[test]
fn bulk_queries_embed_filters_as_graphql_strings() {
    let q = customers_bulk_query(Some("updated_at:>'2024-01-01' \"quoted\""));
    assert!(
        q.contains(r#"customers(query: "updated_at:>'2024-01-01' \"quoted\"")"#),
        "{q}"
    );
    assert!(orders_bulk_query(None).starts_with("{ orders {"));
}

#[test]
fn operation_counts_accept_strings_and_numbers() {
    let op: BulkOperation = serde_json::from_value(json!({
        "id": "gid://shopify/BulkOperation/1", "status": "COMPLETED",
        "objectCount": "12", "rootObjectCount": 3, "url": null
    }))
    .unwrap();
    assert_eq!((op.object_count, op.root_object_count), (12, 3));
    assert!(op.status.is_terminal());
}

#[test]
fn order_rows_take_line_items_only() {
    let mut o: Order = serde_json::from_value(json!({
        "id": "gid://shopify/Order/1", "name": "#1", "createdAt": "2024-01-01T00:00:00Z", "currencyCode": "GBP"
    }))
    .unwrap();
    o.attach_child(json!({"id": "gid://shopify/LineItem/9", "quantity": 2, "title": "T"}))
        .unwrap();
    assert_eq!(o.line_items.nodes.len(), 1);
    assert!(
        o.attach_child(json!({"id": "gid://shopify/ProductVariant/9"}))
            .is_err()
    );
}
