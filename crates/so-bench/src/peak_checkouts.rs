//! The checkouts of a `peak` burst: each order's (created 10 to 20 shop
//! minutes before it, updated 1 to 5 minutes before it, completed by the
//! order's `checkout_token`) and the abandoned ones.

use crate::peak_plan::{
    Buyer, CheckoutPlan, CustomerPlan, Event, FIRST_CUSTOMER, HOUR, Kind, Plan, between, lines_for,
    push,
};

pub(crate) fn events(plan: &mut Plan, abandoned: usize, delay_shop: i64, events: &mut Vec<Event>) {
    let catalogue = plan.catalogue.len();
    for k in 0..plan.orders.len() {
        let o = &plan.orders[k];
        let created = o.created - between(60, k, 600, 1_200);
        let update = o.created - between(61, k, 60, 300);
        plan.checkouts.push(CheckoutPlan {
            token: token(k),
            buyer: o.buyer,
            lines: o.lines.clone(),
            created,
            order: Some(k),
        });
        let c = plan.checkouts.len() - 1;
        plan.orders[k].checkout = Some(c);
        push(events, created, Kind::CheckoutCreate, c);
        push(events, update, Kind::CheckoutUpdate, c);
    }
    // Shoppers who leave a checkout and do not buy in the hour: half of
    // them logged-in customers (with no other event in the hour), half
    // guests. Each falls due within the burst if it can: its last update
    // at least the delay (and 5 shop minutes) before the hour ends.
    let last = (HOUR - delay_shop - 300).max(0);
    for a in 0..abandoned {
        let k = plan.checkouts.len();
        let buyer = if a % 2 == 0 {
            let id = FIRST_CUSTOMER + 5_000_000 + a as u64;
            plan.customers.push(CustomerPlan {
                id,
                email: format!("customer{id}@peak.example.com"),
                created: -86_400 * 300,
            });
            Buyer::Customer(plan.customers.len() - 1)
        } else {
            plan.guests.push(format!("browser{a}@peak.example.com"));
            Buyer::Guest(plan.guests.len() - 1)
        };
        let update = between(62, a, -300, last.max(-299));
        let created = update - between(63, a, 60, 600);
        plan.checkouts.push(CheckoutPlan {
            token: token(k),
            buyer,
            lines: lines_for(64, a, catalogue),
            created,
            order: None,
        });
        push(events, created, Kind::CheckoutCreate, k);
        push(events, update, Kind::CheckoutUpdate, k);
    }
}

fn token(k: usize) -> String {
    format!("{:016x}{:016x}", 0xb1ac_f41d_u64, k as u64)
}
