//! Historical backfill from the (fake) Shopify Admin API through the real
//! queue and worker into the fake Ometria.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};
use so_sync::backfill::{Backfill, Entity, EntityReport, Only, Options, Progress, Quiet};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions, eventually};
use tokio_util::sync::CancellationToken;

async fn app() -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Postgres,
        partitions: 4,
        fake: FakeConfig::unlimited(),
        env: vec![("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into())],
        ..TestAppOptions::default()
    })
    .await
}

/// The app with a worker, and what a backfill of the fake's default shop
/// needs.
pub(crate) struct Rig {
    pub(crate) app: TestApp,
    pub(crate) shop: ShopDomain,
    pub(crate) admin: AdminClient,
    pub(crate) publisher: Publisher,
    pub(crate) store: so_store::Store,
    stop: CancellationToken,
}

impl Rig {
    pub(crate) async fn new(shopify: &FakeShopify) -> Rig {
        let app = app().await;
        Rig {
            shop: ShopDomain::parse(DEFAULT_SHOP).unwrap(),
            admin: admin(shopify),
            publisher: Publisher::new(app.broker.clone()),
            store: app.store().await,
            stop: CancellationToken::new(),
            app,
        }
    }

    fn backfill<'a>(&'a self, options: Options, progress: &'a dyn Progress) -> Backfill<'a> {
        Backfill {
            admin: &self.admin,
            publisher: &self.publisher,
            store: &self.store,
            shop: &self.shop,
            api_version: "2026-07",
            options,
            progress,
            stop: &self.stop,
        }
    }
}

fn admin(fake: &FakeShopify) -> AdminClient {
    let settings = AdminSettings {
        jitter: false,
        ..AdminSettings::default()
    };
    let credentials =
        ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&fake.base_url());
    AdminClient::new(&settings, &credentials).unwrap()
}

fn options(entities: &[Entity], only: Only) -> Options {
    Options {
        entities: entities.to_vec(),
        since: None,
        only,
        checkpoint_every: 100,
        poll_interval: Duration::from_millis(20),
    }
}

/// Counts order rows read, for killing a run halfway.
struct Counting(Arc<AtomicU64>);

impl Progress for Counting {
    fn started(&self, _: Entity, _: u64) {}
    fn waiting_for_shopify(&self, _: Entity) {}
    fn row(&self, entity: Entity, r: &EntityReport) {
        if entity == Entity::Orders {
            self.0.store(r.read, Ordering::SeqCst);
        }
    }
    fn finished(&self, _: Entity, _: &EntityReport) {}
}

pub(crate) async fn count_is(fake: &so_testkit::FakeOmetria, t: RecordType, n: usize) {
    eventually(Duration::from_secs(90), || async {
        let have = fake.count(t);
        if have == n {
            Ok(())
        } else {
            Err(format!("{have} of {n} {} records", t.as_str()))
        }
    })
    .await;
}

#[tokio::test]
async fn a_backfill_lands_every_record_once_and_resumes_after_being_killed_halfway() {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 1_500, 1, 0.5);
    let rig = Rig::new(&shopify).await;
    let Rig {
        app,
        shop,
        admin,
        publisher,
        store,
        stop,
    } = &rig;
    let entities = [Entity::Customers, Entity::Orders];

    // First run: killed (its task aborted, as a crash would) once half the
    // orders are read.
    let read = Arc::new(AtomicU64::new(0));
    let mut killed = {
        let (admin, publisher, store, shop, stop) = (
            admin.clone(),
            publisher.clone(),
            store.clone(),
            shop.clone(),
            stop.clone(),
        );
        let progress = Counting(read.clone());
        tokio::spawn(async move {
            let run = Backfill {
                admin: &admin,
                publisher: &publisher,
                store: &store,
                shop: &shop,
                api_version: "2026-07",
                options: options(&entities, Only::All),
                progress: &progress,
                stop: &stop,
            };
            run.run().await.map(|_| ())
        })
    };
    let half = data.orders.len() as u64 / 2;
    let halfway = eventually(Duration::from_secs(60), || async {
        let n = read.load(Ordering::SeqCst);
        if n >= half {
            Ok(())
        } else {
            Err(format!("{n} orders read"))
        }
    });
    // A first run that ends by itself (an error) never gets halfway: say
    // why at once rather than after the wait.
    tokio::select! {
        () = halfway => {}
        ended = &mut killed => panic!("the first run ended before it was killed: {ended:?}"),
    }
    killed.abort();
    assert!(killed.await.unwrap_err().is_cancelled());
    let checkpoint = store
        .backfill_checkpoint(shop, "orders")
        .await
        .unwrap()
        .expect("a checkpoint was saved");
    assert!(checkpoint.finished_at.is_none());
    assert!(checkpoint.lines_done > 0, "{checkpoint:?}");

    // Second run: resumes where the checkpoint stands.
    let report = rig
        .backfill(options(&entities, Only::All), &Quiet)
        .run()
        .await
        .unwrap();
    let customers = &report.entities[0].1;
    let orders = &report.entities[1].1;
    assert_eq!(
        customers.read, 0,
        "customers had finished: skipped on resume"
    );
    assert_eq!(orders.resumed_from, checkpoint.lines_done);
    assert_eq!(orders.resumed_from + orders.read, data.orders.len() as u64);

    // Everything lands in Ometria, each order exactly once.
    let fake = app.ometria();
    count_is(fake, RecordType::Order, data.orders.len()).await;
    count_is(fake, RecordType::Contact, data.customers.len()).await;
    for o in &data.orders {
        assert_eq!(
            fake.write_count(RecordType::Order, &o.id.to_string()),
            1,
            "order {} written once",
            o.id
        );
    }
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    assert!(
        store
            .sync_value(shop, so_sync::backfill::LAST_COMPLETED)
            .await
            .unwrap()
            .is_some()
    );
    rig.app.teardown().await;
}

#[tokio::test]
async fn only_subscribers_and_since_filter_as_promised() {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 200, 1, 0.4);
    let rig = Rig::new(&shopify).await;
    let Rig { app, .. } = &rig;
    let subscribed: Vec<u64> = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .map(|c| c.id)
        .collect();
    assert!(!subscribed.is_empty() && subscribed.len() < data.customers.len());
    let report = rig
        .backfill(
            options(&[Entity::Customers, Entity::Orders], Only::Subscribers),
            &Quiet,
        )
        .run()
        .await
        .unwrap();
    let their_orders = data
        .orders
        .iter()
        .filter(|o| o.customer_id.is_some_and(|c| subscribed.contains(&c)))
        .count();
    assert_eq!(report.entities[0].1.published, subscribed.len() as u64);
    assert_eq!(report.entities[1].1.published, their_orders as u64);
    let fake = app.ometria();
    count_is(fake, RecordType::Order, their_orders).await;
    count_is(fake, RecordType::Contact, subscribed.len()).await;
    for c in fake.records(RecordType::Contact) {
        let id: u64 = c["id"].as_str().unwrap().parse().unwrap();
        assert!(subscribed.contains(&id), "{id} is not a subscriber");
    }

    // --since: only what changed on or after the date.
    let mut times: Vec<_> = data.customers.iter().map(|c| c.updated_at).collect();
    times.sort();
    let since = times[times.len() / 2];
    let report = rig
        .backfill(
            Options {
                since: Some(since),
                ..options(&[Entity::Customers], Only::All)
            },
            &Quiet,
        )
        .run()
        .await
        .unwrap();
    let recent = data
        .customers
        .iter()
        .filter(|c| c.updated_at >= since)
        .count();
    assert_eq!(report.entities[0].1.read, recent as u64);
    rig.app.teardown().await;
}

#[tokio::test]
async fn reconciliation_finds_an_order_that_was_never_delivered_and_repair_fixes_it() {
    use so_sync::reconcile::Reconcile;
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 30, 1, 0.5);
    let rig = Rig::new(&shopify).await;
    let Rig {
        app,
        shop,
        admin,
        publisher,
        store,
        ..
    } = &rig;
    // Customers arrive; every order but one arrives (its webhook was lost).
    rig.backfill(options(&[Entity::Customers], Only::All), &Quiet)
        .run()
        .await
        .unwrap();
    let mut orders = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = admin.orders_page(after.as_deref(), None, 50).await.unwrap();
        after = page.next_cursor().map(str::to_owned);
        orders.extend(page.nodes);
        if after.is_none() {
            break;
        }
    }
    assert_eq!(orders.len(), data.orders.len());
    let lost = orders[0].id.id();
    for o in &orders[1..] {
        so_sync::publish::publish(
            publisher,
            shop,
            "2026-07",
            &so_shopify_admin::order_webhook(o),
        )
        .await
        .unwrap();
    }
    let fake = app.ometria();
    count_is(fake, RecordType::Order, orders.len() - 1).await;
    count_is(fake, RecordType::Contact, data.customers.len()).await;
    // The worker commits an event's state after Ometria took its records:
    // reconciliation reads the store, so it starts once every published
    // event was settled, not merely received by the fake.
    app.wait_settled(data.customers.len() + orders.len() - 1)
        .await;

    let now = chrono::Utc::now();
    let run = |repair| Reconcile {
        admin,
        store,
        publisher,
        shop,
        api_version: "2026-07",
        from: now - chrono::Duration::days(3 * 365),
        to: now + chrono::Duration::days(1),
        repair,
        ometria: None,
    };
    let report = run(false).run().await.unwrap();
    assert_eq!(report.count("order_missing"), 1, "{}", report.text());
    assert_eq!(report.drift[0].id, lost.to_string());
    assert_eq!(report.count("order_total"), 0, "{}", report.text());
    assert_eq!(report.count("customer_stale"), 0, "{}", report.text());
    assert_eq!(report.count("consent_stale"), 0, "{}", report.text());
    assert_eq!(report.shopify.orders, orders.len() as u64);
    assert_eq!(report.delivered.orders, orders.len() as u64 - 1);
    assert!(report.text().contains("order_missing"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["drift"][0]["kind"], "order_missing");
    let page = app.metrics().await;
    assert_eq!(
        so_testkit::metrics::value(&page, "so_reconcile_drift", &[("kind", "order_missing")]),
        1.0,
        "the drift is exported for the dashboard and SoReconcileDrift"
    );
    // And kept for the shop's status (`shops show`): the one order missing.
    let kept = store
        .sync_value(shop, "reconcile_drift")
        .await
        .unwrap()
        .expect("the drift is kept");
    let kept: serde_json::Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(kept["total"], 1, "{kept}");
    assert_eq!(kept["by_kind"]["order_missing"], 1, "{kept}");
    assert_eq!(kept["by_kind"]["order_total"], 0, "{kept}");

    // Repair: the missing order is re-synced through the queue.
    let repaired = run(true).run().await.unwrap();
    assert_eq!(repaired.repaired, 1);
    eventually(Duration::from_secs(60), || async {
        fake.record(RecordType::Order, &lost.to_string())
            .map(|_| ())
            .ok_or_else(|| "the lost order is not in Ometria yet".to_owned())
    })
    .await;
    eventually(Duration::from_secs(60), || async {
        let again = run(false).run().await.map_err(|e| e.to_string())?;
        if again.drift.is_empty() {
            Ok(())
        } else {
            Err(again.text())
        }
    })
    .await;
    rig.app.teardown().await;
}

#[tokio::test]
async fn a_failed_bulk_operation_falls_back_to_paginated_queries() {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 300, 1, 0.5);
    shopify.default_shop().fail_next_bulk();
    let rig = Rig::new(&shopify).await;
    let Rig {
        app, shop, store, ..
    } = &rig;
    let report = rig
        .backfill(options(&[Entity::Customers], Only::All), &Quiet)
        .run()
        .await
        .unwrap();
    assert_eq!(report.entities[0].1.published, data.customers.len() as u64);
    let checkpoint = store
        .backfill_checkpoint(shop, "customers")
        .await
        .unwrap()
        .unwrap();
    assert!(
        checkpoint
            .operation_id
            .as_deref()
            .is_some_and(|o| o.starts_with("page:")),
        "{checkpoint:?}"
    );
    count_is(app.ometria(), RecordType::Contact, data.customers.len()).await;
    rig.app.teardown().await;
}
