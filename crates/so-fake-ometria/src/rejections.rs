//! When and how the fake reports refused records, and the switches that make
//! it refuse them.
//!
//! Ometria answers a push `OK` once it is received and authenticated and
//! validates the records later (ometria.md §1, [C]): a refused record shows
//! only in `GET /v2/push/_errors`. That is the default here
//! ([`ValidationMode::Asynchronous`]); [`ValidationMode::Synchronous`] keeps
//! the older behaviour (size and injected refusals counted in `rejected`)
//! for the tests about that path. The item shape of `_errors` is [U] beyond
//! `{error_message, error_path}`, so both shapes are switchable
//! ([`ErrorShape`]), and a delay before errors become visible
//! ([`Validation::visible_after`]) stands for Ometria's queue.

use std::time::Duration;

use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;
use tokio::time::Instant;

use crate::validate::NOT_VALID;

/// How refused records are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Validation {
    pub mode: ValidationMode,
    pub shape: ErrorShape,
    /// Errors appear in `_errors` this long after the record was validated.
    pub visible_after: Duration,
}

/// Whether the push response counts refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationMode {
    /// `OK` with `rejected: 0`; every refusal appears only in `_errors`
    /// (Ometria's documented behaviour).
    #[default]
    Asynchronous,
    /// Over-size and injected refusals are counted in the response's
    /// `rejected` (and listed in `_errors`); field validation is still later.
    Synchronous,
}

/// The shape of one `_errors` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorShape {
    /// `{error_message, error_path}` only (ometria.md [C ERRS]): no request
    /// id, no record id.
    Documented,
    /// `{request_id, record_type, record_id, record, timestamp,
    /// message:{error_message, error_path}}` (a C# client's model, [S]).
    #[default]
    Rich,
}

/// One refused record waiting to be listed.
#[derive(Debug, Clone)]
pub(crate) struct ErrorItem {
    pub(crate) visible_at: Instant,
    pub(crate) rich: Value,
}

impl ErrorItem {
    pub(crate) fn new(
        request_id: &str,
        record_type: RecordType,
        record_id: &str,
        record: &Map<String, Value>,
        message: &str,
        path: &str,
        visible_after: Duration,
    ) -> ErrorItem {
        ErrorItem {
            visible_at: Instant::now() + visible_after,
            rich: json!({
                "request_id": request_id,
                "record_type": record_type.as_str(),
                "record_id": record_id,
                "record": record,
                "timestamp": chrono::Utc::now().to_rfc3339(),
                "message": {"error_message": message, "error_path": path},
            }),
        }
    }

    /// The item as `_errors` lists it in `shape`.
    pub(crate) fn render(&self, shape: ErrorShape) -> Value {
        match shape {
            ErrorShape::Rich => self.rich.clone(),
            ErrorShape::Documented => json!({
                "error_message": self.rich["message"]["error_message"],
                "error_path": self.rich["message"]["error_path"],
            }),
        }
    }
}

/// Refuses records that carry a non-null value at `path` (keys separated by
/// `.`, e.g. `lastname` or `properties.vip`), as Ometria refuses a value it
/// does not accept: `not a valid value` at `root > lastname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathRule {
    pub(crate) record_type: Option<RecordType>,
    pub(crate) segments: Vec<String>,
}

impl PathRule {
    pub(crate) fn parse(record_type: Option<RecordType>, path: &str) -> PathRule {
        PathRule {
            record_type,
            segments: path.split('.').map(str::to_owned).collect(),
        }
    }

    /// `(message, error_path)` when `body` breaks the rule.
    pub(crate) fn refuses(
        &self,
        record_type: RecordType,
        body: &Map<String, Value>,
    ) -> Option<(&'static str, String)> {
        if self.record_type.is_some_and(|t| t != record_type) {
            return None;
        }
        let (first, rest) = self.segments.split_first()?;
        let mut at = body.get(first)?;
        for seg in rest {
            at = at.get(seg)?;
        }
        (!at.is_null()).then(|| {
            let path = std::iter::once("root")
                .chain(self.segments.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" > ");
            (NOT_VALID, path)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::obj;

    #[test]
    fn a_path_rule_names_the_field_and_ignores_absent_or_null() {
        let rule = PathRule::parse(None, "properties.vip");
        let hit = obj(json!({"properties": {"vip": true}}));
        assert_eq!(
            rule.refuses(RecordType::Contact, &hit),
            Some((NOT_VALID, "root > properties > vip".to_owned()))
        );
        for miss in [json!({}), json!({"properties": {"vip": null}})] {
            assert_eq!(rule.refuses(RecordType::Contact, &obj(miss)), None);
        }
        let typed = PathRule::parse(Some(RecordType::Order), "properties.vip");
        assert_eq!(typed.refuses(RecordType::Contact, &hit), None);
    }

    #[test]
    fn the_documented_shape_has_no_ids_and_no_record() {
        let item = ErrorItem::new(
            "r1",
            RecordType::Contact,
            "c1",
            &obj(json!({"email": "pii@example.com"})),
            NOT_VALID,
            "root > lastname",
            Duration::ZERO,
        );
        let plain = item.render(ErrorShape::Documented);
        assert_eq!(
            plain,
            json!({"error_message": NOT_VALID, "error_path": "root > lastname"})
        );
        assert_eq!(item.render(ErrorShape::Rich)["record_id"], "c1");
    }
}
