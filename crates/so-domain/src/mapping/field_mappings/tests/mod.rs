use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            "../../../../../../../shared/fixtures/shopify/",
            $name,
            ".json"
        )))
        .expect("fixture is JSON")
    };
}

fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(t, s)| ((*t).to_owned(), (*s).to_owned()))
        .collect()
}

fn mappings(entity: MappedEntity, pairs: &[(&str, &str)]) -> FieldMappings {
    let empty = BTreeMap::new();
    let t = table(pairs);
    let (c, o, p) = match entity {
        MappedEntity::Contact => (&t, &empty, &empty),
        MappedEntity::Order => (&empty, &t, &empty),
        MappedEntity::Product => (&empty, &empty, &t),
    };
    FieldMappings::build(c, o, p).expect("valid mappings")
}

fn applied(entity: MappedEntity, pairs: &[(&str, &str)], raw: &Value) -> Value {
    let mut properties = Map::new();
    mappings(entity, pairs).apply(entity, raw, &mut properties);
    Value::Object(properties)
}

fn problems(
    contact: &[(&str, &str)],
    order: &[(&str, &str)],
    product: &[(&str, &str)],
) -> Vec<String> {
    FieldMappings::build(&table(contact), &table(order), &table(product))
        .expect_err("invalid mappings")
}

fn metafield(namespace: &str, key: &str, kind: &str, value: Value) -> Value {
    json!({ "namespace": namespace, "key": key, "type": kind, "value": value })
}

/// The value one metafield of `kind` maps to.
fn typed_value(kind: &str, value: Value) -> Option<Value> {
    let raw = json!({ "metafields": [metafield("custom", "x", kind, value)] });
    FieldPath::parse(MappedEntity::Product, "metafields.custom.x")
        .expect("valid path")
        .extract(&raw)
}

mod build;
mod extract;
