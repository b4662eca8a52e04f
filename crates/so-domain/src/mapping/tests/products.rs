//! Products mapping tests.

use super::*;

#[test]
fn products_map_to_a_parent_and_one_record_per_variant() {
    let p: Product = parse(&json!({"id": BIG, "title": "Tee", "handle": "tee", "vendor": "Acme", "status": "active",
        "variants": [
            {"id": 1, "title": "Small", "sku": "T-S", "price": "19.99", "compare_at_price": "24.99", "inventory_quantity": 0},
            {"id": 2, "title": "Large", "sku": "T-L", "price": "21.00", "compare_at_price": null, "inventory_quantity": 3},
            {"id": 3, "title": "XL", "sku": "T-XL", "price": "22.00", "compare_at_price": "22.00", "inventory_quantity": 3}],
        "images": [{"id": 5, "src": "https://cdn/x.png"}]}).to_string());
    let mut c = ctx("uk:");
    c.storefront_url = Some("https://shop.example.com/".into());
    c.store = "uk".into();
    c.currency = Some("GBP".into());
    let records = map_product(&c, &p).unwrap();
    assert_eq!(records.len(), 4);
    let parent = &records[0].body;
    assert_eq!(parent["id"], format!("uk:{BIG}"));
    assert_eq!(
        (
            parent["price"].to_string(),
            parent["special_price"].to_string()
        ),
        ("24.99".into(), "19.99".into())
    );
    assert_eq!(
        (&parent["is_active"], &parent["is_in_stock"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(parent["url"], "https://shop.example.com/products/tee");
    assert_eq!(parent["image_url"], "https://cdn/x.png");
    assert_eq!(parent["currency"], "GBP");
    assert_eq!(
        parent["listings"],
        json!([{"store": "uk", "title": "Tee", "price": 24.99, "special_price": 19.99,
                "currency": "GBP", "is_active": true,
                "url": "https://shop.example.com/products/tee", "image_url": "https://cdn/x.png"}])
    );
    assert_eq!(
        parent["attributes"],
        json!([{"type": "vendor", "id": "Acme", "label": "Acme"}])
    );
    let small = &records[1].body;
    assert_eq!(small["id"], format!("uk:{BIG}_1"));
    assert_eq!(
        (&small["is_variant"], &small["is_in_stock"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(small["title"], "Tee - Small");
    assert_eq!(
        small["url"],
        "https://shop.example.com/products/tee?variant=1"
    );
    assert_eq!(small["special_price"].to_string(), "19.99");
    assert_eq!(small["currency"], "GBP");
    for not_on_sale in [&records[2].body, &records[3].body] {
        assert!(
            !not_on_sale.contains_key("special_price"),
            "no sale, no special price: {not_on_sale:?}"
        );
        assert!(not_on_sale["price"].is_number());
    }
    let deleted = map_product_delete(&c, ShopifyId::new(BIG), &[ShopifyId::new(1)]).unwrap();
    assert_eq!(
        deleted
            .iter()
            .map(|r| r.body["is_active"].clone())
            .collect::<Vec<_>>(),
        vec![json!(false); 2]
    );
}

#[test]
fn an_orders_unknown_products_become_minimal_records_from_its_lines() {
    let order: Order = parse(&order_json(
        "paid",
        json!({"line_items": [
            {"id": 1, "product_id": 7, "variant_id": 70, "title": "Tee", "variant_title": "Small",
             "sku": "T-S", "quantity": 2, "price": "30.00"},
            {"id": 2, "product_id": 7, "variant_id": 71, "title": "Tee", "variant_title": "Large",
             "sku": "T-L", "quantity": 1, "price": "32.00"},
            {"id": 3, "product_id": null, "title": "Gift wrap", "quantity": 1, "price": "2.00"}
        ]}),
    ));
    let keys = line_product_keys(&order);
    let p = ShopifyId::new(7);
    assert_eq!(
        keys,
        vec![
            (p, None),
            (p, Some(ShopifyId::new(70))),
            (p, Some(ShopifyId::new(71)))
        ]
    );
    // Ometria has the parent and the small one already.
    let records = map_line_products(&ctx("uk:"), &order, &keys[2..]).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        serde_json::Value::Object(records[0].body.clone()),
        json!({"@type": "product", "id": "uk:7_71", "title": "Tee - Large", "is_variant": true,
               "sku": "T-L", "price": 32.0, "currency": "EUR", "properties": {"parent_id": "uk:7"}})
    );
    let parent = map_line_products(&ctx("uk:"), &order, &keys[..1]).unwrap();
    assert_eq!(
        serde_json::Value::Object(parent[0].body.clone()),
        json!({"@type": "product", "id": "uk:7", "title": "Tee", "is_variant": false,
               "price": 30.0, "currency": "EUR"})
    );
}
