//! Target property names: which are refused, and how a config key is quoted.

use super::entity::MappedEntity;
use super::error::FieldMappingError;
use super::limits::MAX_NAME_CHARS;

/// Why a target property name is refused, if it is.
pub(super) fn check_target(entity: MappedEntity, target: &str) -> Result<(), FieldMappingError> {
    let reserved = |why| FieldMappingError::ReservedTarget {
        target: target.to_owned(),
        why,
    };
    if target.starts_with('@') {
        return Err(reserved("Ometria's own keys start with @"));
    }
    if target.starts_with("shopify_") {
        return Err(reserved("the service's own properties start with shopify_"));
    }
    let mut chars = target.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && target.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(FieldMappingError::InvalidTarget {
            target: target.to_owned(),
        });
    }
    if entity.record_fields().contains(&target) {
        return Err(FieldMappingError::OmetriaField {
            entity,
            target: target.to_owned(),
        });
    }
    Ok(())
}

/// The config key of a mapping, quoted as TOML would need it.
pub(super) fn config_key(entity: MappedEntity, target: &str) -> String {
    let bare = !target.is_empty()
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        format!("mappings.{entity}.{target}")
    } else {
        format!("mappings.{entity}.{target:?}")
    }
}
