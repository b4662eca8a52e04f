//! Values read from payloads: sources per entity, types, limits.

use super::*;

#[test]
fn contact_sources_come_from_a_customer_payload() {
    let mut raw = fixture!("webhook-2026-07-customers__update");
    raw["metafields"] = json!([
        metafield("custom", "birthday", "date", json!("1990-04-01")),
        metafield(
            "custom",
            "loyalty_tier",
            "single_line_text_field",
            json!("gold")
        ),
    ]);
    raw["tags"] = json!("VIP, newsletter ,,");
    let got = applied(
        MappedEntity::Contact,
        &[
            ("loyalty_tier", "metafields.custom.loyalty_tier"),
            ("tags_list", "tags"),
            ("crm_note", "note"),
            ("account_state", "state"),
            ("account_currency", "currency"),
            ("email_verified", "verified_email"),
            ("exempt", "tax_exempt"),
            ("home_city", "default_address.city"),
            ("home_zip", "default_address.zip"),
            ("home_country", "default_address.country_code"),
            ("home_company", "default_address.company"),
            ("home_line2", "default_address.address2"),
        ],
        &raw,
    );
    assert_eq!(
        got,
        json!({
            "loyalty_tier": "gold",
            "tags_list": ["VIP", "newsletter"],
            "crm_note": "This customer loves ice cream",
            "account_state": "disabled",
            "account_currency": "USD",
            "email_verified": true,
            "exempt": false,
            "home_city": "Ottawa",
            "home_zip": "K2P 2L8",
            "home_country": "CA",
        })
    );
}

#[test]
fn order_sources_come_from_an_order_payload() {
    let mut raw = fixture!("webhook-2026-07-orders__create");
    raw["note_attributes"] = json!([
        { "name": "gift_message", "value": "Happy birthday" },
        { "name": "Gift wrap colour", "value": "red" },
    ]);
    raw["discount_codes"] = json!([
        { "code": "SUMMER", "amount": "1.00", "type": "percentage" },
        { "code": " WELCOME ", "amount": "5.00", "type": "fixed_amount" },
    ]);
    raw["metafields"] = json!([metafield("custom", "gift", "boolean", json!("true"))]);
    let got = applied(
        MappedEntity::Order,
        &[
            ("gift_message", "note_attributes.gift_message"),
            ("wrap", "note_attributes.\"Gift wrap colour\""),
            ("is_gift", "metafields.custom.gift"),
            ("order_tags", "tags"),
            ("order_note", "note"),
            ("source", "source_name"),
            ("landing", "landing_site"),
            ("referrer", "referring_site"),
            ("locale", "customer_locale"),
            ("financial", "financial_status"),
            ("fulfilment", "fulfillment_status"),
            ("gateways", "payment_gateway_names"),
            ("codes", "discount_codes"),
            ("ship_city", "shipping_address.city"),
            ("ship_line2", "shipping_address.address2"),
            ("bill_province", "billing_address.province_code"),
            ("bill_company", "billing_address.company"),
        ],
        &raw,
    );
    assert_eq!(
        got,
        json!({
            "gift_message": "Happy birthday",
            "wrap": "red",
            "is_gift": true,
            "order_tags": ["tag1", "tag2"],
            "source": "web",
            "locale": "en",
            "financial": "voided",
            "gateways": ["visa", "bogus"],
            "codes": ["SUMMER", "WELCOME"],
            "ship_city": "Shippington",
            "bill_province": "KY",
            "bill_company": "Shipping Company",
        })
    );
}

#[test]
fn product_sources_come_from_a_product_payload() {
    let mut raw = fixture!("webhook-2026-07-products__update");
    raw["metafields"] = json!([metafield(
        "descriptors",
        "care_guide",
        "multi_line_text_field",
        json!("Wash cold")
    ),]);
    let got = applied(
        MappedEntity::Product,
        &[
            ("brand", "vendor"),
            ("category", "product_type"),
            ("product_tags", "tags"),
            ("slug", "handle"),
            ("lifecycle", "status"),
            ("care", "metafields.descriptors.care_guide"),
        ],
        &raw,
    );
    assert_eq!(
        got,
        json!({
            "brand": "Acme",
            "category": "Shirts",
            "product_tags": ["example", "mens", "t-shirt"],
            "slug": "example-t-shirt",
            "lifecycle": "active",
            "care": "Wash cold",
        })
    );
}

#[test]
fn metafields_are_typed_by_their_shopify_type() {
    let cases = [
        ("number_integer", json!("42"), json!(42)),
        ("number_integer", json!("-7"), json!(-7)),
        ("number_integer", json!("4.2"), json!("4.2")),
        ("number_decimal", json!("12.50"), json!(12.5)),
        ("number_decimal", json!("3"), json!(3)),
        // More digits than an f64 holds: kept exact, as text.
        (
            "number_decimal",
            json!("0.1234567890123456789"),
            json!("0.1234567890123456789"),
        ),
        ("number_decimal", json!("lots"), json!("lots")),
        ("boolean", json!("true"), json!(true)),
        ("boolean", json!("false"), json!(false)),
        ("boolean", json!("yes"), json!("yes")),
        ("json", json!("[1, \"a\"]"), json!([1, "a"])),
        // An object is not sent as an object: compact JSON text.
        ("json", json!("{ \"a\": 1 }"), json!("{\"a\":1}")),
        ("json", json!("{not json"), json!("{not json")),
        (
            "list.single_line_text_field",
            json!("[\"red\",\"blue\"]"),
            json!(["red", "blue"]),
        ),
        ("list.number_integer", json!("[1,2,3]"), json!([1, 2, 3])),
        (
            "list.dimension",
            json!("[{\"value\":2.5,\"unit\":\"cm\"}]"),
            // Keys come out sorted: serde_json keeps no order.
            json!(["{\"unit\":\"cm\",\"value\":2.5}"]),
        ),
        (
            "money",
            json!("{\"amount\":\"5.99\",\"currency_code\":\"GBP\"}"),
            json!("{\"amount\":\"5.99\",\"currency_code\":\"GBP\"}"),
        ),
        ("date", json!("2024-05-01"), json!("2024-05-01")),
        ("single_line_text_field", json!(" gold "), json!("gold")),
        // Already typed in the payload: kept.
        ("number_integer", json!(5), json!(5)),
    ];
    for (kind, value, want) in cases {
        assert_eq!(
            typed_value(kind, value.clone()),
            Some(want),
            "{kind} {value}"
        );
    }
}

#[test]
fn missing_null_and_blank_values_are_omitted() {
    for (kind, value) in [
        ("single_line_text_field", json!("  ")),
        ("single_line_text_field", Value::Null),
        ("list.single_line_text_field", json!("[]")),
        ("json", json!("{}")),
    ] {
        assert_eq!(typed_value(kind, value.clone()), None, "{kind} {value}");
    }
    let raw = json!({
        "tags": " , ",
        "note": "",
        "note_attributes": [{ "name": "gift_message", "value": null }],
        "discount_codes": [{ "code": "" }],
        "payment_gateway_names": [],
        "shipping_address": null,
        "metafields": [metafield("custom", "other", "boolean", json!("true"))],
    });
    let got = applied(
        MappedEntity::Order,
        &[
            ("a", "tags"),
            ("b", "note"),
            ("c", "note_attributes.gift_message"),
            ("d", "discount_codes"),
            ("e", "payment_gateway_names"),
            ("f", "shipping_address.city"),
            ("g", "billing_address.city"),
            ("h", "metafields.custom.gift"),
            ("i", "source_name"),
        ],
        &raw,
    );
    assert_eq!(got, json!({}));
    // A payload without `metafields` at all (no namespaces subscribed).
    let got = applied(
        MappedEntity::Product,
        &[("care", "metafields.custom.care")],
        &json!({ "vendor": "Acme" }),
    );
    assert_eq!(got, json!({}));
}

#[test]
fn strings_are_cut_at_512_characters_on_a_char_boundary() {
    // "€" is three bytes: byte 512 falls inside one.
    let long = format!("a{}", "€".repeat(600));
    let raw = json!({
        "note": long,
        "tags": format!("{long}, short"),
        "note_attributes": [{ "name": "big", "value": { "text": long } }],
    });
    let got = applied(
        MappedEntity::Order,
        &[("n", "note"), ("t", "tags"), ("o", "note_attributes.big")],
        &raw,
    );
    let want = format!("a{}", "€".repeat(511));
    assert_eq!(got["n"], json!(want));
    assert_eq!(got["t"], json!([want, "short"]));
    let object_text = got["o"].as_str().expect("object sent as text");
    assert_eq!(object_text.chars().count(), 512);
    assert!(object_text.starts_with("{\"text\":\"a€"));
}

#[test]
fn arrays_are_cut_at_100_items() {
    let tags: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let list: Vec<Value> = (0..150).map(Value::from).collect();
    let raw = json!({
        "tags": tags.join(","),
        "metafields": [metafield(
            "custom", "sizes", "list.number_integer", json!(Value::Array(list).to_string())
        )],
    });
    let got = applied(
        MappedEntity::Product,
        &[("t", "tags"), ("s", "metafields.custom.sizes")],
        &raw,
    );
    let t = got["t"].as_array().expect("array");
    assert_eq!(t.len(), 100);
    assert_eq!(t[99], json!("t99"));
    let s = got["s"].as_array().expect("array");
    assert_eq!(s.len(), 100);
    assert_eq!(s[99], json!(99));
}

#[test]
fn apply_never_overwrites_a_property_the_service_set() {
    let mut properties = Map::new();
    properties.insert("brand".to_owned(), json!("set by the service"));
    mappings(
        MappedEntity::Product,
        &[("brand", "vendor"), ("kind", "product_type")],
    )
    .apply(
        MappedEntity::Product,
        &json!({ "vendor": "Acme", "product_type": "Shirts" }),
        &mut properties,
    );
    assert_eq!(
        Value::Object(properties),
        json!({ "brand": "set by the service", "kind": "Shirts" })
    );
}
