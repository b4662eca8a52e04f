//! Why a mapping is refused.

use super::entity::MappedEntity;

/// Why a mapping is refused at start-up. [`FieldMappings::build`](super::FieldMappings::build) prefixes
/// each with the config key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldMappingError {
    /// Not a source this entity supports; the message lists those that are.
    #[error("unknown source field {path:?} ({entity} fields: {})", entity.spec().describe())]
    UnknownSource { entity: MappedEntity, path: String },
    /// A supported kind of source, written wrongly (a bad namespace, key or
    /// name, an unclosed quote).
    #[error("source field {path:?}: {reason}")]
    MalformedSource { path: String, reason: &'static str },
    #[error(
        "{target:?} is not a valid property name (a lower-case letter, then up to 63 lower-case letters, digits or _)"
    )]
    /// Not `^[a-z][a-z0-9_]{0,63}$`.
    InvalidTarget { target: String },
    /// `@…` (Ometria's) or `shopify_…` (the service's own properties).
    #[error("{target:?} is reserved ({why})")]
    ReservedTarget { target: String, why: &'static str },
    /// A field of the Ometria record itself.
    #[error("{target:?} is an Ometria {entity} field")]
    OmetriaField {
        entity: MappedEntity,
        target: String,
    },
}
