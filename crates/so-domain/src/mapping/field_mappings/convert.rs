//! Metafield values converted by their Shopify `type`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Number, Value};

/// A metafield's value by its Shopify `type`. Text that does not parse as
/// its type stays text: the merchant still sees what Shopify holds.
pub(super) fn typed(kind: &str, value: &Value) -> Value {
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
