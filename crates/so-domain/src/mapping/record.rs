//! Building one Ometria record body.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::{Map, Value};

use super::MappingError;
use crate::ometria::{MAX_RECORD_BYTES, PushRecord, RecordType};

/// A record under construction: `@type` and `id` are set first, so every
/// record has them. Absent values are skipped, never sent as `null`
/// (Ometria merges pushed fields, so omitting keeps what it has).
#[derive(Debug)]
pub(crate) struct Record {
    record_type: RecordType,
    id: String,
    body: Map<String, Value>,
}

impl Record {
    pub(crate) fn new(record_type: RecordType, id: String) -> Record {
        let mut body = Map::new();
        body.insert("@type".to_owned(), Value::from(record_type.as_str()));
        body.insert("id".to_owned(), Value::from(id.as_str()));
        Record {
            record_type,
            id,
            body,
        }
    }

    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.body.insert(key.to_owned(), value.into());
    }

    pub(crate) fn set_opt(&mut self, key: &str, value: Option<impl Into<Value>>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.body.get(key)
    }

    /// Sets trimmed text; skips `None` and blank strings.
    pub(crate) fn set_text(&mut self, key: &str, value: Option<&str>) {
        self.set_opt(key, text(value));
    }

    /// Checks Ometria's 60 KB per-record limit here rather than letting
    /// Ometria reject it asynchronously where nobody sees it.
    pub(crate) fn finish(self) -> Result<PushRecord, MappingError> {
        let bytes = serde_json::to_vec(&self.body).map_or(usize::MAX, |v| v.len());
        if bytes > MAX_RECORD_BYTES {
            return Err(MappingError::RecordTooLarge {
                record_type: self.record_type,
                id: self.id,
                bytes,
            });
        }
        Ok(PushRecord {
            record_type: self.record_type,
            id: self.id,
            body: self.body,
        })
    }
}

/// Trimmed, non-blank text.
pub(crate) fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// ISO 8601 with the offset Shopify sent (keeps the shop's local day).
pub(crate) fn timestamp(at: &DateTime<FixedOffset>) -> Value {
    Value::from(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A JSON object from pairs, skipping absent values.
pub(crate) fn object<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Option<Value> {
    let map: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    (!map.is_empty()).then_some(Value::Object(map))
}
