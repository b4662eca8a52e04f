use so_domain::ShopDomain;
use so_domain::mapping::Buyer;
use so_store::Commit;

use super::super::claims::Claim;
use super::{Ride, Rides};

fn shop() -> ShopDomain {
    ShopDomain::parse("a.myshopify.com").unwrap()
}

fn buyer(id: &str) -> Buyer {
    Buyer {
        id: id.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(id.to_owned()),
    }
}

/// Contact 7's attributes ride in event 0's record and count event 1's
/// order; its outbox mark was read at seq 41.
fn rides() -> Rides {
    Rides {
        rides: vec![Ride {
            shop: shop(),
            buyer: buyer("7"),
            carrier: 0,
            counted: vec![1],
            seq: Some(41),
        }],
        _claim: Claim::none(),
    }
}

/// The batch's commit: event 1 marked contact 7, another event contact 8.
fn commit() -> Commit {
    Commit {
        behaviour_dirty: vec![(shop(), buyer("7")), (shop(), buyer("8"))],
        ..Commit::default()
    }
}

fn marked(c: &Commit) -> Vec<&str> {
    c.behaviour_dirty
        .iter()
        .map(|(_, b)| b.id.as_str())
        .collect()
}

#[test]
fn accepted_attributes_clear_the_mark_they_read_and_the_batchs_own() {
    let mut c = commit();
    rides().settle(&mut c, |_| true);
    assert_eq!(marked(&c), ["8"], "contact 8 did not ride");
    assert_eq!(c.behaviour_sent, [(shop(), "7".to_owned(), 41)]);
}

#[test]
fn when_a_counted_order_failed_the_contact_stays_marked() {
    let mut c = commit();
    c.behaviour_dirty.retain(|(_, b)| b.id != "7");
    rides().settle(&mut c, |i| i != 1);
    assert!(marked(&c).contains(&"7"), "the drain recomputes");
    assert!(c.behaviour_sent.is_empty());
}

#[test]
fn when_the_carrier_failed_nothing_changes() {
    let mut c = commit();
    rides().settle(&mut c, |i| i != 0);
    assert_eq!(marked(&c), ["7", "8"]);
    assert!(c.behaviour_sent.is_empty());
    let mut c = Commit::default();
    rides().superseded(&mut c, |i| i != 0);
    assert!(c.behaviour_dirty.is_empty());
    rides().superseded(&mut c, |_| true);
    assert_eq!(marked(&c), ["7"], "superseded state: recomputed later");
}
