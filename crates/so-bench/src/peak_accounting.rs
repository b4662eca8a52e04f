//! Per-webhook accounting of a `peak` run, from the fake Ometria's write
//! log (every write it applied, with the version the record carried) and,
//! where a push carries no version of its own, from the final state.
//!
//! An acknowledged webhook is *written* (a write carried its version),
//! *superseded* (a newer version of the same entity was written: the
//! service coalesces versions waiting together, by design) or *lost*:
//! - order steps by the order's `web_id`, customer profile events by the
//!   contact's last name, product events by the parent record's title,
//!   abandoned checkouts' versions by their event's `timestamp`;
//! - a refund (its push is the stored order with the refund applied) by
//!   the final order's status; a consent change by the final contact's
//!   consent (written if it shows this change, superseded if a later one);
//! - a checkout that an order completed should cause nothing: *no record*
//!   if no abandonment event exists for it, *wrong* if one does.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use so_domain::ometria::RecordType;
use so_fake_ometria::{AppliedWrite, FakeOmetria};

use crate::peak_final::{Consent, consent_of};
use crate::peak_payloads::{shop_time, version_in};
use crate::peak_plan::{Event, Kind, Plan};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Accounts {
    pub(crate) acknowledged: u64,
    pub(crate) written: u64,
    pub(crate) superseded: u64,
    pub(crate) no_record: u64,
    pub(crate) wrong: u64,
    pub(crate) lost: u64,
}

/// Turns the fake's write log on with the versions [`account`] reads.
pub(crate) fn watch(fake: &FakeOmetria) {
    fake.version_writes_of(RecordType::Order, "web_id");
    fake.version_writes_of(RecordType::Contact, "lastname");
    fake.version_writes_of(RecordType::Product, "title");
    fake.version_writes_of(RecordType::CustomEvent, "timestamp");
}

/// Versions written per (type, id): stamps as numbers, times as seconds.
#[derive(Debug, Default)]
struct Written(HashMap<(RecordType, String), HashSet<i64>>);

impl Written {
    fn of(log: &[AppliedWrite]) -> Written {
        let mut w = Written::default();
        for e in log {
            let Some(v) = e.version.as_deref() else {
                continue;
            };
            let version = match e.key.record_type {
                RecordType::CustomEvent => {
                    DateTime::parse_from_rfc3339(v).ok().map(|t| t.timestamp())
                }
                _ => version_in(v).map(i64::from),
            };
            if let Some(version) = version {
                w.0.entry((e.key.record_type, e.key.id.clone()))
                    .or_default()
                    .insert(version);
            }
        }
        w
    }

    /// Written, superseded by a newer version, or neither.
    fn fate(&self, t: RecordType, id: &str, version: i64) -> Fate {
        match self.0.get(&(t, id.to_owned())) {
            Some(v) if v.contains(&version) => Fate::Written,
            Some(v) if v.iter().any(|w| *w > version) => Fate::Superseded,
            _ => Fate::Lost,
        }
    }
}

/// Each customer's acknowledged consent changes: (version, subscribed, time).
type Changes = HashMap<usize, Vec<(u32, bool, DateTime<Utc>)>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Written,
    Superseded,
    NoRecord,
    Wrong,
    Lost,
}

/// What the fake ended with, where the write log has no version.
pub(crate) struct Finals<'a> {
    /// The order's final `status`.
    pub(crate) order_status: &'a dyn Fn(&str) -> Option<String>,
    /// The customer's final consent.
    pub(crate) consent: &'a dyn Fn(&str) -> Option<Consent>,
    /// Whether an event with this id exists.
    pub(crate) event_exists: &'a dyn Fn(&str) -> bool,
}

/// Accounts for every acknowledged webhook of `plan`.
pub(crate) fn account(
    plan: &Plan,
    acked: &[bool],
    log: &[AppliedWrite],
    finals: &Finals<'_>,
) -> Accounts {
    let written = Written::of(log);
    let mut consents = Changes::new();
    for (e, _) in plan.events.iter().zip(acked).filter(|(_, a)| **a) {
        if let Kind::Consent { subscribed } = e.kind {
            let change = (e.version, subscribed, shop_time(e.at));
            consents.entry(e.entity).or_default().push(change);
        }
    }
    let mut a = Accounts::default();
    for (e, _) in plan.events.iter().zip(acked).filter(|(_, a)| **a) {
        a.acknowledged += 1;
        let fate = fate(plan, e, &written, &consents, finals);
        match fate {
            Fate::Written => a.written += 1,
            Fate::Superseded => a.superseded += 1,
            Fate::NoRecord => a.no_record += 1,
            Fate::Wrong => a.wrong += 1,
            Fate::Lost => a.lost += 1,
        }
    }
    a
}

fn fate(
    plan: &Plan,
    e: &Event,
    written: &Written,
    consents: &Changes,
    finals: &Finals<'_>,
) -> Fate {
    let v = i64::from(e.version);
    match e.kind {
        Kind::OrderCreate | Kind::OrderPaid | Kind::OrderFulfilled | Kind::OrderCancelled => {
            written.fate(RecordType::Order, &plan.orders[e.entity].id.to_string(), v)
        }
        Kind::Refund => {
            let status = (finals.order_status)(&plan.orders[e.entity].id.to_string());
            match status.as_deref() {
                Some("partial_refund" | "refunded") => Fate::Written,
                _ => Fate::Lost,
            }
        }
        Kind::CustomerCreate | Kind::CustomerUpdate => written.fate(
            RecordType::Contact,
            &plan.customers[e.entity].id.to_string(),
            v,
        ),
        Kind::Consent { subscribed } => {
            let shown = (finals.consent)(&plan.customers[e.entity].id.to_string());
            let later = consents.get(&e.entity).is_some_and(|all| {
                all.iter()
                    .any(|(w, s, t)| *w > e.version && shown == Some((*s, *t)))
            });
            if shown == Some((subscribed, shop_time(e.at))) {
                Fate::Written
            } else if later {
                Fate::Superseded
            } else {
                Fate::Lost
            }
        }
        Kind::ProductCreate | Kind::ProductUpdate => {
            written.fate(RecordType::Product, &plan.products[e.entity].to_string(), v)
        }
        Kind::CheckoutCreate | Kind::CheckoutUpdate => {
            let c = &plan.checkouts[e.entity];
            let id = format!("checkout_{}", c.token);
            if c.order.is_some() {
                return if (finals.event_exists)(&id) {
                    Fate::Wrong
                } else {
                    Fate::NoRecord
                };
            }
            written.fate(RecordType::CustomEvent, &id, shop_time(e.at).timestamp())
        }
    }
}

/// [`account`] against `fake`'s log and final records.
pub(crate) fn account_fake(plan: &Plan, acked: &[bool], fake: &FakeOmetria) -> Accounts {
    let order_status = |id: &str| {
        fake.record_in(RecordType::Order, None, id)
            .and_then(|r| r.get("status")?.as_str().map(str::to_owned))
    };
    let consent = |id: &str| {
        fake.record_in(RecordType::Contact, Some("shopify_customers"), id)
            .and_then(|r| consent_of(&r))
    };
    let event_exists = |id: &str| fake.record_in(RecordType::CustomEvent, None, id).is_some();
    let finals = Finals {
        order_status: &order_status,
        consent: &consent,
        event_exists: &event_exists,
    };
    account(plan, acked, &fake.write_log(), &finals)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use so_fake_ometria::RecordKey;
    use tokio::time::Instant;

    use super::*;
    use crate::peak_payloads::{last_name, order_name};
    use crate::peak_plan;

    fn write(t: RecordType, id: &str, version: &str) -> AppliedWrite {
        AppliedWrite {
            seq: 0,
            key: RecordKey {
                record_type: t,
                collection: None,
                id: id.to_owned(),
            },
            version: Some(version.to_owned()),
            at: Instant::now(),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn an_order_step_is_written_superseded_or_lost() {
        let plan = peak_plan::build(30, false, 1_000);
        let o = &plan.orders[0];
        let id = o.id.to_string();
        // The create written, the paid step skipped, the last step written.
        let log = [
            write(RecordType::Order, &id, &order_name(o.id, 1)),
            write(RecordType::Order, &id, &order_name(o.id, 3)),
        ];
        let none = |_: &str| None;
        let no_consent = |_: &str| None;
        let no = |_: &str| false;
        let finals = Finals {
            order_status: &none,
            consent: &no_consent,
            event_exists: &no,
        };
        let only_order_0: Vec<bool> = plan
            .events
            .iter()
            .map(|e| {
                e.entity == 0
                    && matches!(
                        e.kind,
                        Kind::OrderCreate
                            | Kind::OrderPaid
                            | Kind::OrderFulfilled
                            | Kind::OrderCancelled
                    )
            })
            .collect();
        let a = account(&plan, &only_order_0, &log, &finals);
        assert_eq!(
            (a.acknowledged, a.written, a.superseded, a.lost),
            (3, 2, 1, 0)
        );
        let a = account(&plan, &only_order_0, &log[..1], &finals);
        assert_eq!(
            (a.written, a.superseded, a.lost),
            (1, 0, 2),
            "nothing newer written"
        );
    }

    #[test]
    fn a_consent_change_counts_by_what_the_contact_ends_with() {
        let mut plan = peak_plan::build(30, false, 1_000);
        let c = 0;
        let at = |s| shop_time(s);
        plan.events = vec![
            Event {
                at: 10,
                kind: Kind::Consent { subscribed: true },
                entity: c,
                version: 1,
            },
            Event {
                at: 20,
                kind: Kind::Consent { subscribed: false },
                entity: c,
                version: 2,
            },
            Event {
                at: 30,
                kind: Kind::CustomerUpdate,
                entity: c,
                version: 1,
            },
        ];
        let acked = [true, true, true];
        let shows_out = |_: &str| Some((false, at(20)));
        let none = |_: &str| None;
        let no = |_: &str| false;
        let finals = Finals {
            order_status: &none,
            consent: &shows_out,
            event_exists: &no,
        };
        let id = plan.customers[c].id.to_string();
        let log = [write(RecordType::Contact, &id, &last_name(1))];
        let a = account(&plan, &acked, &log, &finals);
        assert_eq!((a.written, a.superseded, a.lost), (2, 1, 0));
        let shows_in = |_: &str| Some((true, at(10)));
        let finals = Finals {
            consent: &shows_in,
            ..finals
        };
        let a = account(&plan, &acked, &log, &finals);
        assert_eq!(
            (a.written, a.superseded, a.lost),
            (2, 0, 1),
            "the opt-out is lost"
        );
    }

    #[test]
    fn a_completed_checkout_with_an_abandonment_event_is_wrong() {
        let plan = peak_plan::build(30, true, 1_000);
        let converted: Vec<bool> = plan
            .events
            .iter()
            .map(|e| e.kind == Kind::CheckoutUpdate && plan.checkouts[e.entity].order.is_some())
            .collect();
        let none = |_: &str| None;
        let no_consent = |_: &str| None;
        let yes = |_: &str| true;
        let finals = Finals {
            order_status: &none,
            consent: &no_consent,
            event_exists: &yes,
        };
        let a = account(&plan, &converted, &[], &finals);
        assert_eq!((a.wrong, a.no_record), (30, 0));
    }
}
