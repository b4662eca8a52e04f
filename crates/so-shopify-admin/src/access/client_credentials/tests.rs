//! The cache against the fake's token endpoint, with a clock the test moves:
//! a day passes without waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use so_fake_shopify::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, FakeShopify};
use tokio::time::Instant;

use super::*;

/// A clock that runs with real time plus whatever the test adds.
#[derive(Clone, Default)]
struct Moved(Arc<AtomicU64>);

impl Moved {
    fn add(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }

    fn clock(&self) -> Clock {
        let start = Instant::now();
        let added = Arc::clone(&self.0);
        Arc::new(move || {
            start + start.elapsed() + Duration::from_secs(added.load(Ordering::SeqCst))
        })
    }
}

fn settings() -> AdminSettings {
    AdminSettings {
        request_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(5),
        // Retries wait 5 and 10 ms; a failed renewal waits 30 s (on the
        // moved clock) before it is tried again.
        max_backoff: Duration::from_secs(30),
        max_retries: 2,
        jitter: false,
        ..AdminSettings::default()
    }
}

fn source(fake: &FakeShopify, secret: &str, moved: &Moved) -> ClientCredentialsSource {
    let credentials = ShopCredentials::client_credentials(DEFAULT_SHOP, DEFAULT_CLIENT_ID, secret)
        .with_base_url(&fake.base_url());
    let secret = SecretString::from(secret.to_owned());
    ClientCredentialsSource::new(&settings(), &credentials, DEFAULT_CLIENT_ID, &secret)
        .unwrap()
        .with_clock(moved.clock())
}

#[tokio::test]
async fn a_token_is_reused_for_its_life_and_renewed_an_hour_before_it_ends() {
    let fake = FakeShopify::start().await;
    let moved = Moved::default();
    let cc = source(&fake, DEFAULT_CLIENT_SECRET, &moved);
    let first = cc.get().await.unwrap();
    for _ in 0..5 {
        assert_eq!(cc.get().await.unwrap().generation(), first.generation());
    }
    let shop = fake.default_shop();
    assert_eq!(shop.token_requests().len(), 1);
    let expires = cc.state().expires_at.unwrap();
    let in_a_day = chrono::Utc::now() + chrono::Duration::seconds(86_399);
    assert!((in_a_day - expires).num_seconds().abs() < 60, "{expires}");

    // 22 h 58 min later: still more than the margin left.
    moved.add(Duration::from_secs(86_399 - 3_600 - 120));
    assert_eq!(cc.get().await.unwrap().generation(), first.generation());
    assert_eq!(shop.token_requests().len(), 1);
    // Past 23 h: renewed before anything was refused.
    moved.add(Duration::from_secs(180));
    let second = cc.get().await.unwrap();
    assert_eq!(second.generation(), first.generation() + 1);
    assert_eq!(shop.token_requests().len(), 2);
    assert_eq!(shop.stats().unauthorized, 0);
}

#[tokio::test]
async fn concurrent_callers_share_one_request_and_a_401_discards_only_its_own_token() {
    let fake = FakeShopify::start().await;
    let cc = Arc::new(source(&fake, DEFAULT_CLIENT_SECRET, &Moved::default()));
    let calls = (0..16).map(|_| {
        let cc = Arc::clone(&cc);
        tokio::spawn(async move { cc.get().await.unwrap().generation() })
    });
    let generations: Vec<u64> = futures_join(calls).await;
    assert!(generations.iter().all(|g| *g == 1), "{generations:?}");
    assert_eq!(fake.default_shop().token_requests().len(), 1);

    let old = cc.get().await.unwrap();
    assert!(cc.rejected(&old));
    let new = cc.get().await.unwrap();
    assert_eq!(new.generation(), 2);
    // A late 401 for the old token leaves the new one alone.
    assert!(cc.rejected(&old));
    assert_eq!(cc.get().await.unwrap().generation(), 2);
    assert_eq!(fake.default_shop().token_requests().len(), 2);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_refusal_is_remembered_for_the_backoff_then_asked_again() {
    let fake = FakeShopify::start().await;
    let moved = Moved::default();
    let cc = source(&fake, "shpss_wrong_secret", &moved);
    for _ in 0..5 {
        let err = cc.get().await.unwrap_err();
        assert!(
            matches!(&err, AdminError::CredentialsRefused { shop, status: 400, error: Some(e) }
                if shop == DEFAULT_SHOP && e == "invalid_client"),
            "{err:?}"
        );
    }
    let shop = fake.default_shop();
    assert_eq!(shop.token_requests().len(), 1, "not asked again");
    assert!(cc.state().refused.unwrap().contains(DEFAULT_SHOP));
    moved.add(Duration::from_secs(601));
    assert!(cc.get().await.is_err());
    assert_eq!(
        shop.token_requests().len(),
        2,
        "asked again after the backoff"
    );
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_valid_token_and_a_failed_first_fetch_is_transient() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let moved = Moved::default();
    let cc = source(&fake, DEFAULT_CLIENT_SECRET, &moved);
    shop.fail_next_token(3, 503);
    let err = cc.get().await.unwrap_err();
    assert!(
        matches!(err, AdminError::Transient { attempts: 3, .. }),
        "{err:?}"
    );
    let first = cc.get().await.unwrap();
    moved.add(Duration::from_secs(86_000));
    shop.fail_next_token(3, 503);
    assert_eq!(cc.get().await.unwrap().generation(), first.generation());
    // The renewal waits `max_backoff` before it is tried again.
    assert_eq!(cc.get().await.unwrap().generation(), first.generation());
    assert_eq!(shop.token_requests().len(), 3 + 1 + 3);
}
