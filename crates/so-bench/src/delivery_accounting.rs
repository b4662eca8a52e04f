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
//!
//! A customer's own webhooks (`customers/create|update`, in the default
//! mix) are numbered the same way per customer, in the contact's last name
//! (`Lovelace/<n>`), which the fake logs as a contact write's version:
//! written, superseded by a later one of the same customer, or lost.

use std::collections::{HashMap, HashSet};

use so_domain::ometria::RecordType;
use so_fake_ometria::{AppliedWrite, FakeOmetria};

use crate::events::LifecycleEvent;

/// The paths the fake logs as a write's version: orders', contacts'.
pub(crate) const VERSION_PATH: &str = "web_id";
const CONTACT_VERSION_PATH: &str = "lastname";

/// What one preloaded or acknowledged event should have caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// An order event: the order's lifecycle step.
    Step { order_id: u64, step: u32 },
    /// A refund of the order.
    Refund { order_id: u64 },
    /// A customer event: the customer's version.
    Profile { customer: u64, version: u32 },
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
    let mut versions: HashMap<u64, u32> = HashMap::new();
    let mut out = Vec::with_capacity(evs.len());
    for e in evs.iter_mut() {
        let (field, value, expected) = if e.topic.starts_with("orders/") {
            let step = steps.entry(e.order_id).or_insert(0);
            *step += 1;
            let name = format!("#{}/{}", e.order_id % 100_000, step);
            let order_id = e.order_id;
            (
                "name",
                name,
                Expected::Step {
                    order_id,
                    step: *step,
                },
            )
        } else if e.topic.starts_with("customers/") {
            let version = versions.entry(e.customer).or_insert(0);
            *version += 1;
            let customer = e.customer;
            let name = format!("Lovelace/{version}");
            (
                "last_name",
                name,
                Expected::Profile {
                    customer,
                    version: *version,
                },
            )
        } else {
            out.push(Expected::Refund {
                order_id: e.order_id,
            });
            continue;
        };
        let mut v: serde_json::Value = serde_json::from_slice(&e.body)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert(field.into(), value.into());
        }
        e.body = serde_json::to_vec(&v)?;
        out.push(expected);
    }
    Ok(out)
}

fn step_of(version: &str) -> Option<u32> {
    version.rsplit_once('/')?.1.parse().ok()
}

/// Writes per (record type, id, step), from the log.
fn writes(log: &[AppliedWrite]) -> HashMap<(RecordType, String, u32), u64> {
    let mut out = HashMap::new();
    for w in log {
        if let Some(step) = w.version.as_deref().and_then(step_of) {
            *out.entry((w.key.record_type, w.key.id.clone(), step))
                .or_insert(0) += 1;
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
    let mut newest: HashMap<(RecordType, &str), u32> = HashMap::new();
    for (t, id, step) in writes.keys() {
        let top = newest.entry((*t, id.as_str())).or_insert(0);
        *top = (*top).max(*step);
    }
    let orders: HashSet<String> = expected
        .iter()
        .filter_map(|e| match e {
            Expected::Step { order_id, .. } | Expected::Refund { order_id } => {
                Some(order_id.to_string())
            }
            Expected::Profile { .. } => None,
        })
        .collect();
    let mut a = Accounts {
        doubles: writes
            .iter()
            .filter(|((t, id, _), _)| *t == RecordType::Order && orders.contains(id))
            .map(|(_, n)| n.saturating_sub(1))
            .sum(),
        ..Accounts::default()
    };
    for e in expected {
        a.events += 1;
        let (t, id, step) = match *e {
            Expected::Refund { order_id } => {
                if refunded(&order_id.to_string()) {
                    a.written += 1;
                } else {
                    a.lost += 1;
                }
                continue;
            }
            Expected::Step { order_id, step } => (RecordType::Order, order_id, step),
            Expected::Profile { customer, version } => (RecordType::Contact, customer, version),
        };
        let id = id.to_string();
        if writes.contains_key(&(t, id.clone(), step)) {
            a.written += 1;
        } else if newest.get(&(t, id.as_str())).is_some_and(|n| *n > step) {
            a.superseded += 1;
        } else {
            a.lost += 1;
        }
    }
    a
}

/// Turns the fake's write log on with the versions [`account`] reads.
pub(crate) fn watch(fake: &FakeOmetria) {
    fake.version_writes_by(VERSION_PATH);
    fake.version_writes_of(RecordType::Contact, CONTACT_VERSION_PATH);
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
        write_of(RecordType::Order, id, version)
    }

    fn write_of(record_type: RecordType, id: &str, version: Option<&str>) -> AppliedWrite {
        AppliedWrite {
            seq: 0,
            key: RecordKey {
                record_type,
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
        let mut evs = events::lifecycle(10, 4, events::Mix::OrdersOnly);
        let expected = stamp(&mut evs).unwrap();
        let steps: Vec<_> = expected
            .iter()
            .map(|e| match e {
                Expected::Step { step, .. } => Some(*step),
                _ => None,
            })
            .collect();
        assert_eq!(&steps[..5], [Some(1), Some(2), Some(3), Some(4), None]);
        assert_eq!(steps[5], Some(1), "the next order starts again");
        let body: serde_json::Value = serde_json::from_slice(&evs[2].body).unwrap();
        assert_eq!(body["name"], format!("#{}/3", evs[2].order_id % 100_000));
    }

    #[test]
    fn stamping_numbers_each_customers_own_events() {
        let mut evs = events::lifecycle(12, 4, events::Mix::WithCustomers);
        let expected = stamp(&mut evs).unwrap();
        let topics: Vec<_> = evs.iter().map(|e| e.topic).collect();
        assert_eq!(
            &topics[..3],
            ["customers/create", "orders/create", "customers/update"]
        );
        let profiles: Vec<_> = expected
            .iter()
            .filter_map(|e| match e {
                Expected::Profile { version, .. } => Some(*version),
                _ => None,
            })
            .collect();
        assert_eq!(profiles, [1, 2, 3], "create, then an update per order");
        let body: serde_json::Value = serde_json::from_slice(&evs[2].body).unwrap();
        assert_eq!(body["last_name"], "Lovelace/2");
    }

    #[test]
    fn each_event_is_written_superseded_or_lost() {
        let e = |order_id, step| match step {
            Some(step) => Expected::Step { order_id, step },
            None => Expected::Refund { order_id },
        };
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

    #[test]
    fn a_customer_event_counts_by_the_contacts_versions() {
        let p = |version| Expected::Profile {
            customer: 7,
            version,
        };
        let expected = [p(1), p(2), p(3)];
        let log = [
            write_of(RecordType::Contact, "7", Some("Lovelace/1")),
            write_of(RecordType::Contact, "7", Some("Lovelace/3")),
            write_of(RecordType::Contact, "7", None),
            write("7", Some("#7/9")),
        ];
        let a = account(&expected, &log, |_| false);
        assert_eq!((a.written, a.superseded, a.lost), (2, 1, 0));
        let a = account(&expected, &log[..1], |_| false);
        assert_eq!(
            (a.written, a.superseded, a.lost),
            (1, 0, 2),
            "an order's step is no contact's"
        );
    }
}
