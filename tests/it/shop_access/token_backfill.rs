//! A backfill of a shop connected with the client credentials grant, whose
//! token expires halfway (Shopify answers 401 to it from then on). Counted
//! from the fake's side (the customer nodes it served in successful
//! answers) and from the queues (the events published), never from the
//! backfill's report: every customer is served once and published once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use so_domain::ShopDomain;
use so_fake_shopify::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, FakeShop, FakeShopify,
};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};
use so_sync::backfill::{Backfill, Entity, EntityReport, Only, Options, Progress};
use so_testkit::database::TestDatabase;
use so_testkit::{Backend, TestApp, TestAppOptions};
use tokio_util::sync::CancellationToken;

const CUSTOMERS: usize = 1_000;
/// Rows read when the token is expired: inside the second of four pages.
const EXPIRE_AT_ROW: u64 = 300;

/// Expires every issued token once, at a row or when the backfill starts
/// waiting for its bulk operation.
struct Expire {
    shop: FakeShop,
    at_row: Option<u64>,
    when_waiting: bool,
    done: AtomicBool,
}

impl Expire {
    fn once(&self) {
        if !self.done.swap(true, Ordering::SeqCst) {
            self.shop.expire_issued_tokens();
        }
    }
}

impl Progress for Expire {
    fn started(&self, _: Entity, _: u64) {}
    fn waiting_for_shopify(&self, _: Entity) {
        if self.when_waiting {
            self.once();
        }
    }
    fn row(&self, _: Entity, r: &EntityReport) {
        if self.at_row.is_some_and(|at| r.read >= at) {
            self.once();
        }
    }
    fn finished(&self, _: Entity, _: &EntityReport) {}
}

fn client(fake: &FakeShopify) -> AdminClient {
    let settings = AdminSettings {
        jitter: false,
        ..AdminSettings::default()
    };
    let credentials =
        ShopCredentials::client_credentials(DEFAULT_SHOP, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            .with_base_url(&fake.base_url());
    AdminClient::new(&settings, &credentials).unwrap()
}

/// Runs a customers backfill with `progress` and returns, per customer id,
/// how many events were published for it (read back from the queues).
async fn backfill(fake: &FakeShopify, progress: &Expire) -> BTreeMap<u64, usize> {
    let app = TestApp::spawn_with(TestAppOptions::default()).await;
    let database = TestDatabase::create(Backend::Sqlite).await;
    let store = so_store::Store::connect(&database.url, 2).await.unwrap();
    let admin = client(fake);
    let publisher = Publisher::new(app.broker.clone());
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let stop = CancellationToken::new();
    Backfill {
        admin: &admin,
        publisher: &publisher,
        store: &store,
        shop: &shop,
        api_version: "2026-07",
        options: Options {
            entities: vec![Entity::Customers],
            since: None,
            only: Only::All,
            checkpoint_every: 100,
            poll_interval: Duration::from_millis(20),
        },
        progress,
        stop: &stop,
    }
    .run()
    .await
    .expect("the backfill completes");

    let mut published = BTreeMap::new();
    for message in app.take_queued().await {
        assert_eq!(message.header("x-shopify-topic"), Some("customers/update"));
        let body: serde_json::Value = serde_json::from_slice(&message.body).unwrap();
        *published.entry(body["id"].as_u64().unwrap()).or_default() += 1;
    }
    store.close().await;
    database.cleanup().await;
    app.teardown().await;
    published
}

fn assert_each_once(published: &BTreeMap<u64, usize>, seeded: &[u64]) {
    let doubled: Vec<_> = published.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "published more than once: {doubled:?}");
    let lost: Vec<_> = seeded
        .iter()
        .filter(|id| !published.contains_key(id))
        .collect();
    assert!(lost.is_empty(), "never published: {} ids", lost.len());
    assert_eq!(published.len(), seeded.len());
}

#[tokio::test]
async fn a_token_expiring_between_pages_is_renewed_without_a_lost_or_doubled_page() {
    let fake = FakeShopify::start().await;
    let data = fake.seed_generated(DEFAULT_SHOP, CUSTOMERS, 0, 0.5);
    let shop = fake.default_shop();
    // Page by page: the bulk operation fails and the backfill falls back.
    shop.fail_next_bulk();
    // A bucket that never makes a page wait: the test is about tokens.
    shop.set_bucket(100_000.0, 100_000.0);
    let expire = Expire {
        shop: shop.clone(),
        at_row: Some(EXPIRE_AT_ROW),
        when_waiting: false,
        done: AtomicBool::new(false),
    };

    let published = backfill(&fake, &expire).await;

    // The fake's side: customer pages in order, one refused in the middle
    // (a refused request is not parsed, so it names no root field), and
    // every customer served exactly once by the successful ones.
    let pages: Vec<_> = shop
        .requests()
        .into_iter()
        .filter(|r| r.root_fields == ["customers"] || r.status == 401)
        .collect();
    let statuses: Vec<u16> = pages.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..3], [200, 200, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 200), "{statuses:?}");
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    for id in pages.iter().flat_map(|r| r.served_ids.iter()) {
        *served.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(served.len(), CUSTOMERS);
    assert!(served.values().all(|n| *n == 1), "a page was served twice");
    assert_eq!(shop.token_requests().len(), 2, "one token, one renewal");
    assert_eq!(shop.stats().unauthorized, 1);

    // The queue's side: every customer published once.
    let seeded: Vec<u64> = data.customers.iter().map(|c| c.id).collect();
    assert_each_once(&published, &seeded);
}

#[tokio::test]
async fn a_token_expiring_while_a_bulk_operation_runs_is_renewed_without_a_second_operation() {
    let fake = FakeShopify::start().await;
    let data = fake.seed_generated(DEFAULT_SHOP, CUSTOMERS, 0, 0.5);
    let shop = fake.default_shop();
    shop.set_bulk_timing(3, None);
    let expire = Expire {
        shop: shop.clone(),
        at_row: None,
        when_waiting: true,
        done: AtomicBool::new(false),
    };

    let published = backfill(&fake, &expire).await;

    assert_eq!(shop.stats().unauthorized, 1, "a poll met the expired token");
    assert_eq!(shop.token_requests().len(), 2);
    assert_eq!(
        shop.bulk_statuses().len(),
        1,
        "the operation was not restarted"
    );
    let seeded: Vec<u64> = data.customers.iter().map(|c| c.id).collect();
    assert_each_once(&published, &seeded);
}
