//! The shared record of Ometria `_errors` items already handled: one claim
//! wins across worker processes, per account; pruning forgets old ones.

use crate::support::*;

on_both_backends!(
    one_worker_wins_the_claim_of_an_error_item_per_account,
    concurrent_claims_from_two_processes_have_one_winner,
    pruning_forgets_only_items_claimed_before_the_cutoff,
);

async fn one_worker_wins_the_claim_of_an_error_item_per_account(ctx: Ctx) {
    let other = ctx.another_worker().await;
    assert!(
        ctx.store
            .claim_ometria_error("acct-a", "fp1", at(0))
            .await
            .unwrap()
    );
    assert!(
        !other
            .claim_ometria_error("acct-a", "fp1", at(5))
            .await
            .unwrap()
    );
    assert!(
        !ctx.store
            .claim_ometria_error("acct-a", "fp1", at(6))
            .await
            .unwrap()
    );
    assert!(
        other
            .claim_ometria_error("acct-b", "fp1", at(7))
            .await
            .unwrap(),
        "per account"
    );
    assert!(
        other
            .claim_ometria_error("acct-a", "fp2", at(8))
            .await
            .unwrap()
    );
}

async fn concurrent_claims_from_two_processes_have_one_winner(ctx: Ctx) {
    let other = ctx.another_worker().await;
    for i in 0..20 {
        let fp = format!("fp{i}");
        let (a, b) = tokio::join!(
            ctx.store.claim_ometria_error("acct", &fp, at(i)),
            other.claim_ometria_error("acct", &fp, at(i)),
        );
        assert_eq!(
            u8::from(a.unwrap()) + u8::from(b.unwrap()),
            1,
            "exactly one winner for {fp}"
        );
    }
}

async fn pruning_forgets_only_items_claimed_before_the_cutoff(ctx: Ctx) {
    let store = &ctx.store;
    assert!(
        store
            .claim_ometria_error("acct", "old", at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_ometria_error("acct", "new", at(100))
            .await
            .unwrap()
    );
    assert_eq!(store.prune_ometria_errors(at(50)).await.unwrap(), 1);
    assert!(
        store
            .claim_ometria_error("acct", "old", at(101))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_ometria_error("acct", "new", at(101))
            .await
            .unwrap()
    );
}
