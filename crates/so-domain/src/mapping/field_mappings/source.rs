//! Source paths: parsing, printing and reading a value from a payload.

use std::fmt;

use serde_json::Value;

use super::convert::typed;
use super::entity::{ADDRESS_FIELDS, MappedEntity};
use super::error::FieldMappingError;
use super::limits::{MAX_ARRAY_ITEMS, MAX_NAME_CHARS, limit, non_empty, text};

/// A validated source path: where in the payload a mapped value comes from.
///
/// Syntax: segments separated by `.`. A segment is letters, digits, `_` and
/// `-`, or a double-quoted name (no `"` inside, no escapes) for note
/// attribute names with spaces: `note_attributes."Gift message"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Source);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// `metafields[]` entry matching namespace and key exactly.
    Metafield { namespace: String, key: String },
    /// `note_attributes[]` entry whose `name` matches exactly.
    NoteAttribute(String),
    /// Shopify's comma-separated `tags`.
    Tags,
    /// The `code`s of `discount_codes[]`.
    DiscountCodes,
    /// A top-level field.
    Field(&'static str),
    /// A field of an address object.
    Address {
        address: &'static str,
        field: &'static str,
    },
}

/// One `.`-separated piece of a source path.
struct Segment<'a> {
    text: &'a str,
    quoted: bool,
}

impl FieldPath {
    /// Parses a source path for `entity`. Surrounding whitespace is ignored.
    pub fn parse(entity: MappedEntity, path: &str) -> Result<FieldPath, FieldMappingError> {
        let path = path.trim();
        let malformed = |reason| FieldMappingError::MalformedSource {
            path: path.to_owned(),
            reason,
        };
        let unknown = || FieldMappingError::UnknownSource {
            entity,
            path: path.to_owned(),
        };
        let spec = entity.spec();
        let segments = segments(path).map_err(malformed)?;
        let Some((head, rest)) = segments.split_first() else {
            return Err(unknown());
        };
        let source = match (head.text, rest) {
            ("metafields", [namespace, key]) => Source::Metafield {
                namespace: identifier(namespace.text).ok_or_else(|| {
                    malformed("the namespace must be 1 to 64 letters, digits, _ or -")
                })?,
                key: identifier(key.text)
                    .ok_or_else(|| malformed("the key must be 1 to 64 letters, digits, _ or -"))?,
            },
            ("metafields", _) => return Err(malformed("expected metafields.<namespace>.<key>")),
            ("note_attributes", [name]) if spec.note_attributes => {
                Source::NoteAttribute(note_attribute_name(name).map_err(malformed)?)
            }
            ("note_attributes", _) if spec.note_attributes => {
                return Err(malformed("expected note_attributes.<name>"));
            }
            ("tags", []) => Source::Tags,
            ("discount_codes", []) if spec.discount_codes => Source::DiscountCodes,
            (name, []) => Source::Field(known(spec.fields, name).ok_or_else(unknown)?),
            (address, [field]) => Source::Address {
                address: known(spec.addresses, address).ok_or_else(unknown)?,
                field: known(ADDRESS_FIELDS, field.text).ok_or_else(unknown)?,
            },
            _ => return Err(unknown()),
        };
        Ok(FieldPath(source))
    }

    /// The value for Ometria, within its limits, or `None` when the payload
    /// has nothing (absent, `null`, blank): Ometria merges pushed fields, so
    /// an omitted property keeps its last value where `null` or `""` would
    /// overwrite it.
    pub fn extract(&self, raw: &Value) -> Option<Value> {
        match &self.0 {
            Source::Metafield { namespace, key } => {
                let entry = raw.get("metafields")?.as_array()?.iter().find(|m| {
                    m.get("namespace").and_then(Value::as_str) == Some(namespace.as_str())
                        && m.get("key").and_then(Value::as_str) == Some(key.as_str())
                })?;
                let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
                limit(&typed(kind, entry.get("value")?))
            }
            Source::NoteAttribute(name) => {
                let entry = raw
                    .get("note_attributes")?
                    .as_array()?
                    .iter()
                    .find(|a| a.get("name").and_then(Value::as_str) == Some(name.as_str()))?;
                limit(entry.get("value")?)
            }
            Source::Tags => match raw.get("tags")? {
                Value::String(csv) => non_empty(
                    csv.split(',')
                        .filter_map(|t| text(t).map(Value::String))
                        .take(MAX_ARRAY_ITEMS)
                        .collect(),
                ),
                other => limit(other),
            },
            Source::DiscountCodes => non_empty(
                raw.get("discount_codes")?
                    .as_array()?
                    .iter()
                    .filter_map(|d| d.get("code").and_then(Value::as_str).and_then(text))
                    .map(Value::String)
                    .take(MAX_ARRAY_ITEMS)
                    .collect(),
            ),
            Source::Field(field) => limit(raw.get(*field)?),
            Source::Address { address, field } => limit(raw.get(*address)?.get(*field)?),
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Metafield { namespace, key } => write!(f, "metafields.{namespace}.{key}"),
            Source::NoteAttribute(name) if identifier(name).is_some() => {
                write!(f, "note_attributes.{name}")
            }
            Source::NoteAttribute(name) => write!(f, "note_attributes.\"{name}\""),
            Source::Tags => f.write_str("tags"),
            Source::DiscountCodes => f.write_str("discount_codes"),
            Source::Field(field) => f.write_str(field),
            Source::Address { address, field } => write!(f, "{address}.{field}"),
        }
    }
}

/// Splits on `.` outside double quotes. Never empty: `""` is one empty
/// segment, which no rule accepts.
fn segments(path: &str) -> Result<Vec<Segment<'_>>, &'static str> {
    let mut out = Vec::new();
    let mut rest = path;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some((name, after)) = quoted.split_once('"') else {
                return Err("a quoted name has no closing \"");
            };
            out.push(Segment {
                text: name,
                quoted: true,
            });
            if after.is_empty() {
                return Ok(out);
            }
            rest = after
                .strip_prefix('.')
                .ok_or("a quoted name must be followed by . or end the path")?;
        } else if let Some((bare, after)) = rest.split_once('.') {
            out.push(Segment {
                text: bare,
                quoted: false,
            });
            rest = after;
        } else {
            out.push(Segment {
                text: rest,
                quoted: false,
            });
            return Ok(out);
        }
    }
}

/// 1–64 letters, digits, `_` or `-`: Shopify's metafield namespace and key
/// alphabet.
fn identifier(text: &str) -> Option<String> {
    let valid = (1..=MAX_NAME_CHARS).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| text.to_owned())
}

/// A bare name follows [`identifier`]; a quoted one may hold anything but
/// control characters, as Shopify's cart attribute names do.
fn note_attribute_name(segment: &Segment<'_>) -> Result<String, &'static str> {
    if !segment.quoted {
        return identifier(segment.text).ok_or(
            "the name must be 1 to 64 letters, digits, _ or - (quote other names: note_attributes.\"Gift message\")",
        );
    }
    let chars = segment.text.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&chars)
        && !segment.text.trim().is_empty()
        && !segment.text.chars().any(char::is_control);
    if valid {
        Ok(segment.text.to_owned())
    } else {
        Err("a quoted name must be 1 to 64 characters, not blank, without control characters")
    }
}

fn known(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|k| *k == name)
}
