//! The final state a `peak` burst should leave in Ometria, from the
//! webhooks the ingress acknowledged (an unacknowledged one was never
//! accepted), and the bounded wait until the fake holds it.
//!
//! Per entity: an order's record carries its last step's `web_id` (and a
//! refund status if refunded); a registered customer's contact carries its
//! last profile version (last name), its last consent, and its orders count;
//! a guest's contact (found by email: its id is random) its orders count; a
//! product's parent and variant records carry its last version (title); a
//! product the orders sold has its parent and variant records (the minimal
//! records the service sends for products it never received); an abandoned
//! checkout has its event with its last version's time. The number of those
//! records is what the drain's lower bound is computed from.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use so_domain::behaviour::ORDERS_COUNT;
use so_domain::ometria::RecordType;
use so_fake_ometria::FakeOmetria;

use crate::peak_payloads::{shop_time, variant_id, version_in};
use crate::peak_plan::{Buyer, Kind, Plan, VARIANTS};

const CUSTOMERS: &str = "shopify_customers";

/// A consent a contact shows: subscribed, and when.
pub(crate) type Consent = (bool, DateTime<Utc>);

/// What a registered customer's contact must show.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContactFinal {
    pub(crate) profile: Option<u32>,
    pub(crate) consent: Option<Consent>,
    /// Orders that count (not cancelled); `None` without orders.
    pub(crate) orders: Option<u64>,
}

/// One thing the fake must hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    Order {
        id: String,
        step: u32,
        refunded: bool,
    },
    Customer {
        id: String,
        want: ContactFinal,
    },
    Guest {
        email: String,
        orders: u64,
    },
    /// A product record (parent or variant) with this version in its title.
    Product {
        id: String,
        version: u32,
    },
    /// A product record that must exist (sold, no events of its own).
    Sold {
        id: String,
    },
    Abandoned {
        id: String,
        at: DateTime<Utc>,
    },
}

impl Check {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Check::Order { .. } => "orders",
            Check::Customer { .. } => "customers",
            Check::Guest { .. } => "guests",
            Check::Product { .. } => "product_records",
            Check::Sold { .. } => "sold_product_records",
            Check::Abandoned { .. } => "abandoned_checkouts",
        }
    }
}

/// How many of `checks` there are of each kind.
pub(crate) fn by_kind<'a>(
    checks: impl IntoIterator<Item = &'a Check>,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut out = std::collections::BTreeMap::new();
    for c in checks {
        *out.entry(c.kind()).or_insert(0) += 1;
    }
    out
}

/// Every check of the final state; one per record it needs.
pub(crate) fn expected(plan: &Plan, acked: &[bool]) -> Vec<Check> {
    let mut steps: HashMap<usize, u32> = HashMap::new();
    let mut refunded: HashMap<usize, bool> = HashMap::new();
    let mut cancelled: HashMap<usize, bool> = HashMap::new();
    let mut contacts: HashMap<usize, ContactFinal> = HashMap::new();
    let mut products: HashMap<usize, u32> = HashMap::new();
    let mut checkouts: HashMap<usize, i64> = HashMap::new();
    for (e, _) in plan.events.iter().zip(acked).filter(|(_, a)| **a) {
        match e.kind {
            Kind::OrderCreate | Kind::OrderPaid | Kind::OrderFulfilled | Kind::OrderCancelled => {
                let s = steps.entry(e.entity).or_insert(0);
                *s = (*s).max(e.version);
                if e.kind == Kind::OrderCancelled {
                    cancelled.insert(e.entity, true);
                }
            }
            Kind::Refund => {
                refunded.insert(e.entity, true);
            }
            Kind::CustomerCreate | Kind::CustomerUpdate => {
                let c = contacts.entry(e.entity).or_default();
                c.profile = c.profile.max(Some(e.version));
            }
            Kind::Consent { subscribed } => {
                contacts.entry(e.entity).or_default().consent = Some((subscribed, shop_time(e.at)));
            }
            Kind::ProductCreate | Kind::ProductUpdate => {
                let p = products.entry(e.entity).or_insert(0);
                *p = (*p).max(e.version);
            }
            Kind::CheckoutCreate | Kind::CheckoutUpdate => {
                checkouts.insert(e.entity, e.at);
            }
        }
    }
    let mut out = Vec::new();
    let mut guests: HashMap<usize, u64> = HashMap::new();
    let mut sold: Vec<String> = Vec::new();
    let mut ordered: Vec<usize> = steps.keys().copied().collect();
    ordered.sort_unstable();
    for k in ordered {
        let o = &plan.orders[k];
        out.push(Check::Order {
            id: o.id.to_string(),
            step: steps[&k],
            refunded: refunded.contains_key(&k),
        });
        let counts = u64::from(!cancelled.contains_key(&k));
        match o.buyer {
            Buyer::Customer(c) => {
                let orders = &mut contacts.entry(c).or_default().orders;
                *orders = Some(orders.unwrap_or(0) + counts);
            }
            Buyer::Guest(g) => *guests.entry(g).or_insert(0) += counts,
        }
        for l in &o.lines {
            let product = plan.catalogue[l.product];
            sold.push(product.to_string());
            sold.push(format!("{product}_{}", variant_id(product, l.variant)));
        }
    }
    sold.sort_unstable();
    sold.dedup();
    out.extend(sold.into_iter().map(|id| Check::Sold { id }));
    let mut contacts: Vec<_> = contacts.into_iter().collect();
    contacts.sort_by_key(|(c, _)| *c);
    out.extend(contacts.into_iter().map(|(c, want)| Check::Customer {
        id: plan.customers[c].id.to_string(),
        want,
    }));
    let mut guests: Vec<_> = guests.into_iter().collect();
    guests.sort_unstable();
    out.extend(guests.into_iter().map(|(g, orders)| Check::Guest {
        email: plan.guests[g].clone(),
        orders,
    }));
    let mut products: Vec<_> = products.into_iter().collect();
    products.sort_unstable();
    for (p, version) in products {
        let id = plan.products[p];
        out.push(Check::Product {
            id: id.to_string(),
            version,
        });
        out.extend((0..VARIANTS).map(|j| Check::Product {
            id: format!("{id}_{}", variant_id(id, j)),
            version,
        }));
    }
    let mut abandoned: Vec<_> = checkouts
        .into_iter()
        .filter(|(c, _)| plan.checkouts[*c].order.is_none())
        .collect();
    abandoned.sort_unstable();
    out.extend(abandoned.into_iter().map(|(c, at)| Check::Abandoned {
        id: format!("checkout_{}", plan.checkouts[c].token),
        at: shop_time(at),
    }));
    out
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str)
}

/// A record's time field, as an instant.
fn instant(r: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text(r, key)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn orders_count(r: &Map<String, Value>) -> Option<u64> {
    r.get("properties")?.get(ORDERS_COUNT)?.as_u64()
}

/// A contact's orders count matches `n` (no count reads as 0).
fn counts(r: &Map<String, Value>, n: u64) -> bool {
    orders_count(r).unwrap_or(0) == n
}

/// The consent a contact record shows: subscribed, and when.
pub(crate) fn consent_of(r: &Map<String, Value>) -> Option<Consent> {
    match text(r, "marketing_optin")? {
        "EXPLICITLY_OPTEDIN" => Some((true, instant(r, "timestamp_subscribed")?)),
        "EXPLICITLY_OPTEDOUT" => Some((false, instant(r, "timestamp_unsubscribed")?)),
        _ => None,
    }
}

fn contact_holds(r: &Map<String, Value>, want: &ContactFinal) -> bool {
    let profile = want
        .profile
        .is_none_or(|v| text(r, "lastname").and_then(version_in) == Some(v));
    let consent = want.consent.is_none_or(|c| consent_of(r) == Some(c));
    let orders = want.orders.is_none_or(|n| counts(r, n));
    profile && consent && orders
}

/// Guests' contacts by email, read once per pass.
type ByEmail = HashMap<String, Map<String, Value>>;

fn guests_by_email(fake: &FakeOmetria) -> ByEmail {
    fake.records(RecordType::Contact)
        .into_iter()
        .filter(|r| text(r, "@collection") != Some(CUSTOMERS))
        .filter_map(|r| Some((text(&r, "email")?.to_lowercase(), r)))
        .collect()
}

impl Check {
    pub(crate) fn holds(&self, fake: &FakeOmetria, guests: &ByEmail) -> bool {
        let get = |t: RecordType, id: &str| fake.record_in(t, None, id);
        match self {
            Check::Order { id, step, refunded } => get(RecordType::Order, id).is_some_and(|r| {
                let status = text(&r, "status").unwrap_or_default();
                text(&r, "web_id").and_then(version_in) == Some(*step)
                    && (!refunded || status == "partial_refund" || status == "refunded")
            }),
            Check::Customer { id, want } => fake
                .record_in(RecordType::Contact, Some(CUSTOMERS), id)
                .is_some_and(|r| contact_holds(&r, want)),
            Check::Guest { email, orders } => guests.get(email).is_some_and(|r| counts(r, *orders)),
            Check::Product { id, version } => get(RecordType::Product, id)
                .is_some_and(|r| text(&r, "title").and_then(version_in) == Some(*version)),
            Check::Sold { id } => get(RecordType::Product, id).is_some(),
            Check::Abandoned { id, at } => get(RecordType::CustomEvent, id)
                .is_some_and(|r| instant(&r, "timestamp") == Some(*at)),
        }
    }
}

/// How the wait for the final state ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reached {
    /// When the fake first held all of it (after a full re-check).
    pub(crate) at: Option<Instant>,
    /// Checks still failing at the end of the wait, per kind.
    pub(crate) missing: std::collections::BTreeMap<&'static str, usize>,
    /// Passes over the pending checks, and the longest one's length.
    pub(crate) passes: u32,
    pub(crate) longest_pass: Duration,
}

/// Polls the fake until every check holds or `deadline` passes (never
/// requiring success); once the pending ones all held, everything is
/// checked again so a record overwritten meanwhile is not missed. A pass
/// runs only when the fake applied a write since the last one, and the
/// pause after it is five times its length (0.25 to 5 s), so the checks
/// take at most about a sixth of a core from the service they measure.
pub(crate) async fn wait(fake: &FakeOmetria, checks: &[Check], deadline: Instant) -> Reached {
    let mut pending: Vec<&Check> = checks.iter().collect();
    let mut writes_seen = None;
    let mut pause = Duration::from_millis(250);
    let (mut passes, mut longest_pass) = (0, Duration::ZERO);
    loop {
        let writes = fake.writes_applied();
        if writes_seen == Some(writes) && Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            continue;
        }
        writes_seen = Some(writes);
        let pass = Instant::now();
        let guests = if pending.iter().any(|c| matches!(c, Check::Guest { .. })) {
            guests_by_email(fake)
        } else {
            ByEmail::new()
        };
        pending.retain(|c| !c.holds(fake, &guests));
        let checked = Instant::now();
        passes += 1;
        longest_pass = longest_pass.max(checked - pass);
        if pending.is_empty() {
            let guests = guests_by_email(fake);
            pending = checks.iter().filter(|c| !c.holds(fake, &guests)).collect();
            if pending.is_empty() {
                return Reached {
                    at: Some(checked),
                    missing: Default::default(),
                    passes,
                    longest_pass,
                };
            }
        }
        if Instant::now() >= deadline {
            return Reached {
                at: None,
                missing: by_kind(pending),
                passes,
                longest_pass,
            };
        }
        pause = (pass.elapsed() * 5).clamp(Duration::from_millis(250), Duration::from_secs(5));
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::peak_plan;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn one_check_per_record_the_final_state_needs() {
        let plan = peak_plan::build(400, true, 1_000);
        let all = vec![true; plan.events.len()];
        let checks = expected(&plan, &all);
        let n = |k: &str| checks.iter().filter(|c| c.kind() == k).count();
        assert_eq!(n("orders"), 400);
        assert_eq!(n("guests"), 80);
        let abandoned = plan.checkouts.iter().filter(|c| c.order.is_none()).count();
        assert_eq!(n("abandoned_checkouts"), abandoned);
        assert_eq!(n("product_records"), plan.products.len() * (1 + VARIANTS));
        // Abandoning customers have no event that sends their contact.
        assert!(n("customers") < plan.customers.len());
    }

    #[test]
    fn an_unacknowledged_last_step_is_not_expected() {
        let plan = peak_plan::build(50, false, 1_000);
        let last = plan
            .events
            .iter()
            .rposition(|e| e.kind == Kind::OrderFulfilled)
            .unwrap();
        let mut acked = vec![true; plan.events.len()];
        acked[last] = false;
        let order = plan.orders[plan.events[last].entity].id.to_string();
        let checks = expected(&plan, &acked);
        let step = checks.iter().find_map(|c| match c {
            Check::Order { id, step, .. } if *id == order => Some(*step),
            _ => None,
        });
        assert_eq!(step, Some(2), "its paid step is the last it must show");
    }

    #[test]
    fn a_contact_holds_only_with_every_part_current() {
        let at = shop_time(100);
        let want = ContactFinal {
            profile: Some(2),
            consent: Some((true, at)),
            orders: Some(1),
        };
        let good = obj(
            json!({"lastname": "Peak~v2", "marketing_optin": "EXPLICITLY_OPTEDIN",
            "timestamp_subscribed": "2026-11-27T10:01:40Z", "properties": {ORDERS_COUNT: 1}}),
        );
        assert!(contact_holds(&good, &want));
        let mut old = good.clone();
        old.insert("lastname".into(), json!("Peak~v1"));
        assert!(!contact_holds(&old, &want));
        let mut uncounted = good.clone();
        uncounted.insert("properties".into(), json!({}));
        assert!(!contact_holds(&uncounted, &want));
        let mut out = good;
        out.insert("marketing_optin".into(), json!("EXPLICITLY_OPTEDOUT"));
        assert!(!contact_holds(&out, &want));
    }
}
