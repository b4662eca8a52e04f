//! The one-pass reading against the reference path (text checks, then the
//! exact reading): whenever it routes a body, the reference routes it the
//! same way, and it routes Shopify's own samples.
use proptest::prelude::*;

use super::*;

/// What `route_payload` did before the one-pass reading.
fn reference(topic: &TopicName, body: &[u8]) -> Result<EntityKey, PayloadError> {
    check_text(body)?;
    route_exact(topic, body)
}

fn fixtures_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/shopify")
}

#[test]
fn shopifys_samples_are_routed_by_the_fast_reading_as_by_the_exact_one() {
    let index: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixtures_dir().join("index.json")).unwrap()).unwrap();
    let mut routed = 0;
    for entry in index {
        let topic = TopicName::parse(entry["topic"].as_str().unwrap()).unwrap();
        let body = std::fs::read(fixtures_dir().join(entry["file"].as_str().unwrap())).unwrap();
        let exact = reference(&topic, &body);
        let fast = route_fast(&topic, &body);
        match &exact {
            Ok(entity) => {
                assert_eq!(fast.as_ref(), Some(entity), "{}", topic.as_str());
                routed += 1;
            }
            Err(_) => assert_eq!(fast, None, "{}", topic.as_str()),
        }
        assert_eq!(route_payload(&topic, &body), exact);
    }
    assert!(routed >= 25, "only {routed} samples routed");
}

/// A JSON value for a probed field: ids in every spelling, near-misses,
/// and the shapes the fast reading leaves to the exact one.
fn field_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
        Just("0".to_owned()),
        Just("1.5".to_owned()),
        Just("1e3".to_owned()),
        Just("1e400".to_owned()),
        Just("123456789012345678901234567890".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just(r#""""#.to_owned()),
        Just(r#""\ud800""#.to_owned()),
        Just(r#""\u0031\u0032""#.to_owned()),
        Just(r#""$serde_json::private::RawValue""#.to_owned()),
        Just("\"\u{e9}t\u{e9}\"".to_owned()),
        Just("\"\u{1}\"".to_owned()),
        Just("\"ab\\\"".to_owned()),
        (60usize..67).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        (60usize..67)
            .prop_map(|n| format!("{}{}", "{\"a\":".repeat(n), "}".repeat(n)).replace(":}", ":1}")),
        any::<u64>().prop_map(|n| format!(r#""{n}""#)),
        any::<u64>().prop_map(|n| format!(r#""gid://shopify/Customer/{n}""#)),
        any::<u64>().prop_map(|n| format!(r#""gid://shopify/Order/{n}?x=1""#)),
        "[a-z0-9/:]{0,12}".prop_map(|s| format!(r#""{s}""#)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        let key = prop_oneof![
            Just("id".to_owned()),
            Just("order_id".to_owned()),
            Just("i\\u0064".to_owned()),
            Just("$serde_json::private::RawValue".to_owned()),
            "[a-z_]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key, inner), 0..4).prop_map(|entries| {
                let fields: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!(r#""{k}":{v}"#))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

fn probed_key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "id",
        "order_id",
        "customer_id",
        "customerId",
        "admin_graphql_api_customer_kept_id",
        "token",
        "cart_token",
        "order_edit",
        "customer",
        "other",
        "line_items",
    ])
}

fn topic() -> impl Strategy<Value = TopicName> {
    prop_oneof![
        prop::sample::select(Topic::ALL.to_vec()).prop_map(TopicName::Known),
        Just(TopicName::Unsupported("carts/create".to_owned())),
    ]
}

/// Damage done to a generated body's bytes: none mostly, else a byte order
/// mark, a byte that is not UTF-8 somewhere, a cut, or trailing bytes.
fn damage() -> impl Strategy<Value = (u8, usize)> {
    (prop_oneof![6 => Just(0u8), 1 => 1u8..5], any::<usize>())
}

fn damaged(mut body: Vec<u8>, (kind, at): (u8, usize)) -> Vec<u8> {
    let at = at % (body.len() + 1);
    match kind {
        1 => body.splice(0..0, *b"\xEF\xBB\xBF").for_each(drop),
        2 => body.insert(at, 0xFF),
        3 => body.truncate(at),
        4 => body.extend_from_slice(b" x"),
        _ => {}
    }
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_one_pass_reading_never_routes_differently(
        topic in topic(),
        fields in prop::collection::vec((probed_key(), field_value()), 0..6),
        damage in damage(),
    ) {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
        let body = damaged(format!(" {{{}}}\n", body.join(",")).into_bytes(), damage);
        let shown = String::from_utf8_lossy(&body);
        let reference = reference(&topic, &body);
        if let Some(fast) = route_fast(&topic, &body) {
            prop_assert_eq!(&Ok(fast), &reference, "{}", shown);
        }
        prop_assert_eq!(route_payload(&topic, &body), reference, "{}", shown);
    }
}
