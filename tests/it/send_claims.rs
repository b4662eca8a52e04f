//! One profile send per shop across processes: the shop's claim in the store, on both
//! backends. Two claimants for one shop (the second refused, with who holds it), two at once
//! (exactly one wins), a claim whose holder died (expired) taken over, a released one free,
//! and a holder whose claim was taken over no longer renews it.

use chrono::{Duration, Utc};
use so_domain::ShopDomain;
use so_store::Store;
use so_sync::SyncError;
use so_sync::profiles::Claimant;
use so_testkit::Backend;
use so_testkit::database::TestDatabase;

#[tokio::test]
async fn one_claim_per_shop_sqlite() {
    one_claim_per_shop(Backend::Sqlite).await;
}

#[tokio::test]
async fn one_claim_per_shop_postgres() {
    one_claim_per_shop(Backend::Postgres).await;
}

async fn one_claim_per_shop(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = Store::connect(&db.url, 4).await.unwrap();
    // Two stores on one database: two processes.
    let elsewhere = Store::connect(&db.url, 4).await.unwrap();
    let shop = ShopDomain::parse("claims.myshopify.com").unwrap();
    let cli = Claimant::new("send-profiles:1", "send-profiles");
    let console = Claimant::new("console", "console:ana");

    cli.claim(&store, &shop).await.unwrap();
    match console.claim(&elsewhere, &shop).await {
        Err(SyncError::SendRunning { actor, shop: s, .. }) => {
            assert_eq!(actor, "send-profiles");
            assert_eq!(s, shop.as_str());
        }
        other => panic!("the second claim was not refused: {other:?}"),
    }
    let held = elsewhere.send_claim(&shop).await.unwrap().expect("claimed");
    assert_eq!(held.holder, cli.holder);
    assert_eq!(held.actor, "send-profiles");
    // The holder renews its own claim; the start time stays.
    cli.claim(&store, &shop).await.unwrap();
    let renewed = store.send_claim(&shop).await.unwrap().unwrap();
    assert_eq!(renewed.since, held.since);
    assert!(renewed.until >= held.until);
    // Released: the next one takes it.
    cli.release(&store, &shop).await;
    assert_eq!(store.send_claim(&shop).await.unwrap(), None);
    console.claim(&elsewhere, &shop).await.unwrap();
    console.release(&elsewhere, &shop).await;

    // Two at once from two processes: exactly one wins.
    let racing = ShopDomain::parse("race.myshopify.com").unwrap();
    let (a, b) = (
        Claimant::new("p1", "scheduler"),
        Claimant::new("p2", "scheduler"),
    );
    let (ra, rb) = tokio::join!(a.claim(&store, &racing), b.claim(&elsewhere, &racing));
    assert_eq!(
        usize::from(ra.is_ok()) + usize::from(rb.is_ok()),
        1,
        "{ra:?} {rb:?}"
    );

    // A holder that died: its claim ran out (written as it stood when it was last renewed),
    // and the next send takes it over.
    let orphan = ShopDomain::parse("orphan.myshopify.com").unwrap();
    let dead = store
        .claim_send(
            &orphan,
            "dead-process#1",
            "scheduler",
            Utc::now() - Duration::seconds(1),
        )
        .await
        .unwrap();
    assert!(dead.is_ok());
    assert_eq!(store.send_claim(&orphan).await.unwrap(), None, "expired");
    console.claim(&elsewhere, &orphan).await.unwrap();
    let taken = store.send_claim(&orphan).await.unwrap().unwrap();
    assert_eq!(taken.holder, console.holder);
    assert_eq!(taken.actor, "console:ana");
    // The dead holder, back, cannot renew what it lost, nor release it.
    assert!(
        !store
            .renew_send_claim(&orphan, "dead-process#1", Utc::now() + Duration::minutes(1))
            .await
            .unwrap()
    );
    store
        .release_send_claim(&orphan, "dead-process#1")
        .await
        .unwrap();
    assert_eq!(
        store.send_claim(&orphan).await.unwrap().map(|c| c.holder),
        Some(console.holder.clone())
    );
    drop((store, elsewhere));
    db.cleanup().await;
}
