//! Routing: entity keys, partitions, and what is refused or parked.
use super::*;

fn known(t: Topic) -> TopicName {
    TopicName::Known(t)
}

#[test]
fn orders_refunds_and_fulfilments_share_the_order_key() {
    let create = route_payload(&known(Topic::OrdersCreate), br#"{"id":820982911946154508}"#);
    let refund = route_payload(
        &known(Topic::RefundsCreate),
        br#"{"id":1,"order_id":820982911946154508}"#,
    );
    let edit = route_payload(
        &known(Topic::OrdersEdited),
        br#"{"order_edit":{"id":5,"order_id":820982911946154508}}"#,
    );
    assert_eq!(create, Ok(EntityKey::Order(820_982_911_946_154_508)));
    assert_eq!(refund, create);
    assert_eq!(edit, create);
}

#[test]
fn customer_topics_share_the_customer_key_from_ids_and_gids() {
    let a = route_payload(&known(Topic::CustomersUpdate), br#"{"id":42}"#);
    let b = route_payload(
        &known(Topic::CustomerTagsAdded),
        br#"{"customerId":"gid://shopify/Customer/42","tags":[]}"#,
    );
    let c = route_payload(
        &known(Topic::CustomersEmailMarketingConsentUpdate),
        br#"{"customer_id":42}"#,
    );
    assert_eq!(a, Ok(EntityKey::Customer(42)));
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn refuses_non_objects_and_inexact_ids() {
    let t = known(Topic::OrdersCreate);
    assert_eq!(route_payload(&t, b"[1,2]"), Err(PayloadError::NotAnObject));
    let deep = format!("{{\"id\":1,\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
    assert!(
        matches!(route_payload(&t, deep.as_bytes()), Err(PayloadError::InvalidJson(e)) if e.contains("nested deeper"))
    );
    let fine = format!(
        "{{\"id\":1,\"a\":{}{},\"s\":\"[[[[\\\"[[\"}}",
        "[".repeat(62),
        "]".repeat(62)
    );
    assert!(route_payload(&t, fine.as_bytes()).is_ok(), "{fine}");
    assert_eq!(route_payload(&t, b"  "), Err(PayloadError::NotAnObject));
    assert!(matches!(
        route_payload(&t, br#"{"id":1,"#),
        Err(PayloadError::InvalidJson(_))
    ));
    assert_eq!(
        route_payload(&t, br#"{"name":"x"}"#),
        Err(PayloadError::MissingEntityId {
            field: "id",
            topic: "orders/create"
        })
    );
}

#[test]
fn unusable_ids_of_an_object_are_told_apart_and_parked() {
    let t = known(Topic::OrdersCreate);
    for (body, problem) in [
        (
            &br#"{"id":123456789012345678901234567890}"#[..],
            "exact integer",
        ),
        (br#"{"id":1.5}"#, "exact integer"),
        (br#"{"id":-1}"#, "negative"),
        (br#"{"id":"abc"}"#, "malformed"),
        (br#"{"id":{"x":1}}"#, "integer id or a Shopify GID"),
        (br#"{"id":1,"id":2}"#, "duplicate field"),
    ] {
        let e = route_payload(&t, body).unwrap_err();
        assert!(
            matches!(&e, PayloadError::InvalidEntityId { field: "id", problem: p, .. } if p.contains(problem)),
            "{e:?}"
        );
        assert_eq!(e.park_reason(), Some(ParkReason::InvalidEntityId));
    }
    // Shopify's own HMAC test vector: a JSON object without an order id.
    let e = route_payload(&t, br#"{"foo": "bar"}"#).unwrap_err();
    assert_eq!(e.park_reason(), Some(ParkReason::MissingEntityId));
    assert_eq!(PayloadError::NotAnObject.park_reason(), None);
    // A field only other topics need does not matter.
    assert_eq!(
        route_payload(&known(Topic::ProductsUpdate), br#"{"id":7,"order_id":"x"}"#),
        Ok(EntityKey::Product(7))
    );
    let e = route_payload(
        &known(Topic::CustomersRedact),
        br#"{"customer":{"id":"gid://shopify/Customer/x"}}"#,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            PayloadError::InvalidEntityId {
                field: "customer.id",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn unsupported_topics_route_by_shop() {
    let t = TopicName::Unsupported("carts/create".into());
    assert_eq!(
        route_payload(&t, br#"{"anything":true}"#),
        Ok(EntityKey::Shop)
    );
}

#[test]
fn partitions_are_stable_and_in_range() {
    let shop = ShopDomain::parse("a.myshopify.com").unwrap();
    let p = partition_for(&shop, &EntityKey::Order(1), 8);
    assert!(p < 8);
    assert_eq!(p, partition_for(&shop, &EntityKey::Order(1), 8));
    let spread: std::collections::HashSet<_> = (0..200)
        .map(|i| partition_for(&shop, &EntityKey::Order(i), 8))
        .collect();
    assert_eq!(spread.len(), 8);
}

#[test]
fn partitions_are_fnv1a_of_the_written_key() {
    // The formula before the key stopped being built as a string.
    fn built(shop: &ShopDomain, entity: &EntityKey, partitions: u16) -> u16 {
        let key = format!("{shop}/{entity}");
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        (hash % u64::from(partitions.max(1))) as u16
    }
    let shop = ShopDomain::parse("b.myshopify.com").unwrap();
    for i in 0..500u64 {
        for entity in [
            EntityKey::Order(i * 7919),
            EntityKey::Customer(i),
            EntityKey::Product(u64::MAX - i),
            EntityKey::Checkout(format!("tok-{i}")),
            EntityKey::Shop,
        ] {
            for partitions in [0, 1, 8, 13] {
                assert_eq!(
                    partition_for(&shop, &entity, partitions),
                    built(&shop, &entity, partitions)
                );
            }
        }
    }
    // Pinned (computed independently): a key never moves between releases.
    assert_eq!(partition_for(&shop, &EntityKey::Order(1), 8), 6);
    assert_eq!(partition_for(&shop, &EntityKey::Customer(42), 8), 3);
    assert_eq!(
        partition_for(&shop, &EntityKey::Checkout("abc".into()), 8),
        3
    );
}

#[test]
fn entity_keys_round_trip() {
    for k in [
        EntityKey::Order(1),
        EntityKey::Customer(2),
        EntityKey::Product(3),
        EntityKey::Checkout("t".into()),
        EntityKey::Shop,
    ] {
        assert_eq!(EntityKey::parse(&k.to_string()), Some(k));
    }
}
