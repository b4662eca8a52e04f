//! Size of what was pushed to the fake Ometria, from its request log: mean
//! bytes per record (overall and per `@type`) and per request. A request
//! carries one `@type`, so a type's bytes are those of its requests (the
//! JSON array's brackets and commas included, under 0.1 % of a record).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use so_domain::ometria::RecordType;
use so_fake_ometria::RequestRecord;

use crate::stats::round2;

const TYPES: [RecordType; 4] = [
    RecordType::Contact,
    RecordType::Order,
    RecordType::Product,
    RecordType::CustomEvent,
];

/// Bytes and records of accepted push requests.
#[derive(Debug, Default)]
pub(crate) struct Sizes {
    bytes: usize,
    records: usize,
    requests: usize,
    /// Per `@type`: (bytes, records).
    by_type: BTreeMap<RecordType, (usize, usize)>,
}

impl Sizes {
    pub(crate) fn of(pushes: &[&RequestRecord]) -> Sizes {
        let mut s = Sizes::default();
        for r in pushes {
            s.bytes += r.bytes;
            s.records += r.records;
            s.requests += 1;
            if let Some(t) = r.record_type {
                let e = s.by_type.entry(t).or_default();
                e.0 += r.bytes;
                e.1 += r.records;
            }
        }
        s
    }

    fn per_record(&self) -> f64 {
        self.bytes as f64 / self.records.max(1) as f64
    }

    fn per_request(&self) -> f64 {
        self.bytes as f64 / self.requests.max(1) as f64
    }

    /// Mean bytes per record of type `t`, and how many there were.
    fn of_type(&self, t: RecordType) -> (Option<f64>, usize) {
        match self.by_type.get(&t) {
            Some(&(b, n)) if n > 0 => (Some(b as f64 / n as f64), n),
            _ => (None, 0),
        }
    }

    /// Table lines, each prefixed with `label` (e.g. "limited").
    pub(crate) fn print(&self, label: &str) {
        println!(
            "{:<52} {:>12.0}",
            format!("{label}: bytes per record"),
            self.per_record()
        );
        for t in TYPES {
            if let (Some(mean), n) = self.of_type(t) {
                println!(
                    "{:<52} {:>12.0}",
                    format!("{label}: bytes per {} record ({n} records)", t.as_str()),
                    mean
                );
            }
        }
        println!(
            "{:<52} {:>12.0}",
            format!("{label}: bytes per request"),
            self.per_request()
        );
    }

    /// `bytes_per_record`, `bytes_per_<type>_record`, `<type>_records`,
    /// `bytes_per_request`, `pushed_bytes`.
    pub(crate) fn extend(&self, json: &mut Map<String, Value>) {
        json.insert("bytes_per_record".into(), round2(self.per_record()).into());
        for t in TYPES {
            let (mean, n) = self.of_type(t);
            json.insert(
                format!("bytes_per_{}_record", t.as_str()),
                mean.map(round2).into(),
            );
            json.insert(format!("{}_records", t.as_str()), n.into());
        }
        json.insert(
            "bytes_per_request".into(),
            round2(self.per_request()).into(),
        );
        json.insert("pushed_bytes".into(), self.bytes.into());
    }
}
