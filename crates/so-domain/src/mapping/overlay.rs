//! The shop's extra fields on the records an event was mapped to.

use serde_json::{Map, Value};

use super::field_mappings::{FieldMappings, MappedEntity};
use crate::ometria::{PushRecord, RecordType};
use crate::shopify::ShopifyPayload;

impl MappedEntity {
    /// Which configured field mappings apply to a payload, if any.
    pub fn of_payload(payload: &ShopifyPayload) -> Option<MappedEntity> {
        match payload {
            ShopifyPayload::Customer(_) => Some(MappedEntity::Contact),
            ShopifyPayload::Order(_) => Some(MappedEntity::Order),
            ShopifyPayload::Product(_) => Some(MappedEntity::Product),
            _ => None,
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            MappedEntity::Contact => RecordType::Contact,
            MappedEntity::Order => RecordType::Order,
            MappedEntity::Product => RecordType::Product,
        }
    }
}

/// Adds the shop's extra fields, read from the raw payload, to the
/// `properties` of the entity's own records (not, say, the contact record
/// of an order); a `properties` left empty is not sent.
pub fn apply_field_mappings(
    mappings: &FieldMappings,
    entity: MappedEntity,
    raw: &Value,
    records: &mut [PushRecord],
) {
    let record_type = entity.record_type();
    for r in records.iter_mut().filter(|r| r.record_type == record_type) {
        let properties = r
            .body
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(p) = properties {
            mappings.apply(entity, raw, p);
            if p.is_empty() {
                r.body.remove("properties");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn record(record_type: RecordType) -> PushRecord {
        PushRecord {
            record_type,
            id: "r".to_owned(),
            body: Map::new(),
        }
    }

    #[test]
    fn extra_fields_go_to_the_entitys_own_records_only() {
        let empty = BTreeMap::new();
        let order: BTreeMap<String, String> = [("gift_note".to_owned(), "note".to_owned())].into();
        let mappings = FieldMappings::build(&empty, &order, &empty).unwrap();
        let raw = json!({ "note": "for mum" });
        let mut records = [record(RecordType::Order), record(RecordType::Contact)];
        apply_field_mappings(&mappings, MappedEntity::Order, &raw, &mut records);
        assert_eq!(
            records[0].body["properties"],
            json!({ "gift_note": "for mum" })
        );
        assert!(!records[1].body.contains_key("properties"));

        let mut bare = [record(RecordType::Order)];
        apply_field_mappings(&mappings, MappedEntity::Order, &json!({}), &mut bare);
        assert!(!bare[0].body.contains_key("properties"));
    }
}
