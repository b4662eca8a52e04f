//! Every applied write, in the order the fake applied it: the evidence a
//! test counts deliveries and doubles from. The distinct-record view
//! (`count`, `record`) cannot show a record written twice, nor a version
//! that an update overwrote; this log keeps both.
//!
//! A write's *version* is the value the pushed record carried at a path the
//! test names ([`FakeOmetria::version_writes_by`]), e.g. `email` or
//! `properties.version` for a case that sets a distinct value per entity
//! version; a record type can have a path of its own
//! ([`FakeOmetria::version_writes_of`]), for a test whose types carry their
//! versions in different fields. Entries are small (no bodies), but a log grows with every write,
//! so it is kept only once a test asks for it ([`FakeOmetria::log_writes`]
//! or `version_writes_by`): a soak's memory stays the service's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use so_domain::ometria::RecordType;
use tokio::time::Instant;

use crate::records::RecordKey;
use crate::server::FakeOmetria;

/// One applied write.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedWrite {
    /// Position in the log, from 0.
    pub seq: usize,
    /// The record written.
    pub key: RecordKey,
    /// The pushed value at the version path, as text (`None` if no path is
    /// set or the record did not carry it).
    pub version: Option<String>,
    /// Monotonic time the write was applied.
    pub at: Instant,
    /// Wall-clock time the write was applied.
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub(crate) struct WriteLog {
    on: bool,
    entries: Vec<AppliedWrite>,
    version_path: Vec<String>,
    /// Paths of record types that have their own, over `version_path`.
    type_paths: HashMap<RecordType, Vec<String>>,
}

impl WriteLog {
    /// Logs a write of `body` (as pushed) to `key`.
    pub(crate) fn record(&mut self, key: &RecordKey, body: &Map<String, Value>) {
        if !self.on {
            return;
        }
        let version = self.version_of(key.record_type, body);
        self.entries.push(AppliedWrite {
            seq: self.entries.len(),
            key: key.clone(),
            version,
            at: Instant::now(),
            timestamp: Utc::now(),
        });
    }

    fn version_of(&self, record_type: RecordType, body: &Map<String, Value>) -> Option<String> {
        let path = self
            .type_paths
            .get(&record_type)
            .unwrap_or(&self.version_path);
        let (first, rest) = path.split_first()?;
        let mut value = body.get(first)?;
        for step in rest {
            value = value.get(step)?;
        }
        match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

impl FakeOmetria {
    /// Logs every later write (without versions).
    pub fn log_writes(&self) {
        self.shared.lock().writes.on = true;
    }

    /// Logs every later write with the pushed value at this dotted path
    /// (`email`, `properties.version`) as its version.
    pub fn version_writes_by(&self, path: &str) {
        let mut s = self.shared.lock();
        s.writes.on = true;
        s.writes.version_path = path.split('.').map(str::to_owned).collect();
    }

    /// Logs every later write, and takes the versions of `record_type`'s
    /// writes from this dotted path instead of the one
    /// [`FakeOmetria::version_writes_by`] names.
    pub fn version_writes_of(&self, record_type: RecordType, path: &str) {
        let mut s = self.shared.lock();
        s.writes.on = true;
        s.writes
            .type_paths
            .insert(record_type, path.split('.').map(str::to_owned).collect());
    }

    /// Every write applied since the log was turned on, in order.
    pub fn write_log(&self) -> Vec<AppliedWrite> {
        self.shared.lock().writes.entries.clone()
    }

    /// How many writes the log holds (cheaper than the whole log).
    pub fn writes_applied(&self) -> usize {
        self.shared.lock().writes.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::records::obj;

    fn key_of_nothing() -> RecordKey {
        RecordKey {
            record_type: RecordType::Contact,
            collection: None,
            id: "0".to_owned(),
        }
    }

    #[test]
    fn a_write_carries_the_value_at_the_version_path() {
        let mut log = WriteLog::default();
        log.record(&key_of_nothing(), &Map::new());
        assert!(log.entries.is_empty(), "off until asked for");
        log.on = true;
        let body = obj(json!({"id": "7", "email": "a@x", "properties": {"version": 3}}));
        let key = RecordKey::of(RecordType::Contact, &body).unwrap();
        log.record(&key, &body);
        log.version_path = vec!["properties".into(), "version".into()];
        log.record(&key, &body);
        log.record(&key, &obj(json!({"id": "7"})));
        let versions: Vec<_> = log.entries.iter().map(|w| w.version.clone()).collect();
        assert_eq!(versions, [None, Some("3".to_owned()), None]);
        assert_eq!(log.entries[2].seq, 2);
    }

    #[test]
    fn a_record_type_with_a_path_of_its_own_is_versioned_by_it() {
        let mut log = WriteLog {
            on: true,
            version_path: vec!["email".into()],
            ..WriteLog::default()
        };
        log.type_paths
            .insert(RecordType::Order, vec!["web_id".into()]);
        let contact = obj(json!({"id": "7", "email": "a@x", "web_id": "no"}));
        let order = obj(json!({"id": "8", "email": "b@x", "web_id": "#8/2"}));
        log.record(
            &RecordKey::of(RecordType::Contact, &contact).unwrap(),
            &contact,
        );
        log.record(&RecordKey::of(RecordType::Order, &order).unwrap(), &order);
        let versions: Vec<_> = log.entries.iter().map(|w| w.version.clone()).collect();
        assert_eq!(versions, [Some("a@x".to_owned()), Some("#8/2".to_owned())]);
    }
}
