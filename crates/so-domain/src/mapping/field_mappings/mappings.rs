//! A shop's validated mappings, built from config and applied to payloads.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::entity::MappedEntity;
use super::source::FieldPath;
use super::target::{check_target, config_key};

/// A shop's validated mappings for all three entities. The default maps
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMappings {
    contact: BTreeMap<String, FieldPath>,
    order: BTreeMap<String, FieldPath>,
    product: BTreeMap<String, FieldPath>,
}

impl FieldMappings {
    /// Validates the `target = source` tables. On failure returns every
    /// problem, each as `mappings.<entity>.<target>: <what is wrong>` (the
    /// caller adds the shop prefix).
    pub fn build(
        contact: &BTreeMap<String, String>,
        order: &BTreeMap<String, String>,
        product: &BTreeMap<String, String>,
    ) -> Result<FieldMappings, Vec<String>> {
        let mut mappings = FieldMappings::default();
        let mut problems = Vec::new();
        for (entity, table) in MappedEntity::ALL.into_iter().zip([contact, order, product]) {
            for (target, source) in table {
                let key = config_key(entity, target);
                let target_ok = match check_target(entity, target) {
                    Ok(()) => true,
                    Err(e) => {
                        problems.push(format!("{key}: {e}"));
                        false
                    }
                };
                match FieldPath::parse(entity, source) {
                    Ok(path) if target_ok => {
                        mappings.of_mut(entity).insert(target.clone(), path);
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(format!("{key}: {e}")),
                }
            }
        }
        if problems.is_empty() {
            Ok(mappings)
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self, entity: MappedEntity) -> bool {
        self.of(entity).is_empty()
    }

    /// Adds each mapped value the payload has to `properties`. A key already
    /// there is left alone: the service's own properties win (the reserved
    /// names keep them apart; this is the belt to those braces).
    pub fn apply(&self, entity: MappedEntity, raw: &Value, properties: &mut Map<String, Value>) {
        for (target, path) in self.of(entity) {
            if properties.contains_key(target) {
                continue;
            }
            if let Some(value) = path.extract(raw) {
                properties.insert(target.clone(), value);
            }
        }
    }

    /// `(target, source)` pairs, sorted by target, for printing the
    /// effective configuration.
    pub fn targets(&self, entity: MappedEntity) -> impl Iterator<Item = (&str, String)> {
        self.of(entity)
            .iter()
            .map(|(target, path)| (target.as_str(), path.to_string()))
    }

    fn of(&self, entity: MappedEntity) -> &BTreeMap<String, FieldPath> {
        match entity {
            MappedEntity::Contact => &self.contact,
            MappedEntity::Order => &self.order,
            MappedEntity::Product => &self.product,
        }
    }

    fn of_mut(&mut self, entity: MappedEntity) -> &mut BTreeMap<String, FieldPath> {
        match entity {
            MappedEntity::Contact => &mut self.contact,
            MappedEntity::Order => &mut self.order,
            MappedEntity::Product => &mut self.product,
        }
    }
}
