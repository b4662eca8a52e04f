//! The common case in one pass: a body that is a JSON object, nested at
//! most [`MAX_DEPTH`] levels, valid UTF-8, whose probed fields read as
//! `T::deserialize(serde_json::Value)` reads them, without building values
//! (an order's `customer` object alone is a few hundred bytes of maps and
//! strings per webhook) and without the separate scans for depth and UTF-8.
//!
//! The body's UTF-8 is checked once, every value is checked as building a
//! `Value` checks it (numbers in range, escapes valid), and every array or
//! object counts towards the depth. Shapes whose
//! exact reading is intricate (an object in array form, a repeated key,
//! serde's raw-value marker as a key) make this reading fail, and the exact
//! one decides: it may refuse more, never route differently.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};

use super::MAX_DEPTH;
use super::probe::{Fast, Lenient, OneIdObject, Probe, ResourceId, ResourceIdVisitor};

/// The key under which `serde_json::Value` expects a raw value; the exact
/// reading treats it specially, so this one leaves it alone.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

type JsonError = serde_json::Error;

/// The probed fields of `body`, when it is a plain case (see the module).
pub(super) fn probe(body: &[u8]) -> Option<Probe<Fast>> {
    // One pass over the whole body is much cheaper than serde_json's check
    // of each string (a 15 KB order has about 1 400); a `str` reader then
    // skips those.
    let text = std::str::from_utf8(body).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let probe = de::Deserializer::deserialize_map(&mut de, TopLevel).ok()?;
    de.end().ok()?;
    Some(probe)
}

fn give_up<E: de::Error>() -> E {
    E::custom("left to the exact reading")
}

fn lenient<T>(result: Result<T, JsonError>) -> Lenient<T, Fast> {
    Lenient::new(result.map_err(|e| e.to_string()))
}

fn wrong_type<T>(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Lenient<T, Fast> {
    lenient(Err(de::Error::invalid_type(unexpected, expected)))
}

/// The body's object: the probed fields read, every other value checked.
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Probe<Fast>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe<Fast>, A::Error> {
        // The object is level 1; its values' arrays and objects level 2.
        let (id, text, at) = (IdField(2), TextField(2), Checked(2));
        let mut p = Probe::empty();
        let mut seen = 0u16;
        while let Some(field) = map.next_key_seed(FieldName)? {
            // A repeated probed key is the derived reading's error.
            if field != Field::Other && seen & field.bit() != 0 {
                return Err(give_up());
            }
            seen |= field.bit();
            match field {
                Field::Id => p.id = map.next_value_seed(Maybe(id))?,
                Field::OrderId => p.order_id = map.next_value_seed(Maybe(id))?,
                Field::CustomerId => p.customer_id = map.next_value_seed(Maybe(id))?,
                Field::CustomerGid => p.customer_gid = map.next_value_seed(Maybe(id))?,
                Field::KeptCustomerGid => p.kept_customer_gid = map.next_value_seed(Maybe(id))?,
                Field::Token => p.token = map.next_value_seed(Maybe(text))?,
                Field::CartToken => p.cart_token = map.next_value_seed(Maybe(text))?,
                Field::OrderEdit => {
                    p.order_edit = map.next_value_seed(Maybe(ObjectField::new(2)))?;
                }
                Field::Customer => p.customer = map.next_value_seed(Maybe(ObjectField::new(2)))?,
                Field::Other => map.next_value_seed(at)?,
            }
        }
        Ok(p)
    }
}

/// The top-level keys [`Probe`] reads (its serde names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    OrderId,
    CustomerId,
    CustomerGid,
    KeptCustomerGid,
    Token,
    CartToken,
    OrderEdit,
    Customer,
    Other,
}

impl Field {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

struct FieldName;

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
        Ok(match key {
            "id" => Field::Id,
            "order_id" => Field::OrderId,
            "customer_id" => Field::CustomerId,
            "customerId" => Field::CustomerGid,
            "admin_graphql_api_customer_kept_id" => Field::KeptCustomerGid,
            "token" => Field::Token,
            "cart_token" => Field::CartToken,
            "order_edit" => Field::OrderEdit,
            "customer" => Field::Customer,
            RAW_VALUE_TOKEN => return Err(give_up()),
            _ => Field::Other,
        })
    }
}

/// A key of a nested object: whether it is `Some(field)`.
struct Key(Option<&'static str>);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key == RAW_VALUE_TOKEN {
            return Err(give_up());
        }
        Ok(self.0 == Some(key))
    }
}

/// `null` as `None`, anything else read by the inner seed.
#[derive(Clone, Copy)]
struct Maybe<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Maybe<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Maybe<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// Any JSON value, checked as building a `serde_json::Value` checks it, and
/// dropped. `.0` is the level an array or object here would be.
#[derive(Clone, Copy)]
pub(super) struct Checked(usize);

impl Checked {
    /// The seed for the values inside an array or object here.
    fn inside<E: de::Error>(self) -> Result<Checked, E> {
        if self.0 > MAX_DEPTH {
            return Err(give_up());
        }
        Ok(Checked(self.0 + 1))
    }

    fn drain_map<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.inside()?;
        while map.next_key_seed(Key(None))?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }

    fn drain_seq<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.inside()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.drain_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.drain_seq(seq)
    }
}

/// A [`ResourceId`] field, as `ResourceId::deserialize(Value)` reads it.
#[derive(Clone, Copy)]
struct IdField(usize);

impl<'de> DeserializeSeed<'de> for IdField {
    type Value = Lenient<ResourceId, Fast>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdField {
    type Value = Lenient<ResourceId, Fast>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ResourceIdVisitor.expecting(f)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Bool(v), &ResourceIdVisitor))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(lenient(ResourceIdVisitor.visit_u64(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        // A `Value` keeps a non-negative integer as unsigned.
        match u64::try_from(v) {
            Ok(unsigned) => self.visit_u64(unsigned),
            Err(_) => Ok(lenient(ResourceIdVisitor.visit_i64(v))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(lenient(ResourceIdVisitor.visit_f64(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(lenient(ResourceIdVisitor.visit_str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Unit, &ResourceIdVisitor))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Checked(self.0).drain_map(map)?;
        Ok(wrong_type(Unexpected::Map, &ResourceIdVisitor))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Checked(self.0).drain_seq(seq)?;
        Ok(wrong_type(Unexpected::Seq, &ResourceIdVisitor))
    }
}

/// A string field, as `String::deserialize(Value)` reads it.
#[derive(Clone, Copy)]
struct TextField(usize);

const A_STRING: &str = "a string";

impl<'de> DeserializeSeed<'de> for TextField {
    type Value = Lenient<String, Fast>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextField {
    type Value = Lenient<String, Fast>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(A_STRING)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Bool(v), &A_STRING))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Unsigned(v), &A_STRING))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(unsigned) => self.visit_u64(unsigned),
            Err(_) => Ok(wrong_type(Unexpected::Signed(v), &A_STRING)),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Float(v), &A_STRING))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::new(Ok(v.to_owned())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(wrong_type(Unexpected::Unit, &A_STRING))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Checked(self.0).drain_map(map)?;
        Ok(wrong_type(Unexpected::Map, &A_STRING))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Checked(self.0).drain_seq(seq)?;
        Ok(wrong_type(Unexpected::Seq, &A_STRING))
    }
}

/// An object probed for one id (`customer.id`), as the derived
/// `Deserialize` reads it from a `Value`. Its array form and a repeated id
/// key are left to the exact reading.
struct ObjectField<T>(usize, PhantomData<T>);

impl<T> Clone for ObjectField<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ObjectField<T> {}

impl<T: OneIdObject<Fast>> ObjectField<T> {
    fn new(level: usize) -> Self {
        ObjectField(level, PhantomData)
    }

    fn wrong(unexpected: Unexpected<'_>) -> Lenient<T, Fast> {
        wrong_type(unexpected, &T::EXPECTED)
    }
}

impl<'de, T: OneIdObject<Fast>> DeserializeSeed<'de> for ObjectField<T> {
    type Value = Lenient<T, Fast>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: OneIdObject<Fast>> Visitor<'de> for ObjectField<T> {
    type Value = Lenient<T, Fast>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Self::wrong(Unexpected::Bool(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Self::wrong(Unexpected::Unsigned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(unsigned) => self.visit_u64(unsigned),
            Err(_) => Ok(Self::wrong(Unexpected::Signed(v))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Self::wrong(Unexpected::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::wrong(Unexpected::Str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::wrong(Unexpected::Unit))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inside = Checked(self.0).inside()?;
        let (mut id, mut seen) = (None, false);
        while let Some(is_field) = map.next_key_seed(Key(Some(T::FIELD)))? {
            if !is_field {
                map.next_value_seed(inside)?;
                continue;
            }
            if seen {
                return Err(give_up());
            }
            seen = true;
            id = map.next_value_seed(Maybe(IdField(inside.0)))?;
        }
        Ok(Lenient::new(Ok(T::with_id(id))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(give_up())
    }
}
