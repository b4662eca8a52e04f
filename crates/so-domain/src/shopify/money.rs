//! Exact money amounts.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul, Sub};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An amount in some currency, exact (Shopify sends `"404.95"`).
///
/// Parsing never goes through `f64`: strings and JSON integers are accepted,
/// JSON floats refused (the payload fields we read are all strings; a float
/// there would mean a rounding step we cannot undo). Arithmetic is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal amount: {0:?}")]
pub struct InvalidMoney(pub String);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(amount: Decimal) -> Money {
        Money(amount)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn parse(raw: &str) -> Result<Money, InvalidMoney> {
        Decimal::from_str(raw.trim())
            .map(Money)
            .map_err(|_| InvalidMoney(raw.to_owned()))
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// The amount as a JSON number for Ometria. The value is exact up to
    /// here; the only conversion is the final `f64`, whose shortest
    /// round-trip form prints the same decimal for any amount with at most
    /// 15 significant digits (every realistic price).
    pub fn to_json(self) -> serde_json::Value {
        let text = self.0.normalize().to_string();
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::String(text), serde_json::Value::Number)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Mul<u64> for Money {
    type Output = Money;
    fn mul(self, quantity: u64) -> Money {
        Money(self.0 * Decimal::from(quantity))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Money, E> {
                Err(E::custom(
                    "amount is a JSON float; expected a decimal string",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Shopify's `*_set` pair; we read the shop currency side, the one the
/// plain amount fields (`total_price`...) are expressed in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MoneySet {
    pub shop_money: MoneyAmount,
}

/// `{ "amount": "10.00", "currency_code": "USD" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MoneyAmount {
    pub amount: Money,
    #[serde(default)]
    pub currency_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_strings_exactly_and_adds_without_drift() {
        let a: Money = serde_json::from_str(r#""0.10""#).unwrap();
        let b: Money = serde_json::from_str(r#""0.20""#).unwrap();
        assert_eq!(a + b, Money::parse("0.3").unwrap());
        assert_eq!(
            Money::parse("19.99").unwrap() * 3,
            Money::parse("59.97").unwrap()
        );
    }

    #[test]
    fn refuses_json_floats_and_garbage() {
        assert!(serde_json::from_str::<Money>("89.99").is_err());
        assert!(serde_json::from_str::<Money>(r#""12,50""#).is_err());
        assert_eq!(
            serde_json::from_str::<Money>("12").unwrap(),
            Money::parse("12").unwrap()
        );
    }

    #[test]
    fn renders_as_the_same_decimal_json_number() {
        assert_eq!(
            Money::parse("404.95").unwrap().to_json().to_string(),
            "404.95"
        );
        assert_eq!(Money::parse("10.00").unwrap().to_json().to_string(), "10.0");
        assert_eq!(Money::parse("0.10").unwrap().to_json().to_string(), "0.1");
    }

    #[test]
    fn round_trips_through_its_string_form() {
        let m = Money::parse("1234.50").unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }
}
