//! Orders mapping tests.

use super::*;

#[test]
fn order_maps_every_field_with_exact_big_ids_and_money() {
    let order: Order = parse(&order_json("paid", json!({})));
    let m = map_order(&ctx("uk:"), &order, Some(&customer_ref("uk:", 42)), None).unwrap();
    let body = &order_record(&m).body;
    assert_eq!(order_record(&m).id, format!("uk:{BIG}"));
    assert_eq!(body["@type"], "order");
    assert_eq!(body["id"], "uk:820982911946154508");
    assert_eq!(body["timestamp"], "2026-01-01T10:00:00+01:00");
    assert_eq!(body["grand_total"].to_string(), "110.0");
    assert_eq!(
        (body["subtotal"].to_string(), body["discount"].to_string()),
        ("100.0".into(), "5.0".into())
    );
    assert_eq!(
        (body["shipping"].to_string(), body["tax"].to_string()),
        ("5.0".into(), "10.0".into())
    );
    assert_eq!(
        (body["currency"].as_str(), body["status"].as_str()),
        (Some("EUR"), Some("paid"))
    );
    assert_eq!(body["is_valid"], true);
    assert_eq!(
        (body["channel"].as_str(), body["store"].as_str()),
        (Some("online"), Some("demo.myshopify.com"))
    );
    assert_eq!(
        (body["web_id"].as_str(), body["coupon_code"].as_str()),
        (Some("#1001"), Some("WELCOME5"))
    );
    assert_eq!(
        body["customer"],
        json!({"id": "uk:42", "email": "jo@example.com", "firstname": "Jo", "lastname": "Doe"})
    );
    assert_eq!(
        body["billing_address"],
        json!({"city": "Paris", "postcode": "75001", "country_code": "FR"})
    );
    let lines = body["lineitems"].as_array().unwrap();
    assert_eq!(
        lines.len(),
        2,
        "the custom line without product is left out"
    );
    assert_eq!(
        lines[0],
        json!({"product_id": "uk:7", "variant_id": "uk:7_70", "sku": "A-S", "quantity": 2,
               "unit_price": 30.0, "subtotal": 60.0, "discount": 5.0, "tax": 5.5, "total": 60.5,
               "variant_options": [{"type": "option1", "label": "Small"}, {"type": "option2", "label": "Red"}]})
    );
}

#[test]
fn cancelled_and_test_orders_are_not_revenue() {
    let cancelled: Order = parse(&order_json(
        "paid",
        json!({"cancelled_at": "2026-01-02T00:00:00Z"}),
    ));
    let m = map_order(&ctx(""), &cancelled, None, None).unwrap();
    let body = &order_record(&m).body;
    assert_eq!(
        (body["status"].as_str(), &body["is_valid"]),
        (Some("cancelled"), &json!(false))
    );
    assert!(
        body.get("customer").is_none(),
        "no contact, no customer block"
    );
    let test: Order = parse(&order_json("paid", json!({"test": true})));
    let m = map_order(&ctx(""), &test, None, None).unwrap();
    assert_eq!(order_record(&m).body["is_valid"], false);
}

#[test]
fn partial_then_full_refund_follows_ometrias_recipe_and_is_idempotent() {
    let order: Order = parse(&order_json("paid", json!({})));
    let placed = map_order(&ctx(""), &order, None, None).unwrap();
    let partial: Refund = parse(&refund_json(9, &[(1001, 1, "30.00")], "30.00"));
    let after = map_refund(&ctx(""), &partial, Some(&placed.state)).unwrap();
    let body = &after.records[0].body;
    assert_eq!(
        (body["status"].as_str(), &body["is_valid"]),
        (Some("partial_refund"), &json!(true))
    );
    assert_eq!(body["lineitems"][0]["quantity_refunded"], 1);
    assert_eq!(body["lineitems"][0]["refunded"].to_string(), "30.0");
    assert!(body["lineitems"][1].get("quantity_refunded").is_none());
    assert_eq!(
        body["timestamp"], "2026-01-01T10:00:00+01:00",
        "original date kept"
    );
    let again = map_refund(&ctx(""), &partial, Some(&after.state)).unwrap();
    assert_eq!(
        again.records, after.records,
        "a repeated refund changes nothing"
    );

    let rest: Refund = parse(&refund_json(
        10,
        &[(1001, 1, "30.00"), (1002, 1, "40.00")],
        "80.00",
    ));
    let full = map_refund(&ctx(""), &rest, Some(&after.state)).unwrap();
    let body = &full.records[0].body;
    assert_eq!(
        (body["status"].as_str(), &body["is_valid"]),
        (Some("refunded"), &json!(false))
    );
}

#[test]
fn refund_without_stored_order_or_for_another_order_is_an_error() {
    let refund: Refund = parse(&refund_json(9, &[(1001, 1, "1.00")], "1.00"));
    let err = map_refund(&ctx(""), &refund, None).unwrap_err();
    assert!(matches!(err, MappingError::OrderStateMissing { .. }));
    let other: Order = parse(&order_json("paid", json!({"id": 5})));
    let state = map_order(&ctx(""), &other, None, None).unwrap().state;
    assert!(matches!(
        map_refund(&ctx(""), &refund, Some(&state)),
        Err(MappingError::OrderMismatch { .. })
    ));
}

#[test]
fn an_order_update_keeps_a_refund_that_overtook_it_and_state_round_trips_as_json() {
    let order: Order = parse(&order_json("paid", json!({})));
    let placed = map_order(&ctx(""), &order, None, None).unwrap();
    let refund: Refund = parse(&refund_json(9, &[(1001, 1, "30.00")], "30.00"));
    let refunded = map_refund(&ctx(""), &refund, Some(&placed.state)).unwrap();
    let stored: OrderState = parse(&serde_json::to_string(&refunded.state).unwrap());
    assert_eq!(stored, refunded.state);
    let updated = map_order(&ctx(""), &order, None, Some(&stored)).unwrap();
    assert_eq!(order_record(&updated).body["status"], "partial_refund");
}

#[test]
fn delete_marks_a_known_order_invalid_and_sends_nothing_for_an_unknown_one() {
    let (state, bare) = map_order_delete(&ctx(""), None).unwrap();
    assert!(state.is_none() && bare.is_empty(), "{bare:?}");
    let order: Order = parse(&order_json("paid", json!({})));
    let state = map_order(&ctx(""), &order, None, None).unwrap().state;
    let (after, records) = map_order_delete(&ctx(""), Some(&state)).unwrap();
    assert_eq!(after.unwrap().base_status, OrderStatus::Deleted);
    assert_eq!(records[0].body["status"], "deleted");
    assert_eq!(records[0].body["is_valid"], false);
    assert_eq!(records[0].body["grand_total"].to_string(), "110.0");
}

#[test]
fn guest_orders_link_by_email_and_create_the_guest_listing() {
    let order: Order = parse(&order_json("paid", json!({"customer": null})));
    let guest = ContactRef::guest(&Namespace::default(), GuestId::from_random([7; 16]));
    let m = map_order(&ctx(""), &order, Some(&guest), None).unwrap();
    assert_eq!(
        order_record(&m).body["customer"],
        json!({"email": "Jo@Example.com"})
    );
    let contact = m
        .records
        .iter()
        .find(|r| r.record_type == RecordType::Contact)
        .unwrap();
    assert_eq!(contact.body["@collection"], "shopify_guests");
    assert!(contact.body.get("customer_id").is_none());
    assert!(!contact.id.contains('@'));
}

#[test]
fn missing_required_order_fields_are_named() {
    let order: Order = parse(&order_json("paid", json!({"currency": null})));
    let err = map_order(&ctx(""), &order, None, None).unwrap_err();
    assert_eq!(
        err,
        MappingError::MissingField {
            entity: "order",
            id: ShopifyId::new(BIG),
            field: "currency"
        }
    );
    assert!(err.to_string().contains("`currency`"));
}

#[test]
fn a_multi_currency_refund_counts_in_shop_money() {
    // Shop currency EUR (total 110.00); the shopper paid in JPY.
    let order: Order = parse(&order_json("paid", json!({"presentment_currency": "JPY"})));
    let placed = map_order(&ctx(""), &order, None, None).unwrap();
    // Everything went back: lines worth 110.00 in shop money, one
    // transaction of 17 600 yen (its currency left `null`, as in Shopify's
    // sample). Read as shop money the yen would make a "refund" of 17 600.
    let full: Refund = parse(&refund_json(
        9,
        &[(1001, 2, "60.50"), (1002, 1, "49.50")],
        "17600",
    ));
    let m = map_refund(&ctx(""), &full, Some(&placed.state)).unwrap();
    assert_eq!(
        m.state.refunded_total(),
        crate::shopify::Money::parse("110.00").unwrap()
    );
    assert_eq!(order_record(&m).body["status"], "refunded");
    // A partial one: 30.00 of lines, 4 800 yen paid back.
    let part: Refund = parse(&refund_json(10, &[(1001, 1, "30.00")], "4800"));
    let m = map_refund(&ctx(""), &part, Some(&placed.state)).unwrap();
    assert_eq!(order_record(&m).body["status"], "partial_refund");
    assert_eq!(
        m.state.refunded_total(),
        crate::shopify::Money::parse("30.00").unwrap()
    );
    // A transaction that carries its shop-money pair is taken as it is.
    let mut with_set: serde_json::Value =
        serde_json::from_str(&refund_json(11, &[(1001, 1, "30.00")], "4800")).unwrap();
    with_set["transactions"][0]["amount_set"] = json!({"shop_money": {"amount": "29.00"}});
    let with_set: Refund = parse(&with_set.to_string());
    let m = map_refund(&ctx(""), &with_set, Some(&placed.state)).unwrap();
    assert_eq!(
        m.state.refunded_total(),
        crate::shopify::Money::parse("29.00").unwrap()
    );
    // Same currency on both sides: the transactions count, as before.
    let single: Order = parse(&order_json("paid", json!({"presentment_currency": "EUR"})));
    let placed = map_order(&ctx(""), &single, None, None).unwrap();
    let m = map_refund(&ctx(""), &part, Some(&placed.state)).unwrap();
    assert_eq!(
        m.state.refunded_total(),
        crate::shopify::Money::parse("4800").unwrap()
    );
}
