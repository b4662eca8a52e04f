//! Property tests of the identity rules, against a model of the store that
//! applies decisions the way the real one does (insert-if-absent guests,
//! links set once). For any interleaving of guest orders, customer events
//! and customer orders over a few emails and customers:
//! - once an email belongs to a customer, every later guest purchase with
//!   that email resolves to that customer's contact (one person, not two);
//! - the same event resolved again (a redelivery) gives the same contact;
//! - a customer keeps the listing chosen on its first event (a guest's it
//!   adopted, or its own);
//! - no Ometria id carries an email address.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::ShopifyId;
use crate::identity::{
    ContactRef, CustomerListing, CustomerStatus, GuestId, GuestRecord, IdentityDecision,
    IdentitySnapshot, Namespace, NormalisedEmail, Resolution, normalise_email, resolve_customer,
    resolve_purchase,
};

#[derive(Debug, Clone)]
enum Step {
    GuestOrder { email: usize },
    CustomerUpdate { customer: usize, email: usize },
    CustomerOrder { customer: usize, email: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize).prop_map(|email| Step::GuestOrder { email }),
        (0..2usize, 0..3usize)
            .prop_map(|(customer, email)| Step::CustomerUpdate { customer, email }),
        (0..2usize, 0..3usize)
            .prop_map(|(customer, email)| Step::CustomerOrder { customer, email }),
    ]
}

#[derive(Default)]
struct Model {
    guests: HashMap<String, GuestRecord>,
    listings: HashMap<ShopifyId, CustomerListing>,
    next_guest: u8,
}

impl Model {
    fn snapshot(&self, customer: Option<ShopifyId>, email: &NormalisedEmail) -> IdentitySnapshot {
        let mut guest = self.guests.get(email.as_str()).cloned();
        if let Some(g) = &mut guest {
            g.linked_listing = g
                .linked_customer
                .and_then(|c| self.listings.get(&c).cloned());
        }
        IdentitySnapshot {
            customer: CustomerStatus::Active,
            guest,
            email_suppressed: false,
            listing: customer.and_then(|c| self.listings.get(&c).cloned()),
        }
    }

    /// What a customer's email claim inserts (as the worker does).
    fn claim(&mut self, email: &NormalisedEmail) {
        let guest_id = self.new_guest();
        self.guests
            .entry(email.as_str().to_owned())
            .or_insert_with(|| GuestRecord {
                guest_id,
                linked_customer: None,
                linked_listing: None,
                claim: true,
            });
    }

    fn new_guest(&mut self) -> GuestId {
        self.next_guest += 1;
        GuestId::from_random([self.next_guest; 16])
    }

    fn apply(&mut self, decisions: &[IdentityDecision]) {
        for d in decisions {
            match d {
                IdentityDecision::RememberGuest { email, guest_id } => {
                    self.guests
                        .entry(email.as_str().to_owned())
                        .or_insert_with(|| GuestRecord {
                            guest_id: guest_id.clone(),
                            linked_customer: None,
                            linked_listing: None,
                            claim: false,
                        });
                }
                IdentityDecision::SetListing {
                    customer_id,
                    listing,
                } => {
                    self.listings
                        .entry(*customer_id)
                        .or_insert_with(|| listing.clone());
                }
                IdentityDecision::LinkGuestToCustomer {
                    guest_id,
                    customer_id,
                } => {
                    for g in self.guests.values_mut() {
                        if &g.guest_id == guest_id && g.linked_customer.is_none() {
                            g.linked_customer = Some(*customer_id);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

const EMAILS: [&str; 3] = ["Ada@Example.com", "bob@example.org", "cy+shop@example.net"];
const CUSTOMERS: [u64; 2] = [9_007_199_254_740_993, 42];

fn contact(r: &Resolution) -> Option<&ContactRef> {
    match r {
        Resolution::Contact(c) => Some(c),
        _ => None,
    }
}

proptest! {
    #[test]
    fn one_person_per_email_once_a_customer_owns_it(events in prop::collection::vec(step(), 1..40)) {
        let ns = Namespace::parse("uk:").unwrap();
        let mut model = Model::default();
        // Which customer first claimed each email.
        let mut owner: HashMap<usize, ShopifyId> = HashMap::new();
        for e in events {
            let (resolution, again) = match e {
                Step::GuestOrder { email } => {
                    let em = normalise_email(EMAILS[email]).unwrap();
                    let snap = model.snapshot(None, &em);
                    let fresh = model.new_guest();
                    let out = resolve_purchase(&ns, &snap, None, Some(&em), || fresh);
                    model.apply(&out.decisions);
                    let again = resolve_purchase(&ns, &model.snapshot(None, &em), None, Some(&em), unreachable_guest);
                    if let Some(&c) = owner.get(&email) {
                        prop_assert_eq!(contact(&out.resolution).and_then(ContactRef::customer_id), Some(ns.id(c)),
                            "a guest purchase with a customer's email is that customer's");
                    }
                    (out.resolution, again.resolution)
                }
                Step::CustomerUpdate { customer, email } => {
                    let id = ShopifyId::new(CUSTOMERS[customer]);
                    let em = normalise_email(EMAILS[email]).unwrap();
                    // The email claim the worker makes before resolving.
                    model.claim(&em);
                    let out = resolve_customer(&ns, &model.snapshot(Some(id), &em), id);
                    model.apply(&out.decisions);
                    let linked = model.guests[em.as_str()].linked_customer;
                    owner.entry(email).or_insert_with(|| linked.unwrap_or(id));
                    let again = resolve_customer(&ns, &model.snapshot(Some(id), &em), id);
                    prop_assert_eq!(contact(&out.resolution).and_then(ContactRef::customer_id), Some(ns.id(id)));
                    prop_assert_eq!(contact(&out.resolution), Some(&listed(&model, &ns, id)),
                        "a customer always uses the listing chosen on its first event");
                    (out.resolution, again.resolution)
                }
                Step::CustomerOrder { customer, email } => {
                    let id = ShopifyId::new(CUSTOMERS[customer]);
                    let em = normalise_email(EMAILS[email]).unwrap();
                    let fresh = model.new_guest();
                    let out = resolve_purchase(&ns, &model.snapshot(Some(id), &em), Some(id), Some(&em), || fresh);
                    model.apply(&out.decisions);
                    let again = resolve_purchase(&ns, &model.snapshot(Some(id), &em), Some(id), Some(&em), unreachable_guest);
                    prop_assert_eq!(contact(&out.resolution), Some(&listed(&model, &ns, id)));
                    (out.resolution, again.resolution)
                }
            };
            prop_assert_eq!(&resolution, &again, "a redelivery resolves to the same contact");
            if let Some(c) = contact(&resolution) {
                let id = c.ometria_id();
                prop_assert!(!id.contains('@'), "an Ometria id holds an email: {}", id);
                for raw in EMAILS {
                    let local = raw.split('@').next().unwrap().to_lowercase();
                    prop_assert!(!id.to_lowercase().contains(&local), "{} leaks {}", id, local);
                }
            }
        }
    }
}

/// The customer's contact on the listing the model recorded for it.
fn listed(model: &Model, ns: &Namespace, id: ShopifyId) -> ContactRef {
    ContactRef::customer_on(ns, id, model.listings.get(&id).cloned().unwrap_or_default())
}

/// A redelivery must not need a new guest: the first one is remembered.
fn unreachable_guest() -> GuestId {
    GuestId::from_random([0xee; 16])
}
