//! Merchant field mappings: extra Shopify fields copied into the Ometria
//! `properties` of contact, order and product records, configured per shop
//! as `target property = source path`.
//!
//! Validation happens once, at start-up ([`FieldMappings::build`]), and
//! reports every problem, so a merchant fixes a config in one round. Values
//! are read from the raw webhook JSON rather than the typed payloads, because
//! merchants ask for fields (metafields, note attributes) the mappers
//! themselves never need. Syntax and rules: `docs/mapping.md`, "Merchant
//! field mappings".

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Number, Value};

/// Ometria's limit on a string property value, in characters.
const MAX_STRING_CHARS: usize = 512;
/// Ometria's limit on the items of an array property value.
const MAX_ARRAY_ITEMS: usize = 100;
/// Longest namespace, key, note attribute name or target property name.
const MAX_NAME_CHARS: usize = 64;

/// Fields of a Shopify address object a merchant may map.
const ADDRESS_FIELDS: &[&str] = &[
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "country",
    "country_code",
    "country_name",
    "zip",
    "company",
];

/// The record an extra field goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MappedEntity {
    /// From a Shopify customer payload.
    Contact,
    /// From a Shopify order payload.
    Order,
    /// From a Shopify product payload.
    Product,
}

impl MappedEntity {
    /// In config order: contact, order, product.
    pub const ALL: [MappedEntity; 3] = [
        MappedEntity::Contact,
        MappedEntity::Order,
        MappedEntity::Product,
    ];

    /// The config table name: `mappings.<entity>`.
    pub fn as_str(self) -> &'static str {
        match self {
            MappedEntity::Contact => "contact",
            MappedEntity::Order => "order",
            MappedEntity::Product => "product",
        }
    }

    /// What an entity's payload offers. One table drives both the parser and
    /// the "supported fields" list in its error, so they cannot drift apart.
    fn spec(self) -> &'static Spec {
        match self {
            MappedEntity::Contact => &CONTACT,
            MappedEntity::Order => &ORDER,
            MappedEntity::Product => &PRODUCT,
        }
    }

    /// The Ometria record's own fields: a merchant property of that name
    /// would read as a field of the record in Ometria's UI and exports.
    fn record_fields(self) -> &'static [&'static str] {
        match self {
            MappedEntity::Contact => &[
                "id",
                "email",
                "phone_number",
                "customer_id",
                "firstname",
                "lastname",
                "middlename",
                "prefix",
                "gender",
                "date_of_birth",
                "country_id",
                "timezone",
                "store_ids",
                "marketing_optin",
                "timestamp_acquired",
                "timestamp_subscribed",
                "timestamp_unsubscribed",
                "channels",
                "properties",
            ],
            MappedEntity::Order => &[
                "id",
                "timestamp",
                "grand_total",
                "subtotal",
                "discount",
                "shipping",
                "tax",
                "currency",
                "status",
                "is_valid",
                "web_id",
                "ip_address",
                "channel",
                "store",
                "payment_method",
                "shipping_method",
                "coupon_code",
                "customer",
                "billing_address",
                "shipping_address",
                "totals",
                "lineitems",
                "properties",
            ],
            MappedEntity::Product => &[
                "id",
                "title",
                "sku",
                "price",
                "special_price",
                "is_active",
                "is_variant",
                "is_in_stock",
                "url",
                "image_url",
                "currency",
                "attributes",
                "listings",
                "properties",
            ],
        }
    }
}

impl fmt::Display for MappedEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source paths an entity supports besides `metafields.<ns>.<key>` and
/// `tags`, which every entity has.
struct Spec {
    note_attributes: bool,
    discount_codes: bool,
    /// Top-level payload fields, copied as they are (within the limits).
    fields: &'static [&'static str],
    /// Address objects; each offers [`ADDRESS_FIELDS`].
    addresses: &'static [&'static str],
}

const CONTACT: Spec = Spec {
    note_attributes: false,
    discount_codes: false,
    fields: &["note", "state", "currency", "verified_email", "tax_exempt"],
    addresses: &["default_address"],
};

const ORDER: Spec = Spec {
    note_attributes: true,
    discount_codes: true,
    fields: &[
        "note",
        "source_name",
        "landing_site",
        "referring_site",
        "customer_locale",
        "financial_status",
        "fulfillment_status",
        "payment_gateway_names",
    ],
    addresses: &["shipping_address", "billing_address"],
};

const PRODUCT: Spec = Spec {
    note_attributes: false,
    discount_codes: false,
    fields: &["vendor", "product_type", "handle", "status"],
    addresses: &[],
};

impl Spec {
    /// The supported sources as a merchant would write them.
    fn describe(&self) -> String {
        let mut parts = vec!["metafields.<namespace>.<key>".to_owned()];
        if self.note_attributes {
            parts.push("note_attributes.<name>".to_owned());
        }
        parts.push("tags".to_owned());
        parts.extend(self.fields.iter().map(|f| (*f).to_owned()));
        if self.discount_codes {
            parts.push("discount_codes".to_owned());
        }
        parts.extend(self.addresses.iter().map(|a| format!("{a}.<field>")));
        let mut text = parts.join(", ");
        if !self.addresses.is_empty() {
            text.push_str("; address fields: ");
            text.push_str(&ADDRESS_FIELDS.join(", "));
        }
        text
    }
}

/// Why a mapping is refused at start-up. [`FieldMappings::build`] prefixes
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

/// A metafield's value by its Shopify `type`. Text that does not parse as
/// its type stays text: the merchant still sees what Shopify holds.
fn typed(kind: &str, value: &Value) -> Value {
    let Value::String(s) = value else {
        return value.clone();
    };
    let t = s.trim();
    let parsed = match kind {
        "number_integer" => t
            .parse::<i64>()
            .ok()
            .map(Value::from)
            .or_else(|| t.parse::<u64>().ok().map(Value::from)),
        "number_decimal" => exact_number(t),
        "boolean" => match t {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "json" => serde_json::from_str(t).ok(),
        k if k.starts_with("list.") => serde_json::from_str(t).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| value.clone())
}

/// A decimal as a JSON number only when that number is the same decimal:
/// an integer that fits 64 bits, or an `f64` whose shortest form reads back
/// as the same value. Otherwise `None` (the caller keeps the text).
fn exact_number(text: &str) -> Option<Value> {
    let decimal = Decimal::from_str_exact(text).ok()?.normalize();
    if decimal.scale() == 0
        && let Ok(i) = i64::try_from(decimal.mantissa())
    {
        return Some(Value::from(i));
    }
    let float = decimal.to_string().parse::<f64>().ok()?;
    let back = Decimal::from_str(&float.to_string()).ok()?;
    (back == decimal)
        .then(|| Number::from_f64(float))
        .flatten()
        .map(Value::Number)
}

/// Fits a value to Ometria's property rules: strings trimmed and cut at 512
/// characters, arrays cut at 100 items (items that are objects or arrays
/// become their compact JSON text), objects sent as compact JSON text (keys
/// sorted, so the same object always gives the same text).
/// Blank strings, empty arrays and empty objects are omitted.
fn limit(value: &Value) -> Option<Value> {
    match value {
        Value::Array(items) => non_empty(
            items
                .iter()
                .filter_map(scalar)
                .take(MAX_ARRAY_ITEMS)
                .collect(),
        ),
        other => scalar(other),
    }
}

/// A value that Ometria stores as one scalar.
fn scalar(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(_) | Value::Number(_) => Some(value.clone()),
        Value::String(s) => text(s).map(Value::String),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Array(_) | Value::Object(_) => Some(Value::String(truncate(value.to_string()))),
    }
}

fn non_empty(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

/// Trimmed, non-blank, within the string limit.
fn text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| truncate(s.to_owned()))
}

/// Cuts at 512 characters (Unicode scalar values), so never inside one.
fn truncate(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(MAX_STRING_CHARS) {
        s.truncate(at);
    }
    s
}

/// Why a target property name is refused, if it is.
fn check_target(entity: MappedEntity, target: &str) -> Result<(), FieldMappingError> {
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
fn config_key(entity: MappedEntity, target: &str) -> String {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            serde_json::from_str::<Value>(include_str!(concat!(
                "../../../../../shared/fixtures/shopify/",
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

    #[test]
    fn contact_sources_come_from_a_customer_payload() {
        let mut raw = fixture!("webhook-2026-07-customers__update");
        raw["metafields"] = json!([
            metafield("custom", "birthday", "date", json!("1990-04-01")),
            metafield(
                "custom",
                "loyalty_tier",
                "single_line_text_field",
                json!("gold")
            ),
        ]);
        raw["tags"] = json!("VIP, newsletter ,,");
        let got = applied(
            MappedEntity::Contact,
            &[
                ("loyalty_tier", "metafields.custom.loyalty_tier"),
                ("tags_list", "tags"),
                ("crm_note", "note"),
                ("account_state", "state"),
                ("account_currency", "currency"),
                ("email_verified", "verified_email"),
                ("exempt", "tax_exempt"),
                ("home_city", "default_address.city"),
                ("home_zip", "default_address.zip"),
                ("home_country", "default_address.country_code"),
                ("home_company", "default_address.company"),
                ("home_line2", "default_address.address2"),
            ],
            &raw,
        );
        assert_eq!(
            got,
            json!({
                "loyalty_tier": "gold",
                "tags_list": ["VIP", "newsletter"],
                "crm_note": "This customer loves ice cream",
                "account_state": "disabled",
                "account_currency": "USD",
                "email_verified": true,
                "exempt": false,
                "home_city": "Ottawa",
                "home_zip": "K2P 2L8",
                "home_country": "CA",
            })
        );
    }

    #[test]
    fn order_sources_come_from_an_order_payload() {
        let mut raw = fixture!("webhook-2026-07-orders__create");
        raw["note_attributes"] = json!([
            { "name": "gift_message", "value": "Happy birthday" },
            { "name": "Gift wrap colour", "value": "red" },
        ]);
        raw["discount_codes"] = json!([
            { "code": "SUMMER", "amount": "1.00", "type": "percentage" },
            { "code": " WELCOME ", "amount": "5.00", "type": "fixed_amount" },
        ]);
        raw["metafields"] = json!([metafield("custom", "gift", "boolean", json!("true"))]);
        let got = applied(
            MappedEntity::Order,
            &[
                ("gift_message", "note_attributes.gift_message"),
                ("wrap", "note_attributes.\"Gift wrap colour\""),
                ("is_gift", "metafields.custom.gift"),
                ("order_tags", "tags"),
                ("order_note", "note"),
                ("source", "source_name"),
                ("landing", "landing_site"),
                ("referrer", "referring_site"),
                ("locale", "customer_locale"),
                ("financial", "financial_status"),
                ("fulfilment", "fulfillment_status"),
                ("gateways", "payment_gateway_names"),
                ("codes", "discount_codes"),
                ("ship_city", "shipping_address.city"),
                ("ship_line2", "shipping_address.address2"),
                ("bill_province", "billing_address.province_code"),
                ("bill_company", "billing_address.company"),
            ],
            &raw,
        );
        assert_eq!(
            got,
            json!({
                "gift_message": "Happy birthday",
                "wrap": "red",
                "is_gift": true,
                "order_tags": ["tag1", "tag2"],
                "source": "web",
                "locale": "en",
                "financial": "voided",
                "gateways": ["visa", "bogus"],
                "codes": ["SUMMER", "WELCOME"],
                "ship_city": "Shippington",
                "bill_province": "KY",
                "bill_company": "Shipping Company",
            })
        );
    }

    #[test]
    fn product_sources_come_from_a_product_payload() {
        let mut raw = fixture!("webhook-2026-07-products__update");
        raw["metafields"] = json!([metafield(
            "descriptors",
            "care_guide",
            "multi_line_text_field",
            json!("Wash cold")
        ),]);
        let got = applied(
            MappedEntity::Product,
            &[
                ("brand", "vendor"),
                ("category", "product_type"),
                ("product_tags", "tags"),
                ("slug", "handle"),
                ("lifecycle", "status"),
                ("care", "metafields.descriptors.care_guide"),
            ],
            &raw,
        );
        assert_eq!(
            got,
            json!({
                "brand": "Acme",
                "category": "Shirts",
                "product_tags": ["example", "mens", "t-shirt"],
                "slug": "example-t-shirt",
                "lifecycle": "active",
                "care": "Wash cold",
            })
        );
    }

    #[test]
    fn metafields_are_typed_by_their_shopify_type() {
        let cases = [
            ("number_integer", json!("42"), json!(42)),
            ("number_integer", json!("-7"), json!(-7)),
            ("number_integer", json!("4.2"), json!("4.2")),
            ("number_decimal", json!("12.50"), json!(12.5)),
            ("number_decimal", json!("3"), json!(3)),
            // More digits than an f64 holds: kept exact, as text.
            (
                "number_decimal",
                json!("0.1234567890123456789"),
                json!("0.1234567890123456789"),
            ),
            ("number_decimal", json!("lots"), json!("lots")),
            ("boolean", json!("true"), json!(true)),
            ("boolean", json!("false"), json!(false)),
            ("boolean", json!("yes"), json!("yes")),
            ("json", json!("[1, \"a\"]"), json!([1, "a"])),
            // An object is not sent as an object: compact JSON text.
            ("json", json!("{ \"a\": 1 }"), json!("{\"a\":1}")),
            ("json", json!("{not json"), json!("{not json")),
            (
                "list.single_line_text_field",
                json!("[\"red\",\"blue\"]"),
                json!(["red", "blue"]),
            ),
            ("list.number_integer", json!("[1,2,3]"), json!([1, 2, 3])),
            (
                "list.dimension",
                json!("[{\"value\":2.5,\"unit\":\"cm\"}]"),
                // Keys come out sorted: serde_json keeps no order.
                json!(["{\"unit\":\"cm\",\"value\":2.5}"]),
            ),
            (
                "money",
                json!("{\"amount\":\"5.99\",\"currency_code\":\"GBP\"}"),
                json!("{\"amount\":\"5.99\",\"currency_code\":\"GBP\"}"),
            ),
            ("date", json!("2024-05-01"), json!("2024-05-01")),
            ("single_line_text_field", json!(" gold "), json!("gold")),
            // Already typed in the payload: kept.
            ("number_integer", json!(5), json!(5)),
        ];
        for (kind, value, want) in cases {
            assert_eq!(
                typed_value(kind, value.clone()),
                Some(want),
                "{kind} {value}"
            );
        }
    }

    #[test]
    fn missing_null_and_blank_values_are_omitted() {
        for (kind, value) in [
            ("single_line_text_field", json!("  ")),
            ("single_line_text_field", Value::Null),
            ("list.single_line_text_field", json!("[]")),
            ("json", json!("{}")),
        ] {
            assert_eq!(typed_value(kind, value.clone()), None, "{kind} {value}");
        }
        let raw = json!({
            "tags": " , ",
            "note": "",
            "note_attributes": [{ "name": "gift_message", "value": null }],
            "discount_codes": [{ "code": "" }],
            "payment_gateway_names": [],
            "shipping_address": null,
            "metafields": [metafield("custom", "other", "boolean", json!("true"))],
        });
        let got = applied(
            MappedEntity::Order,
            &[
                ("a", "tags"),
                ("b", "note"),
                ("c", "note_attributes.gift_message"),
                ("d", "discount_codes"),
                ("e", "payment_gateway_names"),
                ("f", "shipping_address.city"),
                ("g", "billing_address.city"),
                ("h", "metafields.custom.gift"),
                ("i", "source_name"),
            ],
            &raw,
        );
        assert_eq!(got, json!({}));
        // A payload without `metafields` at all (no namespaces subscribed).
        let got = applied(
            MappedEntity::Product,
            &[("care", "metafields.custom.care")],
            &json!({ "vendor": "Acme" }),
        );
        assert_eq!(got, json!({}));
    }

    #[test]
    fn strings_are_cut_at_512_characters_on_a_char_boundary() {
        // "€" is three bytes: byte 512 falls inside one.
        let long = format!("a{}", "€".repeat(600));
        let raw = json!({
            "note": long,
            "tags": format!("{long}, short"),
            "note_attributes": [{ "name": "big", "value": { "text": long } }],
        });
        let got = applied(
            MappedEntity::Order,
            &[("n", "note"), ("t", "tags"), ("o", "note_attributes.big")],
            &raw,
        );
        let want = format!("a{}", "€".repeat(511));
        assert_eq!(got["n"], json!(want));
        assert_eq!(got["t"], json!([want, "short"]));
        let object_text = got["o"].as_str().expect("object sent as text");
        assert_eq!(object_text.chars().count(), 512);
        assert!(object_text.starts_with("{\"text\":\"a€"));
    }

    #[test]
    fn arrays_are_cut_at_100_items() {
        let tags: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
        let list: Vec<Value> = (0..150).map(Value::from).collect();
        let raw = json!({
            "tags": tags.join(","),
            "metafields": [metafield(
                "custom", "sizes", "list.number_integer", json!(Value::Array(list).to_string())
            )],
        });
        let got = applied(
            MappedEntity::Product,
            &[("t", "tags"), ("s", "metafields.custom.sizes")],
            &raw,
        );
        let t = got["t"].as_array().expect("array");
        assert_eq!(t.len(), 100);
        assert_eq!(t[99], json!("t99"));
        let s = got["s"].as_array().expect("array");
        assert_eq!(s.len(), 100);
        assert_eq!(s[99], json!(99));
    }

    #[test]
    fn apply_never_overwrites_a_property_the_service_set() {
        let mut properties = Map::new();
        properties.insert("brand".to_owned(), json!("set by the service"));
        mappings(
            MappedEntity::Product,
            &[("brand", "vendor"), ("kind", "product_type")],
        )
        .apply(
            MappedEntity::Product,
            &json!({ "vendor": "Acme", "product_type": "Shirts" }),
            &mut properties,
        );
        assert_eq!(
            Value::Object(properties),
            json!({ "brand": "set by the service", "kind": "Shirts" })
        );
    }

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
}
