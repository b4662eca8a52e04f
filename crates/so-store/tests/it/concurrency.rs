//! Several workers (separate pools on one database) racing on the same email. No sleeps: the
//! tasks start together and the database alone decides the order.

use std::collections::HashSet;
use std::sync::Arc;

use so_domain::ShopifyId;
use so_domain::identity::{
    ContactRef, GuestId, IdentityDecision, Namespace, NormalisedEmail, Resolution,
    resolve_customer, resolve_purchase,
};
use so_store::{IdentityApplied, Store};
use tokio::sync::Barrier;

use crate::support::*;

on_both_backends!(
    racing_first_orders_agree_on_one_guest,
    a_first_order_racing_the_account_creation_ends_with_one_contact,
    commits_touching_the_same_rows_in_any_order_all_commit,
);

const TASKS: usize = 24;
const CUSTOMER: ShopifyId = ShopifyId::new(42);

async fn racing_first_orders_agree_on_one_guest(ctx: Ctx) {
    let workers = [ctx.store.clone(), ctx.another_worker().await];
    let start = Arc::new(Barrier::new(TASKS));
    let jo = email("jo@example.com");

    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = workers[i % 2].clone();
            let (start, jo) = (Arc::clone(&start), jo.clone());
            tokio::spawn(async move {
                let mine = Store::new_guest_id();
                let decision = IdentityDecision::RememberGuest {
                    email: jo,
                    guest_id: mine.clone(),
                };
                start.wait().await;
                match store.apply_identity(&shop(), &[decision]).await.unwrap() {
                    IdentityApplied::Applied => (true, mine),
                    IdentityApplied::GuestTaken { winner } => (false, winner),
                    IdentityApplied::ListingTaken => unreachable!("no listing was set"),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }

    let winners = outcomes.iter().filter(|(won, _)| *won).count();
    let ids: HashSet<&GuestId> = outcomes.iter().map(|(_, id)| id).collect();
    let stored = ctx
        .store
        .guest_for_email(&shop(), &jo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(winners, 1);
    assert_eq!(ids, HashSet::from([&stored]));
    workers[1].close().await;
}

/// The worker's loop for an order with only an email: decide, apply, and on a lost race reload
/// and decide again.
async fn process_guest_order(store: &Store, email: &NormalisedEmail) -> ContactRef {
    let ns = Namespace::default();
    loop {
        let snap = store
            .identity_snapshot(&shop(), None, Some(email))
            .await
            .unwrap();
        let out = resolve_purchase(&ns, &snap, None, Some(email), Store::new_guest_id);
        match store.apply_identity(&shop(), &out.decisions).await.unwrap() {
            IdentityApplied::Applied => match out.resolution {
                Resolution::Contact(contact) => return contact,
                other => panic!("a guest order has a contact, got {other:?}"),
            },
            IdentityApplied::GuestTaken { .. } | IdentityApplied::ListingTaken => {}
        }
    }
}

/// Account creation as the worker does it: claim the email (unless a guest has it), then let
/// the rules link the guest and choose the listing, deciding again after a lost race.
async fn process_account_creation(store: &Store, email: &NormalisedEmail) -> (GuestId, ContactRef) {
    let ns = Namespace::default();
    let guest = store
        .claim_email(&shop(), email, &Store::new_guest_id(), CUSTOMER)
        .await
        .unwrap();
    loop {
        let snap = store
            .identity_snapshot(&shop(), Some(CUSTOMER), Some(email))
            .await
            .unwrap();
        let out = resolve_customer(&ns, &snap, CUSTOMER);
        let Resolution::Contact(contact) = out.resolution else {
            panic!("an active customer has a contact");
        };
        assert_eq!(contact.customer_id(), Some(CUSTOMER.to_string()));
        match store.apply_identity(&shop(), &out.decisions).await.unwrap() {
            IdentityApplied::Applied => return (guest, contact),
            IdentityApplied::ListingTaken => {}
            other => panic!("{other:?}"),
        }
    }
}

async fn a_first_order_racing_the_account_creation_ends_with_one_contact(ctx: Ctx) {
    let workers = [ctx.store.clone(), ctx.another_worker().await];
    let start = Arc::new(Barrier::new(TASKS));
    let jo = email("jo@example.com");
    let ns = Namespace::default();

    let orders: Vec<_> = (0..TASKS / 2)
        .map(|i| {
            let store = workers[i % 2].clone();
            let (start, jo) = (Arc::clone(&start), jo.clone());
            tokio::spawn(async move {
                start.wait().await;
                process_guest_order(&store, &jo).await
            })
        })
        .collect();
    let accounts: Vec<_> = (0..TASKS / 2)
        .map(|i| {
            let store = workers[(i + 1) % 2].clone();
            let (start, jo) = (Arc::clone(&start), jo.clone());
            tokio::spawn(async move {
                start.wait().await;
                process_account_creation(&store, &jo).await
            })
        })
        .collect();
    let mut contacts = HashSet::new();
    for task in orders {
        contacts.insert(task.await.unwrap());
    }
    let mut account_guests = HashSet::new();
    let mut account_contacts = HashSet::new();
    for task in accounts {
        let (guest, contact) = task.await.unwrap();
        account_guests.insert(guest);
        account_contacts.insert(contact);
    }

    let stored = ctx
        .store
        .guest_for_email(&shop(), &jo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        account_guests,
        HashSet::from([stored.clone()]),
        "one guest id per email"
    );
    assert_eq!(
        account_contacts.len(),
        1,
        "every account event used one listing"
    );
    let account = account_contacts.into_iter().next().unwrap();
    // An order that made the guest first made the account adopt it: one contact in all.
    if contacts.contains(&ContactRef::guest(&ns, stored.clone())) {
        assert_eq!(account.ometria_id(), stored.as_str());
    }
    let allowed = HashSet::from([ContactRef::guest(&ns, stored), account]);
    assert!(
        contacts.is_subset(&allowed),
        "orders used only the one guest or the customer: {contacts:?}"
    );
    let after = ctx
        .store
        .identity_snapshot(&shop(), None, Some(&jo))
        .await
        .unwrap();
    assert_eq!(after.guest.unwrap().linked_customer, Some(CUSTOMER));
    workers[1].close().await;
}

/// Batches committing the same rows in different orders (the same minimal products named by the
/// orders of several batches; contacts marked by one batch and cleared by another) all commit:
/// the store locks rows in one fixed order, so PostgreSQL never aborts one of them as a deadlock
/// (whose events would be redelivered and pushed again, a second later).
async fn commits_touching_the_same_rows_in_any_order_all_commit(ctx: Ctx) {
    let workers = [ctx.store.clone(), ctx.another_worker().await];
    let start = Arc::new(Barrier::new(TASKS));
    let products: Vec<so_store::ProductRecordKey> =
        (1..=30).map(|p| (ShopifyId::new(p), None)).collect();
    let buyer = |i: usize| so_domain::mapping::Buyer {
        id: format!("c{i}"),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(format!("c{i}")),
    };
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = workers[i % 2].clone();
            let start = Arc::clone(&start);
            let mut mine = products.clone();
            mine.rotate_left(i % products.len());
            if i % 2 == 1 {
                mine.reverse();
            }
            let mut contacts: Vec<usize> = (0..10).collect();
            contacts.rotate_left(i % 10);
            let (marked, cleared) = contacts.split_at(5);
            let commit = so_store::Commit {
                products_known: mine.into_iter().map(|k| (shop(), k)).collect(),
                behaviour_dirty: marked.iter().map(|&c| (shop(), buyer(c))).collect(),
                behaviour_sent: cleared
                    .iter()
                    .map(|&c| (shop(), format!("c{c}"), 1))
                    .collect(),
                ..so_store::Commit::default()
            };
            tokio::spawn(async move {
                start.wait().await;
                store.commit(&commit).await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(
            matches!(outcome, Ok(so_store::CommitOutcome::Committed)),
            "{outcome:?}"
        );
    }
    workers[1].close().await;
}
