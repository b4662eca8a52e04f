//! Profile sends (`send-profiles`, the daily automatic send) from the fake
//! Shopify through the real queue and worker into the fake Ometria,
//! counted from what the fake Ometria holds, on both store backends.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_domain::merchant::ProfileFilter;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};
use so_sync::backfill::Quiet;
use so_sync::profiles::{
    AutoSends, Choices, Claimant, Kind, ManualClock, ProfileSend, SystemClock,
};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions};
use tokio_util::sync::CancellationToken;

use crate::backfill::count_is;

const LIST: u64 = 4242;

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 2,
        fake: FakeConfig::unlimited(),
        env: vec![("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into())],
        ..TestAppOptions::default()
    })
    .await
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

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The contacts Ometria holds, each on `LIST`.
fn contacts_on_the_list(app: &TestApp) -> BTreeSet<u64> {
    let fake = app.ometria();
    fake.records(RecordType::Contact)
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap();
            assert!(
                fake.lists_of(id).contains(&LIST.to_string()),
                "contact {id} is not on list {LIST}: {:?}",
                fake.lists_of(id)
            );
            id.parse().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn subscribers_active_in_the_range_are_sent_with_the_list_sqlite() {
    filters(Backend::Sqlite).await;
}

#[tokio::test]
async fn subscribers_active_in_the_range_are_sent_with_the_list_postgres() {
    filters(Backend::Postgres).await;
}

async fn filters(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 120, 1, 0.5);
    let app = app(backend).await;
    let (admin, publisher, store) = (
        admin(&shopify),
        Publisher::new(app.broker.clone()),
        app.store().await,
    );
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    // The range: the middle half of the customers' update times.
    let mut times: Vec<_> = data.customers.iter().map(|c| c.updated_at).collect();
    times.sort();
    let (from, to) = (times[times.len() / 4], times[3 * times.len() / 4]);
    let in_range = |t: DateTime<Utc>| t >= from && t < to;
    let active: BTreeSet<u64> = data
        .customers
        .iter()
        .filter(|c| in_range(c.updated_at))
        .map(|c| c.id)
        .chain(
            data.orders
                .iter()
                .filter(|o| in_range(o.created_at))
                .filter_map(|o| o.customer_id),
        )
        .collect();
    let subscribed: BTreeSet<u64> = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .map(|c| c.id)
        .collect();
    let expected: BTreeSet<u64> = active.intersection(&subscribed).copied().collect();
    assert!(!expected.is_empty());
    assert!(expected.len() < active.len() && expected.len() < subscribed.len());

    let stop = CancellationToken::new();
    let row = ProfileSend {
        admin: &admin,
        publisher: &publisher,
        store: &store,
        shop: &shop,
        api_version: "2026-07",
        kind: Kind::OnDemand,
        choices: Choices {
            profiles: ProfileFilter::Subscribers,
            list: Some(LIST),
            active_from: Some(from),
            active_to: Some(to),
        },
        clock: &SystemClock,
        progress: &Quiet,
        stop: &stop,
        by: &Claimant::new("test", "test"),
    }
    .run()
    .await
    .unwrap();
    assert_eq!(row.outcome, "completed");
    count_is(app.ometria(), RecordType::Contact, expected.len()).await;
    assert_eq!(contacts_on_the_list(&app), expected);
    let last = store.last_profile_send(&shop, None, true).await.unwrap();
    assert_eq!(last.map(|r| r.id), Some(row.id));
    app.teardown().await;
}

#[tokio::test]
async fn the_daily_send_fires_once_at_its_local_time_sqlite() {
    daily(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_daily_send_fires_once_at_its_local_time_postgres() {
    daily(Backend::Postgres).await;
}

async fn daily(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 40, 0, 0.5);
    let app = app(backend).await;
    let (admin, publisher, store) = (
        admin(&shopify),
        Publisher::new(app.broker.clone()),
        app.store().await,
    );
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let mut config = (*app.config).clone();
    let mut settings = config.shop(&shop).clone();
    settings.timezone = Some("America/New_York".to_owned());
    settings.profile_sends.daily = true;
    settings.profile_sends.at = Some("06:30".to_owned());
    settings.profile_sends.list = Some(LIST);
    settings.profile_sends.allowed_lists = vec![LIST];
    config.shops.insert(DEFAULT_SHOP.to_owned(), settings);
    let stop = CancellationToken::new();
    // 06:30 EDT is 10:30 UTC; first tick before it.
    let clock = ManualClock::new(utc("2026-07-01T10:29:00Z"));
    let sends = |holder| AutoSends {
        config: &config,
        store: &store,
        publisher: &publisher,
        clock: &clock,
        holder,
    };
    assert!(
        sends("w1")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .last_profile_send(&shop, None, false)
            .await
            .unwrap()
            .is_none(),
        "nothing before its time"
    );
    clock.set(utc("2026-07-01T10:30:00Z"));
    // Due, but another process's send of the shop holds its claim: skipped, nothing recorded.
    let console = Claimant::new("console", "console:ana");
    console.claim(&store, &shop).await.unwrap();
    assert!(
        sends("w1")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .last_profile_send(&shop, None, false)
            .await
            .unwrap()
            .is_none(),
        "ran beside another send"
    );
    console.release(&store, &shop).await;
    let row = sends("w1")
        .tick(&shop, &admin, &stop)
        .await
        .unwrap()
        .expect("runs");
    assert_eq!(row.kind, "auto");
    // Another worker, and later ticks the same day: not again.
    assert!(
        sends("w2")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    clock.set(utc("2026-07-01T20:00:00Z"));
    assert!(
        sends("w1")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    count_is(app.ometria(), RecordType::Contact, data.customers.len()).await;
    assert_eq!(contacts_on_the_list(&app).len(), data.customers.len());

    let status = so_sync::profiles::status(
        &config,
        &store,
        &shop,
        so_sync::profiles::Clock::now(&clock),
    )
    .await
    .unwrap();
    let last = status.last_completed.unwrap();
    assert_eq!(last.finished_at, Some(utc("2026-07-01T10:30:00Z")));
    assert_eq!(
        last.finished_local.as_deref(),
        Some("2026-07-01 06:30:00 EDT (America/New_York)")
    );
    assert_eq!(last.counts.published, data.customers.len() as u64);
    assert_eq!(status.next_planned, Some(utc("2026-07-02T10:30:00Z")));
    // The next local day, at its time: once more (by the lease holder: the
    // lease runs in real time, which the hand-set clock does not move).
    clock.set(utc("2026-07-02T10:29:00Z"));
    assert!(
        sends("w1")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    clock.set(utc("2026-07-02T10:30:00Z"));
    let second = sends("w1").tick(&shop, &admin, &stop).await.unwrap();
    let mut second = second.expect("the next day's send");
    // Had a shutdown interrupted it, the next check runs it again, once.
    second.outcome = "interrupted".to_owned();
    store.save_profile_send(&second).await.unwrap();
    clock.set(utc("2026-07-02T10:31:00Z"));
    let again = sends("w1").tick(&shop, &admin, &stop).await.unwrap();
    assert!(again.is_some());
    assert!(
        sends("w1")
            .tick(&shop, &admin, &stop)
            .await
            .unwrap()
            .is_none()
    );
    app.teardown().await;
}

/// Stops the send after its first page, as Ctrl-C would.
struct StopAfterFirstPage(CancellationToken);

impl so_sync::profiles::SendProgress for StopAfterFirstPage {
    fn page(&self, _: &so_store::ProfileSendCounts) {
        self.0.cancel();
    }
}

#[tokio::test]
async fn an_interrupted_send_resumes_under_its_id_sqlite() {
    resumes(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_interrupted_send_resumes_under_its_id_postgres() {
    resumes(Backend::Postgres).await;
}

async fn resumes(backend: Backend) {
    let shopify = FakeShopify::start().await;
    // More than one page of 250.
    let data = shopify.seed_generated(DEFAULT_SHOP, 320, 0, 0.5);
    let app = app(backend).await;
    let (admin, publisher, store) = (
        admin(&shopify),
        Publisher::new(app.broker.clone()),
        app.store().await,
    );
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let choices = Choices {
        profiles: ProfileFilter::All,
        list: Some(LIST),
        active_from: None,
        active_to: None,
    };
    let stop = CancellationToken::new();
    let stopper = StopAfterFirstPage(stop.clone());
    let by = Claimant::new("test", "test");
    let send = |progress: &'static dyn so_sync::profiles::SendProgress| ProfileSend {
        admin: &admin,
        publisher: &publisher,
        store: &store,
        shop: &shop,
        api_version: "2026-07",
        kind: Kind::OnDemand,
        choices: choices.clone(),
        clock: &SystemClock,
        progress,
        stop: &stop,
        by: &by,
    };
    let first = ProfileSend {
        progress: &stopper,
        ..send(&Quiet)
    }
    .run()
    .await;
    assert!(
        matches!(first, Err(so_sync::SyncError::Interrupted)),
        "{first:?}"
    );
    let interrupted = store
        .last_profile_send(&shop, None, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(interrupted.outcome, "interrupted");
    assert!(interrupted.counts.read > 0 && interrupted.counts.read < 320);
    let again = CancellationToken::new();
    let row = ProfileSend {
        stop: &again,
        ..send(&Quiet)
    }
    .run()
    .await
    .unwrap();
    assert_eq!(row.id, interrupted.id, "the same send resumed");
    assert_eq!(row.counts.read, data.customers.len() as u64);
    let fake = app.ometria();
    count_is(fake, RecordType::Contact, data.customers.len()).await;
    for c in &data.customers {
        assert_eq!(
            fake.write_count(RecordType::Contact, &c.id.to_string()),
            1,
            "customer {} sent once",
            c.id
        );
    }
    app.teardown().await;
}
