//! One fresh database per test on either backend, and small value builders.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use so_domain::freshness::{EntityKind, Watermark, WatermarkKey};
use so_domain::identity::{NormalisedEmail, normalise_email};
use so_domain::{ShopDomain, ShopifyId, TopicName, WebhookId};
use so_store::{Commit, IndexedLetter, LedgerEntry, Store};
use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

/// Admin connection for creating test databases; `SO_` is the service's own prefix.
const POSTGRES_ENV: &str = "SOTEST_POSTGRES_URL";
const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Above 2^53: a double would round it.
pub(crate) const BIG: ShopifyId = ShopifyId::new(9_007_199_254_740_993);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// What a test body gets: a connected store and the URL, for opening a second "worker".
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) url: String,
}

impl Ctx {
    /// A second, independent pool on the same database, as another worker process would have.
    pub(crate) async fn another_worker(&self) -> Store {
        Store::connect(&self.url, 4)
            .await
            .unwrap()
            .with_email_key(email_key())
    }
}

enum Cleanup {
    /// Held only so the directory lives as long as the test.
    Sqlite {
        _dir: TempDir,
    },
    Postgres {
        admin: String,
        name: String,
    },
}

/// Creates the database, runs `body`, then drops the database even if `body` panicked.
pub(crate) async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let (url, cleanup) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            // A missing sub-directory: `connect` must create it.
            let url = format!("sqlite://{}/data/so.db?mode=rwc", dir.path().display());
            (url, Cleanup::Sqlite { _dir: dir })
        }
        Backend::Postgres => {
            let admin = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| POSTGRES_DEFAULT.to_owned());
            let name = format!("so_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL must run for these tests ({POSTGRES_ENV}): {e}")
            });
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            conn.close().await.unwrap();
            (
                database_url(&admin, &name),
                Cleanup::Postgres { admin, name },
            )
        }
    };
    // Connecting (and migrating) is inside the guarded part too: a failure there must still
    // drop the database.
    let outcome = AssertUnwindSafe(async {
        let store = Store::connect(&url, 8)
            .await
            .unwrap()
            .with_email_key(email_key());
        body(Ctx {
            store: store.clone(),
            url: url.clone(),
        })
        .await;
        store.close().await;
    })
    .catch_unwind()
    .await;
    if let Cleanup::Postgres { admin, name } = cleanup {
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        // FORCE: a second worker's pool opened by the test may still hold connections.
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The admin URL with its database name replaced.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (server, _) = base.rsplit_once('/').unwrap();
    let sep = if query.is_empty() { "" } else { "?" };
    format!("{server}/{name}{sep}{query}")
}

/// Runs each listed `async fn(Ctx)` as two tests, `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::run($crate::support::Backend::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::run($crate::support::Backend::Postgres, super::$name).await;
            }
        }
    )+};
}
pub(crate) use on_both_backends;

/// The key guest emails are fingerprinted with in these tests.
pub(crate) fn email_key() -> so_store::EmailKey {
    so_store::EmailKey::new(b"store-tests-email-key").unwrap()
}

pub(crate) fn shop() -> ShopDomain {
    ShopDomain::parse("uk-shop.myshopify.com").unwrap()
}

pub(crate) fn other_shop() -> ShopDomain {
    ShopDomain::parse("us-shop.myshopify.com").unwrap()
}

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

pub(crate) fn wid(n: u32) -> WebhookId {
    WebhookId::parse(&format!("wh-{n}")).unwrap()
}

pub(crate) fn email(raw: &str) -> NormalisedEmail {
    normalise_email(raw).unwrap()
}

pub(crate) fn topic(raw: &str) -> TopicName {
    TopicName::parse(raw).unwrap()
}

pub(crate) fn key(kind: EntityKind, id: &str) -> WatermarkKey {
    WatermarkKey {
        shop: shop(),
        kind,
        id: id.to_owned(),
    }
}

pub(crate) fn mark(webhook: u32, secs: i64) -> Watermark {
    Watermark {
        version: at(secs),
        webhook_id: wid(webhook),
    }
}

pub(crate) fn entry(webhook: u32, event_id: Option<&str>, secs: i64) -> LedgerEntry {
    LedgerEntry {
        shop: shop(),
        webhook_id: wid(webhook),
        topic: topic("orders/updated"),
        event_id: event_id.map(str::to_owned),
        seen_at: at(secs),
    }
}

/// A commit that only advances one watermark, as an event with one version does.
pub(crate) fn advancing(key: &WatermarkKey, webhook: u32, secs: i64) -> Commit {
    Commit {
        ledger: vec![LedgerEntry {
            shop: key.shop.clone(),
            ..entry(webhook, None, secs)
        }],
        watermarks: vec![(key.clone(), mark(webhook, secs))],
        ..Commit::default()
    }
}

/// A registered customer as an order's buyer.
pub(crate) fn buyer(id: &str) -> so_domain::mapping::Buyer {
    so_domain::mapping::Buyer {
        id: id.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(id.to_owned()),
    }
}

/// A paid order of 10.00 GBP bought by the customer `contact`.
pub(crate) fn order(id: u64, contact: &str) -> so_domain::mapping::OrderState {
    so_domain::mapping::OrderState {
        order_id: ShopifyId::new(id),
        presentment_currency: None,
        timestamp: at(0).fixed_offset(),
        currency: "GBP".to_owned(),
        grand_total: so_domain::shopify::Money::parse("10.00").unwrap(),
        base_status: so_domain::mapping::OrderStatus::Paid,
        test: false,
        lines: Vec::new(),
        refunds: std::collections::BTreeMap::new(),
        buyer: Some(buyer(contact)),
    }
}

/// A dead letter or parked event of `shop`, as the indexer records it.
pub(crate) fn letter(queue: &str, key: &str, shop: &ShopDomain) -> IndexedLetter {
    IndexedLetter {
        queue: queue.to_owned(),
        copy_key: key.to_owned(),
        webhook_id: format!("wh-{key}"),
        topic: Some("orders/create".to_owned()),
        shop: Some(shop.as_str().to_owned()),
        entity: None,
        reason: Some("invalid_payload".to_owned()),
        stage: Some("map".to_owned()),
        detail: None,
        attempts: Some(1),
        at: Some(at(1)),
        received_at: Some(at(1)),
        triggered_at: None,
        routing_key: "r".to_owned(),
        body_bytes: 2,
        headers: "{}".to_owned(),
        payload: "{}".to_owned(),
    }
}
