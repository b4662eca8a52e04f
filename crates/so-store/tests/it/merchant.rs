use std::collections::BTreeMap;

use serde_json::json;
use so_domain::ShopifyId;
use so_domain::mapping::{Buyer, OrderState, OrderStatus};
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::shopify::Money;
use so_store::{CheckoutChange, Commit, CommitOutcome, HeldChange};

use crate::support::*;

on_both_backends!(
    a_contacts_orders_are_found_by_its_ometria_id,
    held_records_merge_and_release_in_event_order,
    subscriptions_are_remembered_per_shop,
    checkouts_move_forward_complete_and_know_what_was_notified,
    attribute_marks_only_grow_clear_by_their_seq_and_skip_waiting_shops,
    only_marks_made_before_the_cutoff_are_settled,
);

fn order(id: u64, contact: Option<&str>) -> OrderState {
    OrderState {
        order_id: ShopifyId::new(id),
        presentment_currency: None,
        timestamp: at(0).fixed_offset(),
        currency: "GBP".to_owned(),
        grand_total: Money::parse("10.00").unwrap(),
        base_status: OrderStatus::Paid,
        test: false,
        lines: Vec::new(),
        refunds: BTreeMap::new(),
        buyer: contact.map(|c| Buyer {
            id: c.to_owned(),
            collection: "shopify_customers".to_owned(),
            customer_id: Some(c.to_owned()),
        }),
    }
}

async fn committed(store: &so_store::Store, commit: Commit) {
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );
}

async fn a_contacts_orders_are_found_by_its_ometria_id(ctx: Ctx) {
    let store = &ctx.store;
    committed(
        store,
        Commit {
            order_states: vec![
                (shop(), order(1, Some("uk:7"))),
                (shop(), order(2, Some("uk:7"))),
                (shop(), order(3, Some("uk:8"))),
                (shop(), order(4, None)),
                (other_shop(), order(5, Some("uk:7"))),
            ],
            ..Commit::default()
        },
    )
    .await;
    let mut ids: Vec<u64> = store
        .orders_of_contact(&shop(), "uk:7")
        .await
        .unwrap()
        .iter()
        .map(|o| o.order_id.get())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2]);
    // Re-storing an order under another contact moves it.
    committed(
        store,
        Commit {
            order_states: vec![(shop(), order(2, Some("uk:8")))],
            ..Commit::default()
        },
    )
    .await;
    assert_eq!(
        store
            .orders_of_contact(&shop(), "uk:7")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .orders_of_contact(&shop(), "uk:8")
            .await
            .unwrap()
            .len(),
        2
    );
}

fn contact(id: &str, body: serde_json::Value) -> PushRecord {
    PushRecord {
        record_type: RecordType::Contact,
        id: id.to_owned(),
        body: body.as_object().unwrap().clone(),
    }
}

async fn held_records_merge_and_release_in_event_order(ctx: Ctx) {
    let store = &ctx.store;
    let hold = |record: PushRecord, secs| {
        (
            shop(),
            HeldChange::Hold {
                contact: "c1".to_owned(),
                record,
                at: at(secs),
            },
        )
    };
    committed(
        store,
        Commit {
            held: vec![
                hold(contact("c1", json!({"@type": "contact", "id": "c1", "email": "a@b.co", "firstname": "A"})), 1),
                hold(contact("c1", json!({"@type": "contact", "id": "c1", "firstname": "Ann"})), 2),
            ],
            ..Commit::default()
        },
    )
    .await;
    let held = store.held_records(&shop(), "c1").await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].body["email"], "a@b.co", "merged, not replaced");
    assert_eq!(held[0].body["firstname"], "Ann");
    assert_eq!(store.held_contacts(&shop()).await.unwrap(), 1);
    // Release then hold again in one commit: the later hold survives.
    committed(
        store,
        Commit {
            held: vec![
                (
                    shop(),
                    HeldChange::Release {
                        contact: "c1".to_owned(),
                    },
                ),
                hold(
                    contact(
                        "c1",
                        json!({"@type": "contact", "id": "c1", "lastname": "B"}),
                    ),
                    3,
                ),
            ],
            ..Commit::default()
        },
    )
    .await;
    let held = store.held_records(&shop(), "c1").await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0].body.get("email").is_none());
    committed(
        store,
        Commit {
            held: vec![(
                shop(),
                HeldChange::Release {
                    contact: "c1".to_owned(),
                },
            )],
            ..Commit::default()
        },
    )
    .await;
    assert!(store.held_records(&shop(), "c1").await.unwrap().is_empty());
}

async fn subscriptions_are_remembered_per_shop(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.subscription(&shop(), "c1").await.unwrap(), None);
    committed(
        store,
        Commit {
            subscriptions: vec![
                (shop(), "c1".to_owned(), true),
                (shop(), "c1".to_owned(), false),
                (other_shop(), "c1".to_owned(), true),
            ],
            ..Commit::default()
        },
    )
    .await;
    assert_eq!(
        store.subscription(&shop(), "c1").await.unwrap(),
        Some(false)
    );
    assert_eq!(
        store.subscription(&other_shop(), "c1").await.unwrap(),
        Some(true)
    );
}

async fn checkouts_move_forward_complete_and_know_what_was_notified(ctx: Ctx) {
    let store = &ctx.store;
    let seen = |token: &str, secs, contact: &str| {
        (
            shop(),
            CheckoutChange::Seen {
                token: token.to_owned(),
                cart_token: None,
                version: at(secs),
                contact: Some(contact.to_owned()),
            },
        )
    };
    committed(
        store,
        Commit {
            checkouts: vec![
                seen("t1", 10, "c1"),
                seen("t1", 5, "c1"),
                seen("t2", 20, "c1"),
            ],
            ..Commit::default()
        },
    )
    .await;
    let row = store.checkout(&shop(), "t1").await.unwrap().unwrap();
    assert_eq!(
        row.version,
        at(10),
        "an older version does not move it back"
    );
    assert!(!row.completed && row.notified_version.is_none());
    assert!(
        store
            .newer_checkout_of_contact(&shop(), "c1", "t1", at(10))
            .await
            .unwrap()
    );
    assert!(
        !store
            .newer_checkout_of_contact(&shop(), "c1", "t2", at(20))
            .await
            .unwrap()
    );
    committed(
        store,
        Commit {
            checkouts: vec![
                (
                    shop(),
                    CheckoutChange::Notified {
                        token: "t2".to_owned(),
                        version: at(20),
                    },
                ),
                (
                    shop(),
                    CheckoutChange::Completed {
                        token: "t1".to_owned(),
                    },
                ),
                (
                    shop(),
                    CheckoutChange::Completed {
                        token: "t3".to_owned(),
                    },
                ),
            ],
            ..Commit::default()
        },
    )
    .await;
    assert!(
        store
            .checkout(&shop(), "t1")
            .await
            .unwrap()
            .unwrap()
            .completed
    );
    assert_eq!(
        store
            .checkout(&shop(), "t2")
            .await
            .unwrap()
            .unwrap()
            .notified_version,
        Some(at(20))
    );
    // An order can complete a checkout whose webhook never arrived.
    assert!(
        store
            .checkout(&shop(), "t3")
            .await
            .unwrap()
            .unwrap()
            .completed
    );
    assert!(store.checkout(&shop(), "nope").await.unwrap().is_none());
}

async fn attribute_marks_only_grow_clear_by_their_seq_and_skip_waiting_shops(ctx: Ctx) {
    let store = &ctx.store;
    let buyer = |id: &str| Buyer {
        id: id.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(id.to_owned()),
    };
    committed(
        store,
        Commit {
            behaviour_dirty: vec![(shop(), buyer("c1")), (other_shop(), buyer("c2"))],
            ..Commit::default()
        },
    )
    .await;
    let all = store.dirty_contacts(10, &[]).await.unwrap();
    assert_eq!(all.len(), 2);
    let only_other = store.dirty_contacts(10, &[shop()]).await.unwrap();
    assert_eq!(only_other.len(), 1);
    assert_eq!(only_other[0].buyer.id, "c2");
    // A newer mark survives clearing the one read before it.
    let read = all.iter().find(|d| d.buyer.id == "c1").unwrap().clone();
    committed(
        store,
        Commit {
            behaviour_dirty: vec![(shop(), buyer("c1"))],
            ..Commit::default()
        },
    )
    .await;
    committed(
        store,
        Commit {
            behaviour_sent: vec![(shop(), "c1".to_owned(), read.seq)],
            ..Commit::default()
        },
    )
    .await;
    assert_eq!(
        store
            .dirty_contacts(10, &[other_shop()])
            .await
            .unwrap()
            .len(),
        1,
        "re-marked"
    );
    let now = store.dirty_contacts(10, &[other_shop()]).await.unwrap();
    committed(
        store,
        Commit {
            behaviour_sent: vec![(shop(), "c1".to_owned(), now[0].seq)],
            ..Commit::default()
        },
    )
    .await;
    assert!(
        store
            .dirty_contacts(10, &[other_shop()])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Under a backlog the drain takes only contacts whose last mark is old enough; a contact marked
/// again meanwhile waits for its later changes.
async fn only_marks_made_before_the_cutoff_are_settled(ctx: Ctx) {
    let store = &ctx.store;
    let buyer = |id: &str| Buyer {
        id: id.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(id.to_owned()),
    };
    let mark = |id: &'static str| Commit {
        behaviour_dirty: vec![(shop(), buyer(id))],
        ..Commit::default()
    };
    committed(store, mark("early")).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cutoff = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    committed(store, mark("late")).await;
    let settled = store
        .settled_dirty_contacts(10, &[], Some(cutoff))
        .await
        .unwrap();
    let ids: Vec<&str> = settled.iter().map(|d| d.buyer.id.as_str()).collect();
    assert_eq!(ids, ["early"]);
    committed(store, mark("early")).await;
    let settled = store
        .settled_dirty_contacts(10, &[], Some(cutoff))
        .await
        .unwrap();
    assert!(settled.is_empty(), "marked again: not settled yet");
    let all = store
        .settled_dirty_contacts(10, &[other_shop()], None)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "without a cutoff every mark is due");
}
