//! The customers of a `delivery` phase whose final attributes reached the
//! fake Ometria: every event can be settled while attribute updates still
//! wait in the outbox (under the budget they settle for a few seconds).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use so_domain::ometria::RecordType;
use so_fake_ometria::FakeOmetria;

use crate::events::LifecycleEvent;

/// Waits (60 s at most, not requiring success) until the fake holds, for
/// every customer of `evs` with orders, a contact whose orders count is that
/// customer's number of orders; returns how many do.
pub(crate) async fn wait_for_final_contacts(fake: &FakeOmetria, evs: &[LifecycleEvent]) -> usize {
    let mut orders: HashMap<u64, HashSet<u64>> = HashMap::new();
    // A customer event names the order it belongs to, which a truncated
    // mix may have cut: only the orders' own events count.
    for e in evs.iter().filter(|e| e.topic.starts_with("orders/")) {
        orders.entry(e.customer).or_default().insert(e.order_id);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = final_contacts(fake, &orders);
        if done == orders.len() || Instant::now() >= deadline {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn final_contacts(fake: &FakeOmetria, orders: &HashMap<u64, HashSet<u64>>) -> usize {
    fake.records(RecordType::Contact)
        .iter()
        .filter(|c| {
            let customer = c
                .get("customer_id")
                .and_then(serde_json::Value::as_str)
                .and_then(|id| id.rsplit(|ch: char| !ch.is_ascii_digit()).next())
                .and_then(|digits| digits.parse::<u64>().ok());
            let count = c
                .get("properties")
                .and_then(|p| p.get(so_domain::behaviour::ORDERS_COUNT))
                .and_then(serde_json::Value::as_u64);
            matches!((customer, count), (Some(id), Some(n))
                if orders.get(&id).is_some_and(|o| o.len() as u64 == n))
        })
        .count()
}
