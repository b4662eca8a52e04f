//! Config validation: printing, refused sources and targets.

use super::*;

#[test]
fn default_maps_nothing_and_targets_print_the_canonical_source() {
    let none = FieldMappings::default();
    assert!(MappedEntity::ALL.into_iter().all(|e| none.is_empty(e)));
    let m = mappings(
        MappedEntity::Order,
        &[
            ("wrap", " note_attributes.\"Gift wrap\" "),
            ("gift", "note_attributes.\"gift_message\""),
            ("tier", "metafields.custom.loyalty-tier"),
            ("city", "shipping_address.city"),
        ],
    );
    assert!(!m.is_empty(MappedEntity::Order));
    assert!(m.is_empty(MappedEntity::Contact));
    let targets: Vec<(&str, String)> = m.targets(MappedEntity::Order).collect();
    assert_eq!(
        targets,
        [
            ("city", "shipping_address.city".to_owned()),
            ("gift", "note_attributes.gift_message".to_owned()),
            ("tier", "metafields.custom.loyalty-tier".to_owned()),
            ("wrap", "note_attributes.\"Gift wrap\"".to_owned()),
        ]
    );
    for (_, source) in targets {
        let again = FieldPath::parse(MappedEntity::Order, &source).expect("round trip");
        assert_eq!(again.to_string(), source);
    }
    assert_eq!(MappedEntity::Contact.as_str(), "contact");
    assert_eq!(MappedEntity::Order.as_str(), "order");
    assert_eq!(MappedEntity::Product.as_str(), "product");
}

#[test]
fn an_unknown_source_lists_what_the_entity_supports() {
    assert_eq!(
        problems(&[("loyalty", "metafield.custom.tier")], &[], &[]),
        [
            "mappings.contact.loyalty: unknown source field \"metafield.custom.tier\" \
             (contact fields: metafields.<namespace>.<key>, tags, note, state, currency, \
             verified_email, tax_exempt, default_address.<field>; address fields: address1, \
             address2, city, province, province_code, country, country_code, country_name, \
             zip, company)"
        ]
    );
    assert_eq!(
        problems(&[], &[], &[("brand", "vendors")]),
        [
            "mappings.product.brand: unknown source field \"vendors\" (product fields: \
             metafields.<namespace>.<key>, tags, vendor, product_type, handle, status)"
        ]
    );
    // Sources of another entity, and paths that go too deep or not deep enough.
    for (entity, path) in [
        (MappedEntity::Contact, "note_attributes.gift"),
        (MappedEntity::Product, "discount_codes"),
        (MappedEntity::Contact, "shipping_address.city"),
        (MappedEntity::Order, "default_address.city"),
        (MappedEntity::Order, "shipping_address.latitude"),
        (MappedEntity::Order, "shipping_address"),
        (MappedEntity::Order, "tags.first"),
        (MappedEntity::Order, "note.text.more"),
        (MappedEntity::Order, ""),
    ] {
        assert!(
            matches!(
                FieldPath::parse(entity, path),
                Err(FieldMappingError::UnknownSource { .. })
            ),
            "{entity} {path:?}"
        );
    }
}

#[test]
fn a_malformed_source_says_what_is_wrong() {
    let got = problems(
        &[],
        &[
            ("a", "metafields.custom"),
            ("b", "metafields.cust om.tier"),
            ("c", "metafields.custom."),
            ("d", "note_attributes.Gift message"),
            ("e", "note_attributes.\"Gift message"),
            ("f", "note_attributes.\"Gift\"x"),
            ("g", "note_attributes.\"  \""),
            ("h", "note_attributes"),
        ],
        &[("i", &format!("metafields.custom.{}", "k".repeat(65)))],
    );
    assert_eq!(
        got,
        [
            "mappings.order.a: source field \"metafields.custom\": expected \
             metafields.<namespace>.<key>",
            "mappings.order.b: source field \"metafields.cust om.tier\": the namespace \
             must be 1 to 64 letters, digits, _ or -",
            "mappings.order.c: source field \"metafields.custom.\": the key must be 1 to 64 \
             letters, digits, _ or -",
            "mappings.order.d: source field \"note_attributes.Gift message\": the name must \
             be 1 to 64 letters, digits, _ or - (quote other names: \
             note_attributes.\"Gift message\")",
            "mappings.order.e: source field \"note_attributes.\\\"Gift message\": a quoted \
             name has no closing \"",
            "mappings.order.f: source field \"note_attributes.\\\"Gift\\\"x\": a quoted name \
             must be followed by . or end the path",
            "mappings.order.g: source field \"note_attributes.\\\"  \\\"\": a quoted name \
             must be 1 to 64 characters, not blank, without control characters",
            "mappings.order.h: source field \"note_attributes\": expected \
             note_attributes.<name>",
            &format!(
                "mappings.product.i: source field \"metafields.custom.{}\": the key must be \
                 1 to 64 letters, digits, _ or -",
                "k".repeat(65)
            ),
        ]
    );
}

#[test]
fn reserved_and_invalid_targets_are_refused() {
    let got = problems(
        &[("@type", "note"), ("email", "note"), ("Loyalty", "note")],
        &[("shopify_tags", "tags"), ("timestamp", "note")],
        &[
            ("attributes", "vendor"),
            ("9lives", "vendor"),
            ("brand name", "vendor"),
            (&"b".repeat(65), "vendor"),
        ],
    );
    assert_eq!(
        got,
        [
            "mappings.contact.\"@type\": \"@type\" is reserved (Ometria's own keys start \
             with @)",
            "mappings.contact.Loyalty: \"Loyalty\" is not a valid property name (a \
             lower-case letter, then up to 63 lower-case letters, digits or _)",
            "mappings.contact.email: \"email\" is an Ometria contact field",
            "mappings.order.shopify_tags: \"shopify_tags\" is reserved (the service's own \
             properties start with shopify_)",
            "mappings.order.timestamp: \"timestamp\" is an Ometria order field",
            "mappings.product.9lives: \"9lives\" is not a valid property name (a \
             lower-case letter, then up to 63 lower-case letters, digits or _)",
            "mappings.product.attributes: \"attributes\" is an Ometria product field",
            &format!(
                "mappings.product.{}: \"{}\" is not a valid property name (a lower-case \
                 letter, then up to 63 lower-case letters, digits or _)",
                "b".repeat(65),
                "b".repeat(65)
            ),
            "mappings.product.\"brand name\": \"brand name\" is not a valid property name \
             (a lower-case letter, then up to 63 lower-case letters, digits or _)",
        ]
    );
    // Each entity's record fields are its own: `currency` is fine on a contact.
    assert!(
        FieldMappings::build(
            &table(&[("currency", "currency")]),
            &BTreeMap::new(),
            &BTreeMap::new()
        )
        .is_ok()
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let got = problems(
        &[("loyalty", "metafields.custom.tier"), ("shopify_x", "nope")],
        &[("gift", "note_attributes.gift"), ("id", "tags")],
        &[("brand", "vendor"), ("category", "category")],
    );
    assert_eq!(got.len(), 4, "{got:#?}");
    assert!(got[0].starts_with("mappings.contact.shopify_x: \"shopify_x\" is reserved"));
    assert!(got[1].starts_with("mappings.contact.shopify_x: unknown source field \"nope\""));
    assert!(got[2].starts_with("mappings.order.id: \"id\" is an Ometria order field"));
    assert!(got[3].starts_with("mappings.product.category: unknown source field \"category\""));
}
