//! Routing and decoding arbitrary bytes as any topic's payload never
//! panics; what routing accepts is syntactically JSON (numbers beyond f64's
//! range in fields it does not read are accepted: the worker's decoder then
//! dead-letters the message with its reason if it needs that field), and an
//! entity id taken from it is the exact integer decoding finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use so_domain::shopify::{ShopifyPayload, decode};
use so_domain::{EntityKey, TopicName, route_payload};

fuzz_target!(|data: &[u8]| {
    let Some((topic, body)) = so_fuzz::split_topic(data) else {
        return;
    };
    let routed = route_payload(&TopicName::Known(topic), body);
    let decoded = decode(topic, body);
    if routed.is_ok() {
        assert!(serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok());
    }
    if let (Ok(EntityKey::Order(id)), Ok(ShopifyPayload::Order(order))) = (&routed, &decoded) {
        assert_eq!(*id, order.id.get());
    }
    if let (Ok(EntityKey::Customer(id)), Ok(ShopifyPayload::Customer(c))) = (&routed, &decoded) {
        assert_eq!(*id, c.id.get());
    }
});
