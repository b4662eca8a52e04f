//! The burst `peak` sends: one shop hour of a Black Friday peak, compressed.
//!
//! Every time here is in *shop seconds* from the start of that hour; the
//! events are sent in time order at a fixed rate, so the hour lasts about
//! `events / rate` real seconds and each entity's events keep their order
//! and their spacing in proportion (at the default size a fulfilment,
//! 15 to 45 shop minutes after its order, leaves 15 to 55 s after it).
//! Shares and offsets are those of [`Shares`]; every choice comes from a
//! hash of the entity's index, so the same `--orders` gives the same burst
//! in both runs of the bench.

/// Ids of this benchmark's entities (apart from other benchmarks').
const FIRST_ORDER: u64 = 930_000_000_000_000_000;
pub(crate) const FIRST_CUSTOMER: u64 = 730_000_000_000_000_000;
const FIRST_PRODUCT: u64 = 8_300_000_000;
const FIRST_CATALOGUE: u64 = 8_100_000_000;
/// Variants per product (sold or with events).
pub(crate) const VARIANTS: usize = 3;
/// Shop seconds of the hour the orders are placed in.
pub(crate) const HOUR: i64 = 3_600;
/// The shortest abandonment delay, in real seconds: an order completes its
/// checkout once the worker has committed it (after Ometria accepted it),
/// so a shorter delay than the worker's lag under the budget would find
/// converted checkouts still open. Real shops wait an hour.
const MIN_DELAY_S: f64 = 20.0;

/// The burst's mix. Realistic for a large shop's peak hour rather than
/// measured from one: most buyers registered, some repeat buyers, a share
/// of new accounts (with a marketing opt-in at sign-up), a few opt-outs,
/// a share of orders cancelled or refunded, a fifth as many abandoned
/// checkouts (with a contact) as orders, and some merchandising.
pub(crate) struct Shares;

impl Shares {
    const REGISTERED: f64 = 0.8;
    /// Registered customers who place a second order in the hour.
    const REPEAT: f64 = 0.1;
    /// Registered customers whose account is created in the hour.
    const NEW_ACCOUNT: f64 = 0.4;
    /// New accounts that opt in to email marketing at sign-up.
    const OPT_IN: f64 = 0.25;
    /// Registered customers who opt out later in the hour.
    const OPT_OUT: f64 = 0.03;
    const CANCELLED: f64 = 0.05;
    /// Fulfilled orders refunded in part later in the hour.
    const REFUNDED: f64 = 0.1;
    pub(crate) const ABANDONED: f64 = 0.2;
    /// Products launched (created) and products edited, per order.
    const LAUNCHED: f64 = 1.0 / 150.0;
    const EDITED: f64 = 1.0 / 75.0;
    /// Products sold in the hour, per order (three variants each).
    const CATALOGUE: f64 = 1.0 / 50.0;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Buyer {
    Customer(usize),
    Guest(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderEnd {
    Fulfilled,
    Refunded,
    Cancelled,
}

/// One order line: catalogue product, variant (0..VARIANTS), quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) product: usize,
    pub(crate) variant: usize,
    pub(crate) quantity: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct OrderPlan {
    pub(crate) id: u64,
    pub(crate) buyer: Buyer,
    pub(crate) lines: Vec<Line>,
    pub(crate) created: i64,
    pub(crate) end: OrderEnd,
    /// The checkout the order completes (when checkouts are in the burst).
    pub(crate) checkout: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct CustomerPlan {
    pub(crate) id: u64,
    pub(crate) email: String,
    /// Shop second the account was created (before the hour if returning).
    pub(crate) created: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CheckoutPlan {
    pub(crate) token: String,
    pub(crate) buyer: Buyer,
    pub(crate) lines: Vec<Line>,
    pub(crate) created: i64,
    /// The order that completes it; `None` for an abandoned checkout.
    pub(crate) order: Option<usize>,
}

/// What a webhook is about; `entity` of [`Event`] indexes the matching
/// list of the [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    CheckoutCreate,
    CheckoutUpdate,
    OrderCreate,
    OrderPaid,
    OrderFulfilled,
    OrderCancelled,
    Refund,
    CustomerCreate,
    CustomerUpdate,
    Consent { subscribed: bool },
    ProductCreate,
    ProductUpdate,
}

impl Kind {
    pub(crate) fn topic(self) -> &'static str {
        match self {
            Kind::CheckoutCreate => "checkouts/create",
            Kind::CheckoutUpdate => "checkouts/update",
            Kind::OrderCreate => "orders/create",
            Kind::OrderPaid => "orders/paid",
            Kind::OrderFulfilled => "orders/fulfilled",
            Kind::OrderCancelled => "orders/cancelled",
            Kind::Refund => "refunds/create",
            Kind::CustomerCreate => "customers/create",
            Kind::CustomerUpdate => "customers/update",
            Kind::Consent { .. } => "customers_email_marketing_consent/update",
            Kind::ProductCreate => "products/create",
            Kind::ProductUpdate => "products/update",
        }
    }
}

/// One webhook of the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    /// Shop seconds from the start of the hour.
    pub(crate) at: i64,
    pub(crate) kind: Kind,
    pub(crate) entity: usize,
    /// The entity's version this event carries, from 1 in time order, per
    /// stream: order steps (create, paid, fulfilled or cancelled), customer
    /// profile (create and updates), consent, product, checkout. 0 for a
    /// refund (its push carries the order's last step).
    pub(crate) version: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) orders: Vec<OrderPlan>,
    pub(crate) customers: Vec<CustomerPlan>,
    /// Guest emails, one per guest.
    pub(crate) guests: Vec<String>,
    /// Products with events in the hour (their ids).
    pub(crate) products: Vec<u64>,
    /// Products sold in the hour (their ids): no events of their own.
    pub(crate) catalogue: Vec<u64>,
    pub(crate) checkouts: Vec<CheckoutPlan>,
    /// In sending order.
    pub(crate) events: Vec<Event>,
    /// How long after a checkout version its abandonment is checked, in
    /// real seconds (the worker's `abandoned_checkouts.delay_secs`); 0
    /// when checkouts are not in the burst.
    pub(crate) checkout_delay_secs: u64,
}

/// A uniform draw in [0, 1) from (salt, index): the same every run.
pub(crate) fn unit(salt: u64, i: usize) -> f64 {
    let mut z = salt
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i as u64)
        .wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A whole number of shop seconds in [lo, hi).
pub(crate) fn between(salt: u64, i: usize, lo: i64, hi: i64) -> i64 {
    lo + ((hi - lo) as f64 * unit(salt, i)) as i64
}

/// The burst for `orders` orders; `checkouts` adds checkouts (each order's,
/// and abandoned ones) with an abandonment delay of half the burst sent at
/// `rate` webhooks/s (at least [`MIN_DELAY_S`]), the abandoned ones placed
/// so that they fall due within the burst when it is long enough.
pub(crate) fn build(orders: usize, checkouts: bool, rate: u64) -> Plan {
    let mut plan = Plan::default();
    let mut events = Vec::new();
    customers_and_orders(&mut plan, orders);
    products(&mut plan, orders, &mut events);
    for (k, o) in plan.orders.iter().enumerate() {
        order_events(k, o, &mut events);
    }
    customer_events(&plan, &mut events);
    if checkouts {
        // The abandoned checkouts' events are the rest of the burst.
        let abandoned = (orders as f64 * Shares::ABANDONED).round() as usize;
        let total = events.len() + 2 * (orders + abandoned);
        let real_s = (total as f64 / rate.max(1) as f64).max(1.0);
        plan.checkout_delay_secs = (real_s / 2.0).round().max(MIN_DELAY_S) as u64;
        let delay_shop = (plan.checkout_delay_secs as f64 * HOUR as f64 / real_s) as i64;
        crate::peak_checkouts::events(&mut plan, abandoned, delay_shop, &mut events);
    }
    number_versions(&mut events);
    plan.events = events;
    plan
}

pub(crate) fn lines_for(salt: u64, k: usize, catalogue: usize) -> Vec<Line> {
    let n = 1 + (unit(salt, k) * 3.0) as usize;
    (0..n)
        .map(|j| Line {
            product: (unit(salt + 1, k * 4 + j) * catalogue as f64) as usize,
            variant: (unit(salt + 2, k * 4 + j) * VARIANTS as f64) as usize,
            quantity: 1 + u32::from(unit(salt + 3, k * 4 + j) < 0.2),
        })
        .collect()
}

fn customers_and_orders(plan: &mut Plan, orders: usize) {
    let registered = (orders as f64 * Shares::REGISTERED).round() as usize;
    let customers = ((registered as f64 / (1.0 + Shares::REPEAT)).ceil() as usize).max(1);
    let catalogue = ((orders as f64 * Shares::CATALOGUE).ceil() as usize).max(10);
    plan.catalogue = (0..catalogue as u64).map(|p| FIRST_CATALOGUE + p).collect();
    for k in 0..orders {
        let created = between(10, k, 0, HOUR);
        let buyer = if k < registered {
            Buyer::Customer(k % customers)
        } else {
            plan.guests.push(format!("guest{k}@peak.example.com"));
            Buyer::Guest(plan.guests.len() - 1)
        };
        let u = unit(11, k);
        let end = if u < Shares::CANCELLED {
            OrderEnd::Cancelled
        } else if u < Shares::CANCELLED + (1.0 - Shares::CANCELLED) * Shares::REFUNDED {
            OrderEnd::Refunded
        } else {
            OrderEnd::Fulfilled
        };
        plan.orders.push(OrderPlan {
            id: FIRST_ORDER + k as u64,
            buyer,
            lines: lines_for(12, k, catalogue),
            created,
            end,
            checkout: None,
        });
    }
    for c in 0..customers {
        let id = FIRST_CUSTOMER + c as u64;
        let first = plan
            .orders
            .iter()
            .filter(|o| o.buyer == Buyer::Customer(c))
            .map(|o| o.created)
            .min()
            .unwrap_or(0);
        // A new account is made during its first checkout.
        let created = if unit(20, c) < Shares::NEW_ACCOUNT {
            first - between(21, c, 60, 300)
        } else {
            -86_400 * 200
        };
        plan.customers.push(CustomerPlan {
            id,
            email: format!("customer{id}@peak.example.com"),
            created,
        });
    }
}

pub(crate) fn push(events: &mut Vec<Event>, at: i64, kind: Kind, entity: usize) {
    events.push(Event {
        at,
        kind,
        entity,
        version: 0,
    });
}

fn order_events(k: usize, o: &OrderPlan, events: &mut Vec<Event>) {
    let t = o.created;
    push(events, t, Kind::OrderCreate, k);
    push(events, t + between(30, k, 60, 300), Kind::OrderPaid, k);
    match o.end {
        OrderEnd::Cancelled => {
            push(
                events,
                t + between(31, k, 600, 1_800),
                Kind::OrderCancelled,
                k,
            );
        }
        OrderEnd::Fulfilled | OrderEnd::Refunded => {
            let fulfilled = t + between(32, k, 900, 2_700);
            push(events, fulfilled, Kind::OrderFulfilled, k);
            if o.end == OrderEnd::Refunded {
                push(
                    events,
                    fulfilled + between(33, k, 300, 900),
                    Kind::Refund,
                    k,
                );
            }
        }
    }
}

fn customer_events(plan: &Plan, events: &mut Vec<Event>) {
    // Shopify updates the customer when an order changes it.
    for (k, o) in plan.orders.iter().enumerate() {
        if let Buyer::Customer(c) = o.buyer {
            push(
                events,
                o.created + between(40, k, 30, 120),
                Kind::CustomerUpdate,
                c,
            );
        }
    }
    for (c, customer) in plan.customers.iter().enumerate() {
        if customer.created >= -HOUR {
            push(events, customer.created, Kind::CustomerCreate, c);
            if unit(41, c) < Shares::OPT_IN {
                let at = customer.created + between(42, c, 10, 60);
                push(events, at, Kind::Consent { subscribed: true }, c);
            }
        }
        if unit(43, c) < Shares::OPT_OUT {
            let at = between(44, c, 600, HOUR + 600).max(customer.created + 600);
            push(events, at, Kind::Consent { subscribed: false }, c);
        }
    }
}

fn products(plan: &mut Plan, orders: usize, events: &mut Vec<Event>) {
    let launched = ((orders as f64 * Shares::LAUNCHED).ceil() as usize).max(2);
    let edited = ((orders as f64 * Shares::EDITED).ceil() as usize).max(3);
    for p in 0..launched + edited {
        plan.products.push(FIRST_PRODUCT + p as u64);
        let mut at = between(50, p, 0, HOUR);
        let updates = if p < launched {
            push(events, at, Kind::ProductCreate, p);
            (unit(51, p) * 3.0) as usize
        } else {
            1 + (unit(52, p) * 3.0) as usize
        };
        for u in 0..updates {
            at += between(53, p * 4 + u, 300, 1_200);
            push(events, at, Kind::ProductUpdate, p);
        }
    }
}

/// Sorts the burst into sending order and numbers each stream's versions.
fn number_versions(events: &mut [Event]) {
    // A stable sort keeps the generation order between equal times.
    events.sort_by_key(|e| e.at);
    let mut next: std::collections::HashMap<(u8, usize), u32> = Default::default();
    for e in events.iter_mut() {
        let stream = match e.kind {
            Kind::OrderCreate | Kind::OrderPaid | Kind::OrderFulfilled | Kind::OrderCancelled => 0,
            Kind::CustomerCreate | Kind::CustomerUpdate => 1,
            Kind::Consent { .. } => 2,
            Kind::ProductCreate | Kind::ProductUpdate => 3,
            Kind::CheckoutCreate | Kind::CheckoutUpdate => 4,
            Kind::Refund => continue,
        };
        let v = next.entry((stream, e.entity)).or_insert(0);
        *v += 1;
        e.version = *v;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_same_size_gives_the_same_burst() {
        let (a, b) = (build(300, true, 1_000), build(300, true, 1_000));
        assert_eq!(a.events, b.events);
        assert_eq!(a.checkout_delay_secs, b.checkout_delay_secs);
    }

    #[test]
    fn each_entitys_events_leave_in_order_and_apart() {
        let plan = build(2_000, true, 1_000);
        let mut last: HashMap<(Kind, usize), usize> = HashMap::new();
        let mut order_pos: HashMap<usize, Vec<(usize, Kind)>> = HashMap::new();
        for (i, e) in plan.events.iter().enumerate() {
            if matches!(
                e.kind,
                Kind::OrderCreate | Kind::OrderPaid | Kind::OrderFulfilled | Kind::Refund
            ) {
                order_pos.entry(e.entity).or_default().push((i, e.kind));
            }
            last.insert((e.kind, e.entity), i);
        }
        let mut gaps = Vec::new();
        for steps in order_pos.values() {
            assert_eq!(
                steps[0].1,
                Kind::OrderCreate,
                "an order starts with its create"
            );
            gaps.extend(steps.windows(2).map(|w| w[1].0 - w[0].0));
        }
        gaps.sort_unstable();
        assert!(gaps[gaps.len() / 2] > 100, "steps are spread, not adjacent");
    }

    #[test]
    fn the_mix_has_every_kind_in_its_share() {
        let plan = build(3_000, true, 1_000);
        let count = |f: &dyn Fn(Kind) -> bool| plan.events.iter().filter(|e| f(e.kind)).count();
        assert_eq!(count(&|k| k == Kind::OrderCreate), 3_000);
        let cancelled = count(&|k| k == Kind::OrderCancelled);
        assert!((100..200).contains(&cancelled), "{cancelled}");
        let refunds = count(&|k| k == Kind::Refund);
        assert!((200..380).contains(&refunds), "{refunds}");
        assert!(count(&|k| k == Kind::CustomerCreate) > 600);
        assert!(count(&|k| matches!(k, Kind::Consent { .. })) > 100);
        assert!(count(&|k| k == Kind::ProductCreate) >= 20);
        let abandoned = plan.checkouts.iter().filter(|c| c.order.is_none()).count();
        assert_eq!(abandoned, 600);
        assert!(plan.checkout_delay_secs >= 1);
    }

    #[test]
    fn versions_count_up_per_stream_in_sending_order() {
        let plan = build(500, true, 1_000);
        let mut seen: HashMap<(u8, usize), u32> = HashMap::new();
        for e in &plan.events {
            let stream = match e.kind {
                Kind::Refund => continue,
                Kind::CustomerCreate | Kind::CustomerUpdate => 1,
                Kind::Consent { .. } => 2,
                Kind::ProductCreate | Kind::ProductUpdate => 3,
                Kind::CheckoutCreate | Kind::CheckoutUpdate => 4,
                _ => 0,
            };
            let v = seen.entry((stream, e.entity)).or_insert(0);
            assert_eq!(e.version, *v + 1);
            *v += 1;
        }
    }
}
