//! Per-event accounting of the delivery benchmark, from the fake Ometria's
//! write log rather than from its final state: the final state shows that
//! an order exists, not that each of its events got there.
//!
//! Each order event is stamped with its step in the order's lifecycle
//! (1 create, 2 paid, 3 updated, 4 fulfilled) in the order's `name`, which
//! the service pushes as `web_id`; the fake logs that value as the write's
//! version. An order event is then *written* (a write carried its step),
//! *superseded* (a later step of the same order was written: the service
//! may coalesce or drop an older version, by design) or *lost*. A refund's
//! push is the stored order with the refund applied and carries no `web_id`
//! of its own (it may also ride in the same push as the order's last step),
//! so a refund counts as written if the order the fake holds shows it
//! (status `partial_refund`), else lost.

use std::collections::{HashMap, HashSet};

use so_domain::ometria::RecordType;
use so_fake_ometria::{AppliedWrite, FakeOmetria};

use crate::events::LifecycleEvent;

/// The path the fake logs as a write's version.
pub(crate) const VERSION_PATH: &str = "web_id";

/// What one preloaded or acknowledged event should have caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) order_id: u64,
    /// The lifecycle step; `None` for a refund.
    pub(crate) step: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Accounts {
    pub(crate) events: u64,
    pub(crate) written: u64,
    pub(crate) superseded: u64,
    pub(crate) lost: u64,
    /// Writes of an (order, step) beyond the first.
    pub(crate) doubles: u64,
}

impl Accounts {
    pub(crate) fn add(&mut self, o: &Accounts) {
        self.events += o.events;
        self.written += o.written;
        self.superseded += o.superseded;
        self.lost += o.lost;
        self.doubles += o.doubles;
    }
}

/// Stamps each order event's `name` with its step; returns what each event
/// should cause, in the same order.
pub(crate) fn stamp(evs: &mut [LifecycleEvent]) -> anyhow::Result<Vec<Expected>> {
    let mut steps: HashMap<u64, u32> = HashMap::new();
    let mut out = Vec::with_capacity(evs.len());
    for e in evs.iter_mut() {
        if !e.topic.starts_with("orders/") {
            out.push(Expected {
                order_id: e.order_id,
                step: None,
            });
            continue;
        }
        let step = steps.entry(e.order_id).or_insert(0);
        *step += 1;
        let mut v: serde_json::Value = serde_json::from_slice(&e.body)?;
        if let Some(obj) = v.as_object_mut() {
            let name = format!("#{}/{}", e.order_id % 100_000, step);
            obj.insert("name".into(), name.into());
        }
        e.body = serde_json::to_vec(&v)?;
        out.push(Expected {
            order_id: e.order_id,
            step: Some(*step),
        });
    }
    Ok(out)
}

fn step_of(version: &str) -> Option<u32> {
    version.rsplit_once('/')?.1.parse().ok()
}

/// Writes per (order id, step), from the log.
fn writes(log: &[AppliedWrite]) -> HashMap<(String, u32), u64> {
    let mut out = HashMap::new();
    for w in log
        .iter()
        .filter(|w| w.key.record_type == RecordType::Order)
    {
        if let Some(step) = w.version.as_deref().and_then(step_of) {
            *out.entry((w.key.id.clone(), step)).or_insert(0) += 1;
        }
    }
    out
}

/// Accounts for `expected` against the write log; `refunded(order id)`
/// says whether the fake's order shows its refund.
pub(crate) fn account(
    expected: &[Expected],
    log: &[AppliedWrite],
    refunded: impl Fn(&str) -> bool,
) -> Accounts {
    let writes = writes(log);
    let mut newest: HashMap<&str, u32> = HashMap::new();
    for (id, step) in writes.keys() {
        let top = newest.entry(id.as_str()).or_insert(0);
        *top = (*top).max(*step);
    }
    let orders: HashSet<String> = expected.iter().map(|e| e.order_id.to_string()).collect();
    let mut a = Accounts {
        doubles: writes
            .iter()
            .filter(|((id, _), _)| orders.contains(id))
            .map(|(_, n)| n.saturating_sub(1))
            .sum(),
        ..Accounts::default()
    };
    for e in expected {
        a.events += 1;
        let id = e.order_id.to_string();
        match e.step {
            None if refunded(&id) => a.written += 1,
            None => a.lost += 1,
            Some(step) if writes.contains_key(&(id.clone(), step)) => a.written += 1,
            Some(step) if newest.get(id.as_str()).is_some_and(|n| *n > step) => {
                a.superseded += 1;
            }
            Some(_) => a.lost += 1,
        }
    }
    a
}

/// Turns the fake's write log on with the versions [`account`] reads.
pub(crate) fn watch(fake: &FakeOmetria) {
    fake.version_writes_by(VERSION_PATH);
}

/// [`account`] against `fake`'s log and final orders.
pub(crate) fn account_fake(expected: &[Expected], fake: &FakeOmetria) -> Accounts {
    account(expected, &fake.write_log(), |id| {
        fake.record(RecordType::Order, id)
            .and_then(|r| r.get("status").and_then(|s| s.as_str()).map(str::to_owned))
            .is_some_and(|s| s == "partial_refund" || s == "refunded")
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use so_fake_ometria::RecordKey;
    use tokio::time::Instant;

    use super::*;
    use crate::events;

    fn write(id: &str, version: Option<&str>) -> AppliedWrite {
        AppliedWrite {
            seq: 0,
            key: RecordKey {
                record_type: RecordType::Order,
                collection: None,
                id: id.to_owned(),
            },
            version: version.map(str::to_owned),
            at: Instant::now(),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn stamping_numbers_each_orders_events() {
        let mut evs = events::lifecycle(10, 4);
        let expected = stamp(&mut evs).unwrap();
        let steps: Vec<_> = expected.iter().map(|e| e.step).collect();
        assert_eq!(&steps[..5], [Some(1), Some(2), Some(3), Some(4), None]);
        assert_eq!(steps[5], Some(1), "the next order starts again");
        let body: serde_json::Value = serde_json::from_slice(&evs[2].body).unwrap();
        assert_eq!(body["name"], format!("#{}/3", evs[2].order_id % 100_000));
    }

    #[test]
    fn each_event_is_written_superseded_or_lost() {
        let e = |order_id, step| Expected { order_id, step };
        let expected = [
            e(1, Some(1)),
            e(1, Some(2)),
            e(1, Some(3)),
            e(1, None),
            e(2, Some(1)),
            e(2, Some(2)),
            e(3, Some(1)),
            e(3, None),
        ];
        let log = [
            write("1", Some("#1/1")),
            write("1", Some("#1/3")),
            write("1", None),
            write("2", Some("#2/1")),
            write("2", Some("#2/1")),
        ];
        let a = account(&expected, &log, |id| id == "1");
        assert_eq!(
            a,
            Accounts {
                events: 8,
                written: 4,
                superseded: 1,
                lost: 3,
                doubles: 1,
            }
        );
    }
}
