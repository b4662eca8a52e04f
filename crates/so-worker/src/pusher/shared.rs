//! Product records shared between submissions: a copy identical to one
//! waiting or in flight rides with it.

use std::collections::{HashMap, VecDeque};

use so_domain::ometria::{PushRecord, RecordType};
use so_ometria::Coalescing;

/// Product records shared between submissions. Several batches often need
/// the same minimal product ahead of their orders at the same moment (no
/// batch has seen the others' yet); a copy identical to one already waiting
/// or in flight rides with it and gets its answer, instead of costing a
/// request of its own (records of one id never share a request).
pub(super) struct Shared {
    /// Off: every record is queued, none rides.
    pub(super) coalescing: Coalescing,
    next_request: u64,
    /// Riders on a product record still in its queue, by record key.
    waiting: HashMap<crate::deliver::RecordKey, Vec<(u64, PushRecord)>>,
    /// Product records in flight: their request and body.
    flying: HashMap<crate::deliver::RecordKey, (u64, PushRecord)>,
    /// Riders per request in flight.
    riders: HashMap<u64, Vec<(u64, PushRecord)>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            coalescing: Coalescing::ByKey,
            next_request: 0,
            waiting: HashMap::new(),
            flying: HashMap::new(),
            riders: HashMap::new(),
        }
    }
}

impl Shared {
    pub(super) fn new(coalescing: Coalescing) -> Shared {
        Shared {
            coalescing,
            ..Shared::default()
        }
    }

    /// Attaches `record` (of submission `owner`) to an identical product
    /// record waiting in `queue` or in flight; gives it back when there is
    /// none, to be queued.
    pub(super) fn ride(
        &mut self,
        queue: &VecDeque<(u64, PushRecord)>,
        owner: u64,
        record: PushRecord,
    ) -> Option<PushRecord> {
        if record.record_type != RecordType::Product || self.coalescing == Coalescing::Off {
            return Some(record);
        }
        let key = crate::deliver::key(&record);
        if let Some((request, host)) = self.flying.get(&key)
            && host.body == record.body
        {
            self.riders
                .entry(*request)
                .or_default()
                .push((owner, record));
            return None;
        }
        let queued = queue
            .iter()
            .any(|(_, q)| crate::deliver::key(q) == key && q.body == record.body);
        if queued {
            self.waiting.entry(key).or_default().push((owner, record));
            return None;
        }
        Some(record)
    }

    /// A request leaves with `taken`: its number; riders of its records
    /// board it.
    pub(super) fn board(&mut self, taken: &[(u64, PushRecord)]) -> u64 {
        let request = self.next_request;
        self.next_request += 1;
        for (_, r) in taken
            .iter()
            .filter(|(_, r)| r.record_type == RecordType::Product)
        {
            let key = crate::deliver::key(r);
            if let Some(riders) = self.waiting.remove(&key) {
                self.riders.entry(request).or_default().extend(riders);
            }
            self.flying.insert(key, (request, r.clone()));
        }
        request
    }

    /// `request` was answered: its riders, to be answered alike.
    pub(super) fn landed(
        &mut self,
        request: u64,
        taken: &[(u64, PushRecord)],
    ) -> Vec<(u64, PushRecord)> {
        for (_, r) in taken
            .iter()
            .filter(|(_, r)| r.record_type == RecordType::Product)
        {
            let key = crate::deliver::key(r);
            if self.flying.get(&key).is_some_and(|(q, _)| *q == request) {
                self.flying.remove(&key);
            }
        }
        self.riders.remove(&request).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use so_domain::ometria::{PushRecord, RecordType};

    use super::Shared;

    fn record(record_type: RecordType, id: &str, title: &str) -> PushRecord {
        let mut body = serde_json::Map::new();
        body.insert("title".into(), title.into());
        PushRecord {
            record_type,
            id: id.to_owned(),
            body,
        }
    }

    #[test]
    fn an_identical_product_rides_with_the_one_waiting_or_in_flight() {
        let mut shared = Shared::default();
        let p = record(RecordType::Product, "p1", "Tee");
        let mut queue = VecDeque::new();
        assert!(
            shared.ride(&queue, 0, p.clone()).is_some(),
            "the first is queued"
        );
        queue.push_back((0, p.clone()));
        assert!(shared.ride(&queue, 1, p.clone()).is_none(), "a copy rides");
        let other = record(RecordType::Product, "p1", "Tee, renamed");
        assert!(
            shared.ride(&queue, 2, other).is_some(),
            "a different body is queued"
        );
        let order = record(RecordType::Order, "o1", "x");
        queue.push_back((0, order.clone()));
        assert!(
            shared.ride(&queue, 3, order).is_some(),
            "only products ride"
        );

        let taken: Vec<_> = queue.drain(..1).collect();
        let request = shared.board(&taken);
        assert!(
            shared.ride(&queue, 4, p.clone()).is_none(),
            "rides the flight too"
        );
        let riders: Vec<u64> = shared
            .landed(request, &taken)
            .into_iter()
            .map(|(owner, _)| owner)
            .collect();
        assert_eq!(riders, [1, 4], "both copies get the request's answer");
        assert!(
            shared.ride(&queue, 5, p).is_some(),
            "after landing, queued again"
        );
    }

    #[test]
    fn without_coalescing_no_product_rides() {
        let mut shared = Shared {
            coalescing: so_ometria::Coalescing::Off,
            ..Shared::default()
        };
        let p = record(RecordType::Product, "p1", "Tee");
        let queue = VecDeque::from([(0, p.clone())]);
        assert!(shared.ride(&queue, 1, p).is_some(), "queued, not riding");
    }
}
