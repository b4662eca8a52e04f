use so_domain::freshness::EntityKind;
use so_store::CommitOutcome;

use crate::support::*;

on_both_backends!(
    a_watermark_never_moves_backwards,
    an_equal_version_from_another_webhook_is_accepted,
    batch_read_lines_up_with_the_keys,
    concurrent_commits_leave_the_newest_version,
);

async fn a_watermark_never_moves_backwards(ctx: Ctx) {
    let store = &ctx.store;
    let order = key(EntityKind::Order, "1001");
    assert_eq!(store.watermark(&order).await.unwrap(), None);

    let newer = store.commit(&advancing(&order, 1, 10)).await.unwrap();
    let older = store.commit(&advancing(&order, 2, 5)).await.unwrap();

    assert_eq!(newer, CommitOutcome::Committed);
    assert_eq!(
        older,
        CommitOutcome::Superseded {
            keys: vec![order.clone()]
        }
    );
    assert_eq!(store.watermark(&order).await.unwrap(), Some(mark(1, 10)));
}

async fn an_equal_version_from_another_webhook_is_accepted(ctx: Ctx) {
    let store = &ctx.store;
    let customer = key(EntityKind::Customer, "42");
    assert_eq!(
        store.commit(&advancing(&customer, 1, 10)).await.unwrap(),
        CommitOutcome::Committed
    );

    let same_second = store.commit(&advancing(&customer, 2, 10)).await.unwrap();

    assert_eq!(same_second, CommitOutcome::Committed);
    assert_eq!(store.watermark(&customer).await.unwrap(), Some(mark(2, 10)));
}

async fn batch_read_lines_up_with_the_keys(ctx: Ctx) {
    let store = &ctx.store;
    // More keys than one batched query carries.
    let keys: Vec<_> = (0..450)
        .map(|i| key(EntityKind::Product, &i.to_string()))
        .collect();
    let stored: Vec<_> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(i, k)| (k.clone(), mark(1, i64::try_from(i).unwrap())))
        .collect();
    let commit = so_store::Commit {
        watermarks: stored,
        ..so_store::Commit::default()
    };
    assert_eq!(
        store.commit(&commit).await.unwrap(),
        CommitOutcome::Committed
    );

    let read = store.watermarks(&keys).await.unwrap();

    assert_eq!(read.len(), keys.len());
    for (i, got) in read.iter().enumerate() {
        let expected = (i % 3 == 0).then(|| mark(1, i64::try_from(i).unwrap()));
        assert_eq!(got, &expected, "key {i}");
    }
    assert!(store.watermarks(&[]).await.unwrap().is_empty());
}

async fn concurrent_commits_leave_the_newest_version(ctx: Ctx) {
    let other = ctx.another_worker().await;
    let product = key(EntityKind::Product, "7");
    let versions: Vec<i64> = vec![3, 17, 1, 12, 19, 0, 8, 15, 4, 11, 6, 18, 2, 9, 14, 5];

    let tasks: Vec<_> = versions
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let store = if i % 2 == 0 {
                ctx.store.clone()
            } else {
                other.clone()
            };
            let commit = advancing(&product, u32::try_from(i).unwrap(), v);
            tokio::spawn(async move { (v, store.commit(&commit).await.unwrap()) })
        })
        .collect();
    for task in tasks {
        let (version, outcome) = task.await.unwrap();
        if version == 19 {
            assert_eq!(outcome, CommitOutcome::Committed, "the newest always lands");
        }
    }

    let newest = ctx.store.watermark(&product).await.unwrap().unwrap();
    assert_eq!(newest.version, at(19));
    other.close().await;
}
