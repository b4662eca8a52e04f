//! A shop's activity log reads: the newest webhooks (ledger), profile sends and rejections,
//! newest first, limited, and only the shop's own.

use so_store::{Commit, CommitOutcome, LedgerEntry, ProfileSendCounts, ProfileSendRow};

use crate::support::*;

on_both_backends!(
    recent_webhooks_are_the_shops_newest_first_and_limited,
    recent_profile_sends_and_rejections_are_the_shops_newest_first,
);

async fn recent_webhooks_are_the_shops_newest_first_and_limited(ctx: Ctx) {
    let store = &ctx.store;
    assert!(
        store
            .recent_webhooks(&shop(), 5, "")
            .await
            .unwrap()
            .is_empty()
    );
    // Committed out of time order: the order must come from `seen_at`.
    let mut ledger: Vec<LedgerEntry> = [(3, 30), (1, 10), (4, 40), (2, 20)]
        .into_iter()
        .map(|(n, secs)| entry(n, None, secs))
        .collect();
    // Synthesized by a backfill: newest, but left out when asked.
    ledger.push(LedgerEntry {
        webhook_id: so_domain::WebhookId::parse("bf-abc").unwrap(),
        ..entry(5, None, 50)
    });
    ledger.push(LedgerEntry {
        shop: other_shop(),
        ..entry(9, None, 99)
    });
    let done = store
        .commit(&Commit {
            ledger,
            ..Commit::default()
        })
        .await
        .unwrap();
    assert_eq!(done, CommitOutcome::Committed);
    let all = store.recent_webhooks(&shop(), 1, "").await.unwrap();
    assert_eq!(all[0].webhook_id, "bf-abc");
    let got = store.recent_webhooks(&shop(), 3, "bf-").await.unwrap();
    let ids: Vec<(&str, i64)> = got
        .iter()
        .map(|w| {
            (
                w.webhook_id.as_str(),
                w.seen_at.timestamp() - at(0).timestamp(),
            )
        })
        .collect();
    assert_eq!(ids, [("wh-4", 40), ("wh-3", 30), ("wh-2", 20)]);
    assert!(got.iter().all(|w| w.topic == "orders/updated"));
    let other = store
        .recent_webhooks(&other_shop(), 10, "bf-")
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].webhook_id, "wh-9");
}

fn send(id: &str, start: i64, outcome: &str) -> ProfileSendRow {
    ProfileSendRow {
        id: id.to_owned(),
        shop: shop(),
        kind: "on_demand".to_owned(),
        choices: "{}".to_owned(),
        started_at: at(start),
        finished_at: (outcome != "running").then(|| at(start + 1)),
        counts: ProfileSendCounts {
            read: 3,
            matched: 2,
            published: 2,
        },
        outcome: outcome.to_owned(),
        detail: None,
    }
}

async fn recent_profile_sends_and_rejections_are_the_shops_newest_first(ctx: Ctx) {
    let store = &ctx.store;
    for s in [
        send("a", 10, "completed"),
        send("c", 30, "running"),
        send("b", 20, "failed"),
    ] {
        store.save_profile_send(&s).await.unwrap();
    }
    store
        .save_profile_send(&ProfileSendRow {
            shop: other_shop(),
            ..send("z", 99, "completed")
        })
        .await
        .unwrap();
    let sends = store.recent_profile_sends(&shop(), 2).await.unwrap();
    assert_eq!(
        sends,
        vec![send("c", 30, "running"), send("b", 20, "failed")]
    );

    for (fp, secs, reason) in [("x", 10, "old"), ("y", 30, "newest"), ("w", 20, "middle")] {
        store
            .record_ometria_rejection("acct", fp, &shop(), at(secs), reason)
            .await
            .unwrap();
    }
    store
        .record_ometria_rejection("acct", "o", &other_shop(), at(99), "other")
        .await
        .unwrap();
    let got = store.recent_rejections(&shop(), 10).await.unwrap();
    let reasons: Vec<(&str, i64)> = got
        .iter()
        .map(|r| {
            (
                r.reason.as_str(),
                r.rejected_at.timestamp() - at(0).timestamp(),
            )
        })
        .collect();
    assert_eq!(reasons, [("newest", 30), ("middle", 20), ("old", 10)]);
}
