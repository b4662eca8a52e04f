//! Contact property snapshots: concurrent updates from separate worker pools keep every key, and
//! a push of a superseded snapshot puts the contact back in the outbox.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use so_domain::mapping::Buyer;
use so_store::{Commit, CommitOutcome};
use tokio::sync::Barrier;

use crate::support::*;

on_both_backends!(
    racing_updates_of_one_contact_lose_no_key,
    an_update_that_changes_nothing_keeps_the_version,
    a_pushed_snapshot_that_was_superseded_marks_the_contact_again,
    a_page_of_updates_in_reversed_orders_from_two_workers_loses_nothing,
    a_page_larger_than_a_query_chunk_merges_like_one_update_at_a_time,
);

const TASKS: usize = 16;
const CONTACT: &str = "uk:42";

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn buyer() -> Buyer {
    Buyer {
        id: CONTACT.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(CONTACT.to_owned()),
    }
}

/// Tags from the customer's partition and attributes from the drain of another worker, all at
/// once: a read-merge-write without the compare-and-set would drop some of them.
async fn racing_updates_of_one_contact_lose_no_key(ctx: Ctx) {
    let workers = [ctx.store.clone(), ctx.another_worker().await];
    let start = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = workers[i % 2].clone();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let update = props(json!({ format!("key_{i}"): i, "shared": i }));
                store
                    .merge_contact_properties(&shop(), CONTACT, &update)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        let snap = t.await.unwrap();
        assert!(snap.properties.contains_key("shared"));
        seen.push(snap.version);
    }
    let last = ctx
        .store
        .contact_properties(&shop(), CONTACT)
        .await
        .unwrap();
    for i in 0..TASKS {
        assert_eq!(
            last.properties[&format!("key_{i}")],
            json!(i),
            "key_{i} kept"
        );
    }
    assert_eq!(last.version, TASKS as i64, "one version per update");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), TASKS, "every update got its own version");
    workers[1].close().await;
}

async fn an_update_that_changes_nothing_keeps_the_version(ctx: Ctx) {
    let store = &ctx.store;
    let a = store
        .merge_contact_properties(&shop(), CONTACT, &props(json!({"shopify_tags": ["vip"]})))
        .await
        .unwrap();
    let b = store
        .merge_contact_properties(&shop(), CONTACT, &props(json!({"shopify_tags": ["vip"]})))
        .await
        .unwrap();
    assert_eq!((a.version, b.version), (1, 1));
    let c = store
        .merge_contact_properties(&shop(), CONTACT, &props(json!({"orders_count": 2})))
        .await
        .unwrap();
    assert_eq!(c.version, 2);
    assert_eq!(
        Value::Object(c.properties),
        json!({"shopify_tags": ["vip"], "orders_count": 2})
    );
    // Another shop's contact with the same id is another contact.
    assert_eq!(
        store
            .contact_properties(&other_shop(), CONTACT)
            .await
            .unwrap()
            .version,
        0
    );
}

async fn a_pushed_snapshot_that_was_superseded_marks_the_contact_again(ctx: Ctx) {
    let store = &ctx.store;
    let v1 = store
        .merge_contact_properties(&shop(), CONTACT, &props(json!({"a": 1})))
        .await
        .unwrap();
    let pushed = |version| Commit {
        properties_pushed: vec![(shop(), buyer(), version)],
        ..Commit::default()
    };
    // The newest snapshot was pushed: nothing more to do.
    assert_eq!(
        store.commit(&pushed(v1.version)).await.unwrap(),
        CommitOutcome::Committed
    );
    assert!(store.dirty_contacts(10, &[]).await.unwrap().is_empty());
    // Another writer moved on after this push read its snapshot: send the newest again.
    let _v2 = store
        .merge_contact_properties(&shop(), CONTACT, &props(json!({"b": 2})))
        .await
        .unwrap();
    assert_eq!(
        store.commit(&pushed(v1.version)).await.unwrap(),
        CommitOutcome::Committed
    );
    let dirty = store.dirty_contacts(10, &[]).await.unwrap();
    assert_eq!(dirty.len(), 1);
    assert_eq!(dirty[0].buyer, buyer());
}

/// The drain merges a page of contacts in one transaction. Two workers merging the same
/// contacts listed in opposite orders must neither deadlock (PostgreSQL) nor lose a key, and
/// each answer lines up with its own update.
async fn a_page_of_updates_in_reversed_orders_from_two_workers_loses_nothing(ctx: Ctx) {
    let contacts: Vec<String> = (0..20).map(|i| format!("uk:{i}")).collect();
    let page = |worker: usize| -> Vec<(so_domain::ShopDomain, String, Map<String, Value>)> {
        let mut page: Vec<_> = contacts
            .iter()
            .map(|c| (shop(), c.clone(), props(json!({ format!("w{worker}"): c }))))
            .collect();
        if worker == 1 {
            page.reverse();
        }
        page
    };
    let workers = [ctx.store.clone(), ctx.another_worker().await];
    let tasks: Vec<_> = (0..2)
        .map(|w| {
            let store = workers[w].clone();
            let page = page(w);
            tokio::spawn(async move {
                let answers = store.merge_contact_properties_many(&page).await.unwrap();
                (page, answers)
            })
        })
        .collect();
    for t in tasks {
        let (page, answers) = t.await.unwrap();
        for ((_, contact, update), answer) in page.iter().zip(&answers) {
            for (k, v) in update {
                assert_eq!(answer.properties.get(k), Some(v), "{contact}: its own key");
            }
        }
    }
    for c in &contacts {
        let last = ctx.store.contact_properties(&shop(), c).await.unwrap();
        assert_eq!(last.properties["w0"], json!(c), "{c}: worker 0's key kept");
        assert_eq!(last.properties["w1"], json!(c), "{c}: worker 1's key kept");
        assert_eq!(last.version, 2, "{c}: one version per update");
    }
    workers[1].close().await;
}

/// The drain's page is merged in a few bulk statements. More contacts than one statement
/// takes (400), some stored before, one listed twice, one with an empty update (a read) and
/// one whose update changes nothing: each answer is what merging the updates one at a time,
/// in the page's order, gives, and so is what is stored.
async fn a_page_larger_than_a_query_chunk_merges_like_one_update_at_a_time(ctx: Ctx) {
    let store = &ctx.store;
    let contact = |i: usize| format!("uk:{i}");
    for i in (0..900).step_by(3) {
        let old = props(json!({ "old": i, "n": -1 }));
        store
            .merge_contact_properties(&shop(), &contact(i), &old)
            .await
            .unwrap();
    }
    let mut page: Vec<(so_domain::ShopDomain, String, Map<String, Value>)> = (0..900)
        .rev()
        .map(|i| (shop(), contact(i), props(json!({ "n": i }))))
        .collect();
    page.push((shop(), contact(7), props(json!({ "again": true }))));
    page.push((shop(), contact(3), Map::new()));
    page.push((shop(), contact(5), props(json!({ "n": 5 }))));
    let answers = store.merge_contact_properties_many(&page).await.unwrap();
    assert_eq!(answers.len(), page.len());

    let expected = |i: usize, step: usize| -> (Value, i64) {
        let before = usize::from(i.is_multiple_of(3));
        let mut p = json!({ "n": i });
        if i.is_multiple_of(3) {
            p["old"] = json!(i);
        }
        if i == 7 && step > 0 {
            p["again"] = json!(true);
        }
        let version = before as i64 + 1 + i64::from(i == 7 && step > 0);
        (p, version)
    };
    for (n, ((_, c, _), answer)) in page.iter().zip(&answers).enumerate() {
        let i: usize = c.trim_start_matches("uk:").parse().unwrap();
        let (p, version) = expected(i, usize::from(n >= 900));
        assert_eq!(
            Value::Object(answer.properties.clone()),
            p,
            "answer {n} ({c})"
        );
        assert_eq!(answer.version, version, "answer {n} ({c})");
    }
    for i in 0..900 {
        let stored = store
            .contact_properties(&shop(), &contact(i))
            .await
            .unwrap();
        let (p, version) = expected(i, 1);
        assert_eq!(Value::Object(stored.properties), p, "{i} stored");
        assert_eq!(stored.version, version, "{i} stored");
    }
}
