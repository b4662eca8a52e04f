//! Every shop at a glance (the console's Shops page): the bulk read gives each shop what the
//! per-shop reads of `shops show` give it, only for the shops asked, across the ledger read's
//! chunks of shops; a synthesized event is not a shop's last webhook.

use so_domain::ShopDomain;
use so_store::{Commit, LedgerEntry, Store, WebhookCheck};

use crate::support::*;

on_both_backends!(the_glance_of_each_shop_is_what_its_own_reads_say);

fn many(n: usize) -> ShopDomain {
    ShopDomain::parse(&format!("shop-{n}.myshopify.com")).unwrap()
}

/// A few rows per table, spread over shops; shop 130 lies in the ledger read's second chunk.
async fn fill(store: &Store) {
    let ledger: Vec<LedgerEntry> = [(shop(), 1, 10), (shop(), 2, 30), (other_shop(), 3, 20)]
        .into_iter()
        .chain([(many(130), 4, 40), (many(7), 5, 5)])
        .map(|(s, n, secs)| LedgerEntry {
            shop: s,
            ..entry(n, None, secs)
        })
        // Synthesized by a backfill, newest of all: not a webhook from Shopify.
        .chain([LedgerEntry {
            webhook_id: so_domain::WebhookId::parse("bf-1").unwrap(),
            ..entry(6, None, 90)
        }])
        .collect();
    let done = store
        .commit(&Commit {
            ledger,
            ..Commit::default()
        })
        .await
        .unwrap();
    assert_eq!(done, so_store::CommitOutcome::Committed);
    store.record_push_accepted(&shop(), at(50)).await.unwrap();
    let check = WebhookCheck {
        checked_at: at(60),
        in_order: false,
        kind: "shop_specific".to_owned(),
        states: [("missing".to_owned(), 2)].into(),
    };
    store
        .save_webhook_check(&other_shop(), &check)
        .await
        .unwrap();
    for (fp, s, secs) in [("a", shop(), 100), ("b", shop(), 200), ("c", shop(), 5)] {
        store
            .record_ometria_rejection("acct", fp, &s, at(secs), "why")
            .await
            .unwrap();
    }
    let letters = [
        letter("dead_letter", "k1", &shop()),
        letter("dead_letter", "k2", &shop()),
        letter("dead_letter", "k3", &shop()),
        letter("parked", "k4", &shop()),
        letter("dead_letter", "k5", &many(130)),
    ];
    store.letters_indexed(&letters).await.unwrap();
    // A replayed letter no longer counts.
    store
        .letters_removed("dead_letter", &["k3".to_owned()])
        .await
        .unwrap();
}

async fn the_glance_of_each_shop_is_what_its_own_reads_say(ctx: Ctx) {
    let store = &ctx.store;
    fill(store).await;
    // Shop 7 has a ledger row but is not asked for: it must not appear.
    let asked: Vec<ShopDomain> = [shop(), other_shop()]
        .into_iter()
        .chain((100..150).map(many))
        .chain((8..100).map(many))
        .collect();
    let since = at(50);
    let glances = store.shops_at_a_glance(&asked, since, "bf-").await.unwrap();
    assert_eq!(glances.len(), asked.len());
    assert!(!glances.contains_key(many(7).as_str()));
    for s in &asked {
        let g = &glances[s.as_str()];
        let own = store.shop_activity(s, "bf-").await.unwrap();
        assert_eq!(g.last_webhook_at, own.last_webhook_at, "{s}");
        assert_eq!(g.last_push_at, store.last_push_accepted(s).await.unwrap());
        let check = store.last_webhook_check(s).await.unwrap();
        assert_eq!(g.subscriptions, check.map(|c| (c.checked_at, c.in_order)));
        let rejections = store.ometria_rejections_since(s, since).await.unwrap();
        assert_eq!(g.rejections, rejections.count, "{s}");
    }
    // The figures themselves, so a read that agrees with a wrong per-shop read still fails.
    let mine = &glances[shop().as_str()];
    assert_eq!(mine.last_webhook_at, Some(at(30)));
    assert_eq!(
        (mine.dead_lettered, mine.parked, mine.rejections),
        (2, 1, 2)
    );
    assert_eq!(glances[many(130).as_str()].last_webhook_at, Some(at(40)));
    assert_eq!(glances[many(130).as_str()].dead_lettered, 1);
    assert_eq!(
        glances[other_shop().as_str()].subscriptions,
        Some((at(60), false))
    );
    assert_eq!(glances[many(100).as_str()], so_store::ShopGlance::default());
}
