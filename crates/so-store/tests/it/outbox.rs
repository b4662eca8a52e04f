//! The bulk reads behind behavioural attributes agree with the one-contact reads.

use so_domain::ShopifyId;
use so_domain::identity::{CustomerStatus, IdentityDecision};
use so_store::{Commit, CommitOutcome};

use crate::support::*;

on_both_backends!(
    marks_of_a_page_of_contacts_come_in_one_read,
    orders_of_many_contacts_are_grouped_by_contact,
    only_customers_that_are_not_active_have_a_status,
    subscriptions_of_many_contacts_come_in_one_read,
);

async fn committed(store: &so_store::Store, commit: Commit) {
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );
}

fn ids(contacts: &[&str]) -> Vec<String> {
    contacts.iter().map(|c| (*c).to_owned()).collect()
}

async fn marks_of_a_page_of_contacts_come_in_one_read(ctx: Ctx) {
    let store = &ctx.store;
    committed(
        store,
        Commit {
            behaviour_dirty: vec![
                (shop(), buyer("c1")),
                (shop(), buyer("c2")),
                (other_shop(), buyer("c3")),
            ],
            ..Commit::default()
        },
    )
    .await;
    let marks = store
        .dirty_marks(&shop(), &ids(&["c1", "c3", "c4"]))
        .await
        .unwrap();
    let listed = store.dirty_contacts(10, &[other_shop()]).await.unwrap();
    let c1 = listed.iter().find(|d| d.buyer.id == "c1").unwrap();
    assert_eq!(
        marks.len(),
        1,
        "c3 is another shop's, c4 unmarked: {marks:?}"
    );
    assert_eq!(marks["c1"], c1.seq, "the seq the drain would clear");
}

async fn orders_of_many_contacts_are_grouped_by_contact(ctx: Ctx) {
    let store = &ctx.store;
    committed(
        store,
        Commit {
            order_states: vec![
                (shop(), order(1, "c1")),
                (shop(), order(2, "c1")),
                (shop(), order(3, "c2")),
                (other_shop(), order(4, "c1")),
            ],
            ..Commit::default()
        },
    )
    .await;
    let found = store
        .orders_of_contacts(&shop(), &ids(&["c1", "c2", "c9"]))
        .await
        .unwrap();
    let mut c1: Vec<u64> = found["c1"].iter().map(|o| o.order_id.get()).collect();
    c1.sort_unstable();
    assert_eq!(c1, [1, 2]);
    assert_eq!(found["c2"].len(), 1);
    assert!(!found.contains_key("c9"));
    for contact in ["c1", "c2"] {
        let one = store.orders_of_contact(&shop(), contact).await.unwrap();
        assert_eq!(one.len(), found[contact].len(), "{contact}");
    }
}

async fn only_customers_that_are_not_active_have_a_status(ctx: Ctx) {
    let store = &ctx.store;
    let (deleted, merged, active) = (ShopifyId::new(1), ShopifyId::new(2), ShopifyId::new(3));
    let decisions = [
        IdentityDecision::MarkCustomerDeleted {
            customer_id: deleted,
        },
        IdentityDecision::RedirectCustomer {
            from: merged,
            to: BIG,
        },
    ];
    let _applied = store.apply_identity(&shop(), &decisions).await.unwrap();
    let found = store
        .customer_statuses(&shop(), &[deleted, merged, active, BIG])
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[&deleted], CustomerStatus::Deleted);
    assert_eq!(found[&merged], CustomerStatus::MergedInto(BIG));
    for id in [deleted, merged, active] {
        let one = store
            .identity_snapshot(&shop(), Some(id), None)
            .await
            .unwrap();
        let bulk = found.get(&id).copied().unwrap_or(CustomerStatus::Active);
        assert_eq!(one.customer, bulk, "{id}");
    }
}

async fn subscriptions_of_many_contacts_come_in_one_read(ctx: Ctx) {
    let store = &ctx.store;
    committed(
        store,
        Commit {
            subscriptions: vec![
                (shop(), "c1".to_owned(), true),
                (shop(), "c2".to_owned(), false),
                (other_shop(), "c3".to_owned(), true),
            ],
            ..Commit::default()
        },
    )
    .await;
    let found = store
        .subscriptions(&shop(), &ids(&["c1", "c2", "c3"]))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(found["c1"]);
    assert!(!found["c2"]);
}
