//! OAuth tokens sealed at rest, their compare-and-swap refresh, the refresh lease, refusal,
//! uninstall, key rotation, and the single-use install `state` nonces.

use chrono::Duration;
use so_store::{Sealer, SealingKey, StateCheck, TokenPair, TokenState};
use sqlx::{AnyConnection, Connection, Row};

use crate::support::*;

on_both_backends!(
    installed_tokens_are_sealed_and_open_again,
    a_refresh_is_written_once_per_generation,
    two_processes_refreshing_at_once_have_one_winner,
    the_refresh_lease_is_exclusive_until_it_runs_out,
    a_refusal_and_an_uninstall_mark_the_shop,
    an_uninstall_older_than_the_last_install_is_ignored,
    rotation_reseals_every_row_under_the_current_key,
    state_nonces_are_single_use_per_shop_and_expire,
);

const SHOP: &str = "acme.myshopify.com";

fn sealer() -> Sealer {
    Sealer::new(SealingKey::from_bytes(&[9; 32]).unwrap(), vec![]).unwrap()
}

fn pair(n: u32) -> TokenPair {
    TokenPair {
        access_token: format!("shpat_access_{n}"),
        access_expires_at: Some(at(3600 * i64::from(n))),
        refresh_token: Some(format!("shprt_refresh_{n}")),
        refresh_expires_at: Some(at(90 * 86_400)),
        scopes: "read_customers,read_orders".to_owned(),
    }
}

/// Every text in the row, as the database holds it.
async fn raw_row(ctx: &Ctx) -> String {
    let mut conn = AnyConnection::connect(&ctx.url).await.unwrap();
    let row = sqlx::query(
        "SELECT COALESCE(access_token, ''), COALESCE(refresh_token, ''), scopes, state \
         FROM shop_tokens WHERE shop = $1",
    )
    .bind(SHOP)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    (0..4)
        .map(|i| row.get::<String, _>(i))
        .collect::<Vec<_>>()
        .join("|")
}

async fn installed_tokens_are_sealed_and_open_again(ctx: Ctx) {
    sqlx::any::install_default_drivers();
    let s = sealer();
    assert_eq!(ctx.store.shop_tokens(&s, SHOP).await.unwrap(), None);
    let generation = ctx
        .store
        .install_shop_tokens(&s, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(got.state, TokenState::Connected);
    assert_eq!(got.pair, Some(pair(1)));
    assert_eq!(got.generation, generation);
    let raw = raw_row(&ctx).await;
    assert!(!raw.contains("shpat_") && !raw.contains("shprt_"), "{raw}");
    assert!(raw.starts_with("v1."), "{raw}");
    let wrong = Sealer::new(SealingKey::from_bytes(&[8; 32]).unwrap(), vec![]).unwrap();
    assert!(ctx.store.shop_tokens(&wrong, SHOP).await.is_err());
}

async fn a_refresh_is_written_once_per_generation(ctx: Ctx) {
    let s = sealer();
    let g1 = ctx
        .store
        .install_shop_tokens(&s, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    let g2 = ctx
        .store
        .replace_shop_tokens(&s, SHOP, g1, &pair(2), at(10))
        .await
        .unwrap()
        .expect("first writer wins");
    assert!(g2 > g1);
    let late = ctx
        .store
        .replace_shop_tokens(&s, SHOP, g1, &pair(3), at(11))
        .await
        .unwrap();
    assert_eq!(late, None, "a stale generation must not overwrite");
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(got.pair, Some(pair(2)));
}

async fn two_processes_refreshing_at_once_have_one_winner(ctx: Ctx) {
    let s = sealer();
    let other = ctx.another_worker().await;
    let mut generation = ctx
        .store
        .install_shop_tokens(&s, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    for round in 0..10_u32 {
        let (mine, theirs) = (pair(100 + round), pair(200 + round));
        let (a, b) = tokio::join!(
            ctx.store
                .replace_shop_tokens(&s, SHOP, generation, &mine, at(1)),
            other.replace_shop_tokens(&s, SHOP, generation, &theirs, at(1)),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            a.is_some() != b.is_some(),
            "exactly one winner: {a:?} {b:?}"
        );
        let winner = if a.is_some() {
            100 + round
        } else {
            200 + round
        };
        let got = other.shop_tokens(&s, SHOP).await.unwrap().unwrap();
        assert_eq!(got.pair, Some(pair(winner)), "the winner's pair is whole");
        generation = a.or(b).unwrap();
    }
}

async fn the_refresh_lease_is_exclusive_until_it_runs_out(ctx: Ctx) {
    let s = sealer();
    let other = ctx.another_worker().await;
    let g = ctx
        .store
        .install_shop_tokens(&s, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    let store = &ctx.store;
    assert!(
        store
            .lease_shop_refresh(SHOP, g, "p1", at(0), at(30))
            .await
            .unwrap()
    );
    assert!(
        !other
            .lease_shop_refresh(SHOP, g, "p2", at(10), at(40))
            .await
            .unwrap()
    );
    assert!(
        other
            .lease_shop_refresh(SHOP, g, "p2", at(30), at(60))
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .lease_shop_refresh(SHOP, g, "p1", at(31), at(61))
            .await
            .unwrap()
    );
    store.release_shop_refresh(SHOP, "p1").await.unwrap();
    assert!(
        !store
            .lease_shop_refresh(SHOP, g, "p1", at(31), at(61))
            .await
            .unwrap(),
        "not p1's to release"
    );
    other.release_shop_refresh(SHOP, "p2").await.unwrap();
    assert!(
        store
            .lease_shop_refresh(SHOP, g, "p1", at(32), at(62))
            .await
            .unwrap()
    );
    // The write ends the lease; a lease on an old generation is refused.
    let g2 = store
        .replace_shop_tokens(&s, SHOP, g, &pair(2), at(33))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !other
            .lease_shop_refresh(SHOP, g, "p2", at(34), at(64))
            .await
            .unwrap()
    );
    assert!(
        other
            .lease_shop_refresh(SHOP, g2, "p2", at(34), at(64))
            .await
            .unwrap()
    );
}

async fn a_refusal_and_an_uninstall_mark_the_shop(ctx: Ctx) {
    let s = sealer();
    let g = ctx
        .store
        .install_shop_tokens(&s, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    assert!(
        !ctx.store
            .refuse_shop_tokens(SHOP, g + 1, "x", at(5))
            .await
            .unwrap()
    );
    assert!(
        ctx.store
            .refuse_shop_tokens(SHOP, g, "invalid_grant", at(5))
            .await
            .unwrap()
    );
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(got.state, TokenState::Refused);
    assert_eq!(got.refused_reason.as_deref(), Some("invalid_grant"));
    // What a status page reads, with no key at hand.
    let status = ctx.store.shop_token_status(SHOP).await.unwrap().unwrap();
    assert_eq!(
        (
            status.state,
            status.refused_reason.as_deref(),
            status.installed_at
        ),
        (TokenState::Refused, Some("invalid_grant"), at(0))
    );
    assert_eq!(status.access_expires_at, pair(1).access_expires_at);
    assert!(
        ctx.store
            .shop_token_status("none.myshopify.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ctx.store
            .replace_shop_tokens(&s, SHOP, g, &pair(2), at(6))
            .await
            .unwrap(),
        None,
        "a refused shop is not refreshed"
    );
    assert!(
        ctx.store
            .uninstall_shop_tokens(SHOP, at(7), at(8))
            .await
            .unwrap()
    );
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(got.state, TokenState::Uninstalled);
    assert_eq!(got.pair, None);
    assert_eq!(
        raw_row(&ctx).await,
        "||read_customers,read_orders|uninstalled"
    );
    // A reinstall connects it again.
    ctx.store
        .install_shop_tokens(&s, SHOP, &pair(3), at(9))
        .await
        .unwrap();
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.pair),
        (TokenState::Connected, Some(pair(3)))
    );
}

async fn an_uninstall_older_than_the_last_install_is_ignored(ctx: Ctx) {
    let s = sealer();
    ctx.store
        .install_shop_tokens(&s, SHOP, &pair(1), at(100))
        .await
        .unwrap();
    assert!(
        !ctx.store
            .uninstall_shop_tokens(SHOP, at(99), at(101))
            .await
            .unwrap()
    );
    assert!(
        !ctx.store
            .uninstall_shop_tokens("none.myshopify.com", at(200), at(201))
            .await
            .unwrap()
    );
    let got = ctx.store.shop_tokens(&s, SHOP).await.unwrap().unwrap();
    assert_eq!(got.state, TokenState::Connected);
}

async fn rotation_reseals_every_row_under_the_current_key(ctx: Ctx) {
    let old = sealer();
    ctx.store
        .install_shop_tokens(&old, SHOP, &pair(1), at(0))
        .await
        .unwrap();
    let new_key = SealingKey::from_bytes(&[10; 32]).unwrap();
    let rotated = Sealer::new(
        new_key.clone(),
        vec![SealingKey::from_bytes(&[9; 32]).unwrap()],
    )
    .unwrap();
    assert_eq!(ctx.store.rotate_sealed(&rotated).await.unwrap(), 1);
    assert_eq!(
        ctx.store.rotate_sealed(&rotated).await.unwrap(),
        0,
        "idempotent"
    );
    let only_new = Sealer::new(new_key, vec![]).unwrap();
    let got = ctx
        .store
        .shop_tokens(&only_new, SHOP)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.pair, Some(pair(1)));
    assert!(ctx.store.shop_tokens(&old, SHOP).await.is_err());
}

async fn state_nonces_are_single_use_per_shop_and_expire(ctx: Ctx) {
    let store = &ctx.store;
    let other = ctx.another_worker().await;
    let later = |s| at(0) + Duration::seconds(s);
    store
        .put_oauth_state("n1", SHOP, later(600), at(0))
        .await
        .unwrap();
    store
        .put_oauth_state("n2", SHOP, later(600), at(0))
        .await
        .unwrap();
    store
        .put_oauth_state("n3", SHOP, later(60), at(0))
        .await
        .unwrap();
    assert_eq!(
        other.take_oauth_state("n1", SHOP, at(10)).await.unwrap(),
        StateCheck::Valid
    );
    assert_eq!(
        store.take_oauth_state("n1", SHOP, at(11)).await.unwrap(),
        StateCheck::Unknown
    );
    assert_eq!(
        store
            .take_oauth_state("n2", "evil.myshopify.com", at(12))
            .await
            .unwrap(),
        StateCheck::OtherShop
    );
    assert_eq!(
        store.take_oauth_state("n2", SHOP, at(13)).await.unwrap(),
        StateCheck::Unknown
    );
    assert_eq!(
        store.take_oauth_state("n3", SHOP, at(61)).await.unwrap(),
        StateCheck::Expired
    );
    assert_eq!(
        store.take_oauth_state("nope", SHOP, at(1)).await.unwrap(),
        StateCheck::Unknown
    );
    store
        .put_oauth_state("n4", SHOP, later(600), at(0))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        store.take_oauth_state("n4", SHOP, at(5)),
        other.take_oauth_state("n4", SHOP, at(5)),
    );
    let valid = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|c| **c == StateCheck::Valid)
        .count();
    assert_eq!(valid, 1, "one of two concurrent callbacks");
}
