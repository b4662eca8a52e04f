//! The consent write-back against the fake Ometria and the fake Shopify,
//! with a real (SQLite) store.
//!
//! Contacts reach the fake Ometria as the worker would send them, through
//! `so_ometria::Client::push`, so their profiles are clustered by Ometria's
//! rules; unsubscribes are then made with the fake's controls, as a link
//! click or the preference centre would (not through the API).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::{Value, json};
use so_domain::freshness::{
    DedupeWindow, EntityKind, Freshness, Incoming, LedgerLookup, WatermarkKey, decide,
};
use so_domain::identity::{ContactCollection, ContactRef, GuestId, Namespace};
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::{ShopDomain, ShopifyId, WebhookId};
use so_fake_ometria::{FakeConfig, FakeOmetria, Unsubscribe as FakeUnsubscribe, UnsubscribeOrigin};
use so_fake_shopify::{
    CONSENT_TOPIC, ConsentWrite, Customer, DEFAULT_SHOP, DEFAULT_TOKEN, FakeShop, FakeShopify,
    MarketingState,
};
use so_ometria::{OmetriaSettings, RetryPolicy, RetrySettings};
use so_shopify_admin::{AdminClient, AdminError, AdminSettings, ShopCredentials};
use so_store::Store;
use so_sync::SyncError;
use so_sync::consent::{CURSOR, ConsentReport, ConsentSync, DECISIONS_METRIC, decision_reasons};
use so_testkit::database::TestDatabase;

/// Everything one test needs: both fakes, their clients and a store.
struct World {
    db: TestDatabase,
    store: Store,
    ometria_fake: FakeOmetria,
    ometria: so_ometria::Client,
    _shopify: FakeShopify,
    shopify: FakeShop,
    admin: AdminClient,
    shop: ShopDomain,
    namespace: Namespace,
    /// Whole seconds, like Ometria's timestamps.
    now: DateTime<Utc>,
}

/// Fast, deterministic Admin API retries; no reserve kept back.
fn admin_settings() -> AdminSettings {
    AdminSettings {
        request_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        jitter: false,
        min_available: 0,
        ..AdminSettings::default()
    }
}

impl World {
    async fn new() -> World {
        World::with_admin(&admin_settings()).await
    }

    async fn with_admin(settings: &AdminSettings) -> World {
        let db = TestDatabase::create(so_testkit::Backend::Sqlite).await;
        let store = Store::connect(&db.url, 2).await.unwrap();
        let ometria_fake = FakeOmetria::start(FakeConfig::unlimited()).await;
        let ometria_settings = OmetriaSettings {
            api_url: ometria_fake.url(),
            api_key: Some(ometria_fake.api_key().into()),
            requests_per_second: 1_000.0,
            request_timeout: Duration::from_secs(5),
            rate_limit_pause: Duration::from_millis(50),
            retry: RetrySettings {
                initial_interval: Duration::from_millis(5),
                max_interval: Duration::from_millis(50),
                max_elapsed: Duration::from_secs(2),
                multiplier: 2.0,
            },
            ..OmetriaSettings::default()
        };
        let ometria = so_ometria::Client::new(&ometria_settings)
            .unwrap()
            .with_retry_policy(
                RetryPolicy::from_settings(&ometria_settings.retry).with_jitter(0.0),
            );
        let shopify_fake = FakeShopify::start().await;
        let shopify = shopify_fake.default_shop();
        let credentials = ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN)
            .with_base_url(&shopify_fake.shop_base_url(DEFAULT_SHOP));
        let admin = AdminClient::new(settings, &credentials).unwrap();
        World {
            db,
            store,
            ometria_fake,
            ometria,
            _shopify: shopify_fake,
            shopify,
            admin,
            shop: ShopDomain::parse(DEFAULT_SHOP).unwrap(),
            namespace: Namespace::parse("uk:").unwrap(),
            now: Utc::now().trunc_subsecs(0),
        }
    }

    fn sync(&self) -> ConsentSync<'_> {
        ConsentSync {
            ometria: &self.ometria,
            admin: &self.admin,
            store: &self.store,
            shop: &self.shop,
            namespace: &self.namespace,
            first_start: self.now - TimeDelta::hours(1),
            republish: None,
        }
    }

    async fn run(&self) -> ConsentReport {
        self.sync().run_once().await.unwrap()
    }

    /// `minutes` before the test started.
    fn ago(&self, minutes: i64) -> DateTime<Utc> {
        self.now - TimeDelta::minutes(minutes)
    }

    /// Pushes one contact to Ometria through the real client.
    async fn push_contact(&self, body: Value) {
        let Value::Object(body) = body else {
            unreachable!()
        };
        let id = body["id"].as_str().unwrap().to_owned();
        let record = PushRecord {
            record_type: RecordType::Contact,
            id,
            body,
        };
        let outcome = self
            .ometria
            .push(RecordType::Contact, &[record])
            .await
            .unwrap();
        assert!(outcome.all_accepted(), "{outcome:?}");
    }

    /// The Ometria profile id of the contacts with this email.
    fn profile_of(&self, email: &str) -> String {
        let found = self.ometria_fake.profiles_by_email(email);
        assert_eq!(found.len(), 1, "{email}: {found:?}");
        found[0]["id"].as_str().unwrap().to_owned()
    }

    /// A Shopify customer's contact as the worker pushes it (id and
    /// `customer_id` namespaced), opted in; returns its profile id.
    async fn customer_contact(&self, shopify_id: u64, email: &str) -> String {
        let contact = ContactRef::customer(&self.namespace, ShopifyId::new(shopify_id));
        self.push_contact(json!({
            "@type": "contact",
            "@collection": contact.collection().as_str(),
            "id": contact.ometria_id(),
            "customer_id": contact.customer_id(),
            "email": email,
            "marketing_optin": "EXPLICITLY_OPTEDIN",
        }))
        .await;
        self.profile_of(email)
    }

    /// A guest (an order's email, no Shopify customer): no `customer_id`.
    async fn guest_contact(&self, email: &str) -> String {
        let contact = ContactRef::guest(&self.namespace, GuestId::from_random([7; 16]));
        assert_eq!(contact.collection(), ContactCollection::Guests);
        self.push_contact(json!({
            "@type": "contact",
            "@collection": contact.collection().as_str(),
            "id": contact.ometria_id(),
            "email": email,
            "marketing_optin": "EXPLICITLY_OPTEDIN",
        }))
        .await;
        self.profile_of(email)
    }

    /// Another store's contact of the same Ometria account (namespace
    /// `us:`).
    async fn other_store_contact(&self, shopify_id: u64, email: &str) -> String {
        let us = Namespace::parse("us:").unwrap();
        let contact = ContactRef::customer(&us, ShopifyId::new(shopify_id));
        self.push_contact(json!({
            "@type": "contact",
            "@collection": contact.collection().as_str(),
            "id": contact.ometria_id(),
            "customer_id": contact.customer_id(),
            "email": email,
            "marketing_optin": "EXPLICITLY_OPTEDIN",
        }))
        .await;
        self.profile_of(email)
    }

    /// Unsubscribes a profile in Ometria (a link click), `at`.
    fn unsubscribe(&self, profile_id: &str, at: DateTime<Utc>) {
        self.unsubscribe_as(profile_id, "link_unsubscribe", at);
    }

    fn unsubscribe_as(&self, profile_id: &str, kind: &str, at: DateTime<Utc>) {
        self.ometria_fake
            .unsubscribe_profile(profile_id, kind, at)
            .unwrap();
    }

    /// A subscribed Shopify customer (consent given two days ago).
    fn seed_subscribed(&self, id: u64, email: &str) {
        self.seed(
            id,
            Some(email),
            self.now - TimeDelta::days(2),
            MarketingState::Subscribed,
        );
    }

    fn seed(&self, id: u64, email: Option<&str>, at: DateTime<Utc>, state: MarketingState) {
        self.shopify
            .seed_customers([Customer::new(id, email, at).with_consent(state)]);
    }

    fn writes(&self) -> Vec<ConsentWrite> {
        self.shopify.consent_writes()
    }

    /// (profile id, customer id, decision, reason) of every recorded
    /// decision.
    async fn decisions(&self) -> BTreeSet<(String, Option<u64>, String, String)> {
        self.store
            .consent_decisions(&self.shop, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                (
                    d.profile_id,
                    d.customer_id.map(ShopifyId::get),
                    d.decision,
                    d.reason,
                )
            })
            .collect()
    }

    async fn cursor(&self) -> Option<String> {
        self.store.sync_value(&self.shop, CURSOR).await.unwrap()
    }

    async fn finish(self) {
        drop(self.store);
        self.db.cleanup().await;
    }
}

fn skipped(p: &str, c: Option<u64>, reason: &str) -> (String, Option<u64>, String, String) {
    (p.to_owned(), c, "skipped".to_owned(), reason.to_owned())
}

fn sent(p: &str, c: u64) -> (String, Option<u64>, String, String) {
    (p.to_owned(), Some(c), "sent".to_owned(), "sent".to_owned())
}

/// One applied UNSUBSCRIBED mutation for `customer`, dated `at`.
fn assert_unsubscribed(write: &ConsentWrite, customer: u64, at: DateTime<Utc>) {
    assert_eq!(write.customer_id, Some(customer), "{write:?}");
    assert_eq!(write.state.as_deref(), Some("UNSUBSCRIBED"), "{write:?}");
    assert_eq!(write.consent_updated_at, Some(at), "{write:?}");
    assert!(write.applied(), "{write:?}");
}

fn total(report: &ConsentReport) -> u64 {
    report.sent + report.skipped.values().sum::<u64>()
}

const ANN: u64 = 7_100_000_000_000_000_001;
const BOB: u64 = 7_100_000_000_000_000_002;
const CAT: u64 = 7_100_000_000_000_000_003;
const DAN: u64 = 7_100_000_000_000_000_004;
const EVE: u64 = 7_100_000_000_000_000_005;

#[tokio::test]
async fn exactly_the_qualifying_unsubscribe_is_sent() {
    let w = World::new().await;
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    let bob = w.customer_contact(BOB, "bob@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    w.seed_subscribed(BOB, "bob@example.com");
    let at = w.ago(20);
    w.unsubscribe(&ann, at);

    let report = w.run().await;

    let writes = w.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_unsubscribed(&writes[0], ANN, at);
    assert_eq!(
        w.shopify.customer(ANN).unwrap().marketing_state(),
        MarketingState::Unsubscribed
    );
    assert_eq!(
        w.shopify.customer(BOB).unwrap().marketing_state(),
        MarketingState::Subscribed,
        "{bob} never unsubscribed"
    );
    assert_eq!((report.read, report.sent), (1, 1));
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(report.since, w.ago(60));
    assert_eq!(w.decisions().await, BTreeSet::from([sent(&ann, ANN)]));
    assert_eq!(w.cursor().await, Some(report.until.to_rfc3339()));
    // `--json`.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["sent"], 1);
    assert_eq!(json["read"], 1);
    w.finish().await;
}

#[tokio::test]
async fn condition_1_a_contact_resubscribed_in_ometria_is_not_sent() {
    let w = World::new().await;
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    w.unsubscribe(&ann, w.ago(30));
    // Back in the preference centre before the run: the unsubscribe stays
    // listed, but the contact is no longer unsubscribed at send time.
    assert!(w.ometria_fake.resubscribe_profile(&ann));

    let report = w.run().await;

    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert_eq!(report.read, 1);
    assert_eq!(report.skipped["resubscribed_in_ometria"], 1);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([skipped(&ann, Some(ANN), "resubscribed_in_ometria")])
    );
    w.finish().await;
}

#[tokio::test]
async fn condition_2_a_contact_without_this_store_s_customer_id_is_not_sent() {
    let w = World::new().await;
    let guest = w.guest_contact("guest@example.com").await;
    let other = w.other_store_contact(CAT, "cat@example.com").await;
    // Were `us:` stripped like `uk:`, CAT would be found and unsubscribed.
    w.seed_subscribed(CAT, "cat@example.com");
    w.unsubscribe(&guest, w.ago(30));
    w.unsubscribe(&other, w.ago(29));

    let report = w.run().await;

    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert_eq!(report.read, 2);
    assert_eq!(report.sent, 0);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([
            skipped(&guest, None, "no_shopify_customer_id"),
            skipped(&other, None, "other_store_namespace"),
        ])
    );
    assert_eq!(
        w.shopify.customer(CAT).unwrap().marketing_state(),
        MarketingState::Subscribed
    );
    w.finish().await;
}

#[tokio::test]
async fn condition_3_a_customer_unknown_to_shopify_is_not_sent() {
    let w = World::new().await;
    // Pushed to Ometria, but never (or no longer) in this Shopify shop.
    let dan = w.customer_contact(DAN, "dan@example.com").await;
    w.unsubscribe(&dan, w.ago(30));

    let report = w.run().await;

    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert_eq!(report.skipped["customer_not_in_shopify"], 1);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([skipped(&dan, Some(DAN), "customer_not_in_shopify")])
    );
    w.finish().await;
}

#[tokio::test]
async fn a_customer_already_unsubscribed_in_shopify_is_skipped_without_a_mutation() {
    let w = World::new().await;
    let eve = w.customer_contact(EVE, "eve@example.com").await;
    w.seed(
        EVE,
        Some("eve@example.com"),
        w.ago(24 * 60),
        MarketingState::Unsubscribed,
    );
    let at = w.ago(30);
    w.unsubscribe(&eve, at);

    let report = w.run().await;

    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert!(w.shopify.webhooks().is_empty(), "no echo either");
    assert_eq!(report.skipped["already_unsubscribed_in_shopify"], 1);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([skipped(&eve, Some(EVE), "already_unsubscribed_in_shopify")])
    );
    // Older Shopify consent events are stale from now on all the same.
    let mark = w
        .store
        .watermark(&consent_key(&w.shop, EVE))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mark.version, at);
    w.finish().await;
}

fn consent_key(shop: &ShopDomain, customer: u64) -> WatermarkKey {
    WatermarkKey {
        shop: shop.clone(),
        kind: EntityKind::EmailConsent,
        id: customer.to_string(),
    }
}

/// Five qualifying unsubscribes against a small bucket that another client
/// of the app keeps emptying: calls are THROTTLED (HTTP 200, or 429), wait
/// and retry.
async fn survives_throttling(with_429: bool) {
    let w = World::new().await;
    let ids: Vec<u64> = (1..=5).map(|i| 7_200_000_000_000_000_000 + i).collect();
    let mut profiles = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let email = format!("c{i}@example.com");
        profiles.push(w.customer_contact(*id, &email).await);
        w.seed_subscribed(*id, &email);
    }
    for (i, p) in profiles.iter().enumerate() {
        w.unsubscribe(p, w.ago(50 - i as i64));
    }
    w.shopify.set_bucket(30.0, 60.0);
    w.shopify.throttle_with_429(with_429);
    w.shopify.set_available(0.0);
    let drainer = {
        let shop = w.shopify.clone();
        tokio::spawn(async move {
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(120)).await;
                shop.set_available(0.0);
            }
        })
    };

    let report = w.run().await;
    drainer.await.unwrap();

    let stats = w.shopify.stats();
    assert!(stats.throttled >= 1, "{stats:?}");
    assert_eq!(stats.server_errors, 0);
    let throttled: Vec<_> = w
        .shopify
        .requests()
        .into_iter()
        .filter(|r| r.throttled)
        .collect();
    assert!(
        throttled
            .iter()
            .all(|r| r.status == if with_429 { 429 } else { 200 }),
        "{throttled:?}"
    );
    let writes = w.writes();
    assert_eq!(writes.len(), 5, "one mutation each: {writes:?}");
    for (i, (write, id)) in writes.iter().zip(&ids).enumerate() {
        assert_unsubscribed(write, *id, w.ago(50 - i as i64));
    }
    assert_eq!((report.read, report.sent), (5, 5));
    assert!(report.skipped.is_empty(), "{report:?}");
    let expected: BTreeSet<_> = profiles
        .iter()
        .zip(&ids)
        .map(|(p, id)| sent(p, *id))
        .collect();
    assert_eq!(w.decisions().await, expected);
    w.finish().await;
}

#[tokio::test]
async fn survives_throttling_answered_with_200() {
    survives_throttling(false).await;
}

#[tokio::test]
async fn survives_throttling_answered_with_429() {
    survives_throttling(true).await;
}

#[tokio::test]
async fn the_write_back_does_not_loop() {
    let w = World::new().await;
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    let at = w.ago(20);
    w.unsubscribe(&ann, at);
    let first = w.run().await;
    assert_eq!(first.sent, 1);

    // Shopify's echo of the mutation.
    let echoes = w.shopify.take_webhooks();
    assert_eq!(echoes.len(), 1, "{echoes:?}");
    let echo = &echoes[0];
    assert_eq!(echo.topic, CONSENT_TOPIC);
    assert_eq!(echo.payload["customer_id"], json!(ANN));
    assert_eq!(
        echo.payload["email_marketing_consent"]["state"],
        "unsubscribed"
    );
    let echo_version = DateTime::parse_from_rfc3339(
        echo.payload["email_marketing_consent"]["consent_updated_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(echo_version, at);

    // The worker applies it: the opt-out goes to Ometria through the API,
    // where Ometria keeps it as an API-originated unsubscribe.
    let contact = ContactRef::customer(&w.namespace, ShopifyId::new(ANN));
    w.push_contact(json!({
        "@type": "contact",
        "@collection": contact.collection().as_str(),
        "id": contact.ometria_id(),
        "customer_id": contact.customer_id(),
        "email": "ann@example.com",
        "marketing_optin": "EXPLICITLY_OPTEDOUT",
    }))
    .await;
    w.ometria_fake.add_unsubscribe(FakeUnsubscribe {
        profile_id: Some(ann.clone()),
        origin: UnsubscribeOrigin::Api,
        ..FakeUnsubscribe::new("ann@example.com", "app", first.until)
    });
    // The next window must include that instant.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let second = w.run().await;

    assert_eq!(second.since, first.until, "the cursor advanced");
    assert_eq!((second.read, second.sent), (0, 0), "{second:?}");
    assert_eq!(w.writes().len(), 1, "no new mutation: {:?}", w.writes());
    assert!(w.shopify.webhooks().is_empty());
    assert_eq!(w.decisions().await, BTreeSet::from([sent(&ann, ANN)]));

    // The customer's email-consent watermark is the unsubscribe's time.
    let mark = w
        .store
        .watermark(&consent_key(&w.shop, ANN))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mark.version, at);
    assert_eq!(mark.webhook_id.as_str(), format!("consent-sync:{ann}"));
    let incoming = |id: &str, version: DateTime<Utc>| Incoming {
        webhook_id: WebhookId::parse(id).unwrap(),
        kind: EntityKind::EmailConsent,
        version: Some(version),
    };
    let decide_now = |event: &Incoming| {
        decide(
            DedupeWindow::DEFAULT,
            Utc::now(),
            LedgerLookup::NotSeen,
            Some(&mark),
            event,
        )
    };
    // A Shopify consent event older than the unsubscribe (e.g. a delayed
    // subscribe) never re-subscribes the contact.
    let older = incoming("shopify-delayed-subscribe", at - TimeDelta::minutes(5));
    assert_eq!(
        decide_now(&older),
        Freshness::Stale {
            incoming: Some(at - TimeDelta::minutes(5)),
            applied: at,
        }
    );
    // The echo itself (same version, its own webhook id) is applied: it
    // only confirms the opt-out.
    let echo_event = incoming("shopify-echo", echo_version.with_timezone(&Utc));
    assert!(matches!(decide_now(&echo_event), Freshness::Apply { .. }));
    w.finish().await;
}

#[tokio::test]
async fn every_decision_is_recorded_with_its_reason() {
    let page = so_platform::metrics::install();
    let w = World::new().await;
    // ANN unsubscribes twice (the latest counts) and is sent.
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    w.unsubscribe_as(&ann, "app", w.ago(40));
    w.unsubscribe(&ann, w.ago(35));
    // BOB re-subscribed in Ometria.
    let bob = w.customer_contact(BOB, "bob@example.com").await;
    w.seed_subscribed(BOB, "bob@example.com");
    w.unsubscribe(&bob, w.ago(39));
    // Outside the window: before the first start, and in the future.
    w.unsubscribe(&bob, w.ago(90));
    w.unsubscribe(&bob, w.now + TimeDelta::minutes(5));
    assert!(w.ometria_fake.resubscribe_profile(&bob));
    // A guest, and another store's customer.
    let guest = w.guest_contact("guest@example.com").await;
    w.unsubscribe(&guest, w.ago(38));
    let other = w.other_store_contact(CAT, "cat@example.com").await;
    w.unsubscribe(&other, w.ago(37));
    // DAN is not in Shopify.
    let dan = w.customer_contact(DAN, "dan@example.com").await;
    w.unsubscribe(&dan, w.ago(36));
    // EVE is already unsubscribed in Shopify.
    let eve = w.customer_contact(EVE, "eve@example.com").await;
    w.seed(
        EVE,
        Some("eve@example.com"),
        w.ago(24 * 60),
        MarketingState::Unsubscribed,
    );
    w.unsubscribe(&eve, w.ago(34));
    // FAY has no email in Shopify any more.
    const FAY: u64 = 7_100_000_000_000_000_006;
    let fay = w.customer_contact(FAY, "fay@example.com").await;
    w.seed(FAY, None, w.ago(24 * 60), MarketingState::NotSubscribed);
    w.unsubscribe(&fay, w.ago(33));
    // GUS subscribed in Shopify after unsubscribing in Ometria.
    const GUS: u64 = 7_100_000_000_000_000_007;
    let gus = w.customer_contact(GUS, "gus@example.com").await;
    w.seed(
        GUS,
        Some("gus@example.com"),
        w.ago(5),
        MarketingState::Subscribed,
    );
    w.unsubscribe(&gus, w.ago(32));
    // HAL replied STOP to an SMS.
    const HAL: u64 = 7_100_000_000_000_000_008;
    let hal = w.customer_contact(HAL, "hal@example.com").await;
    w.seed_subscribed(HAL, "hal@example.com");
    w.unsubscribe_as(&hal, "stopword_unsubscribe_TF", w.ago(31));
    // An address Ometria has no profile for.
    w.ometria_fake.add_unsubscribe(FakeUnsubscribe::new(
        "nobody@example.com",
        "list_unsubscribe",
        w.ago(30),
    ));

    let report = w.run().await;

    let writes = w.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_unsubscribed(&writes[0], ANN, w.ago(35));
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([
            skipped(&ann, None, "duplicate_in_window"),
            sent(&ann, ANN),
            skipped(&bob, Some(BOB), "resubscribed_in_ometria"),
            skipped(&guest, None, "no_shopify_customer_id"),
            skipped(&other, None, "other_store_namespace"),
            skipped(&dan, Some(DAN), "customer_not_in_shopify"),
            skipped(&eve, Some(EVE), "already_unsubscribed_in_shopify"),
            skipped(&fay, Some(FAY), "customer_has_no_email"),
            skipped(&gus, Some(GUS), "shopify_consent_newer"),
            skipped(&hal, None, "sms_unsubscribe"),
            skipped("", None, "profile_not_found"),
        ])
    );
    assert_eq!(report.read, 11);
    assert_eq!(report.sent, 1);
    assert_eq!(total(&report), report.read);
    for reason in report.skipped.keys() {
        assert!(decision_reasons().contains(&reason.as_str()), "{reason}");
    }
    let metrics = page.render();
    let count = |decision, reason| {
        so_testkit::metrics::value(
            &metrics,
            DECISIONS_METRIC,
            &[("decision", decision), ("reason", reason)],
        )
    };
    assert!(count("sent", "sent") >= 1.0, "{metrics}");
    assert!(count("skipped", "sms_unsubscribe") >= 1.0, "{metrics}");
    assert!(!metrics.contains("@example.com"), "no emails in labels");
    // The run as a shop's status shows it, counted from the stored decisions.
    let kept = w
        .store
        .sync_value(&w.shop, "consent_last_run")
        .await
        .unwrap()
        .expect("the last run is kept");
    let kept: serde_json::Value = serde_json::from_str(&kept).unwrap();
    let decided = w.store.consent_decisions(&w.shop, 1000).await.unwrap();
    let stored_sent = decided.iter().filter(|d| d.decision == "sent").count();
    assert_eq!(kept["read"], decided.len() as u64, "{kept}");
    assert_eq!(kept["sent"], stored_sent as u64, "{kept}");
    assert_eq!(kept["until"], serde_json::to_value(report.until).unwrap());
    for (reason, n) in &report.skipped {
        let stored = decided.iter().filter(|d| &d.reason == reason).count();
        assert_eq!(kept["skipped"][reason], stored as u64, "{reason}: {kept}");
        assert_eq!(*n, stored as u64);
    }
    w.finish().await;
}

#[tokio::test]
async fn a_retryable_failure_stops_the_run_at_the_unsubscribe_in_hand() {
    let settings = AdminSettings {
        max_retries: 1,
        deadline: Duration::from_secs(2),
        ..admin_settings()
    };
    let w = World::with_admin(&settings).await;
    let bob = w.customer_contact(BOB, "bob@example.com").await;
    w.seed_subscribed(BOB, "bob@example.com");
    w.unsubscribe(&bob, w.ago(40));
    w.ometria_fake.resubscribe_profile(&bob);
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    let at = w.ago(30);
    w.unsubscribe(&ann, at);
    w.shopify.fail_next(100, 503);

    let e = w.sync().run_once().await.unwrap_err();

    assert!(
        matches!(&e, SyncError::Admin(a) if a.is_retryable()),
        "{e:?}"
    );
    assert!(matches!(e, SyncError::Admin(AdminError::Transient { .. })));
    assert!(w.writes().is_empty());
    assert_eq!(w.cursor().await, Some(at.to_rfc3339()), "not past ANN");
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([skipped(&bob, Some(BOB), "resubscribed_in_ometria")]),
        "the decision made before the failure stays"
    );

    w.shopify.fail_next(0, 503);
    let report = w.run().await;

    assert_eq!(report.since, at);
    assert_eq!((report.read, report.sent), (1, 1), "{report:?}");
    let writes = w.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_unsubscribed(&writes[0], ANN, at);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([
            skipped(&bob, Some(BOB), "resubscribed_in_ometria"),
            sent(&ann, ANN),
        ])
    );
    assert_eq!(w.cursor().await, Some(report.until.to_rfc3339()));
    w.finish().await;
}

#[tokio::test]
async fn an_unsubscribe_listed_late_is_still_written_back_and_none_is_decided_twice() {
    let w = World::new().await;
    let ann = w.customer_contact(ANN, "ann@example.com").await;
    let bob = w.customer_contact(BOB, "bob@example.com").await;
    w.seed_subscribed(ANN, "ann@example.com");
    w.seed_subscribed(BOB, "bob@example.com");
    w.unsubscribe(&ann, w.ago(20));
    let first = w.run().await;
    assert_eq!(first.sent, 1);
    // Bob's unsubscribe happened before the first run's end but Ometria
    // lists it only now (within the hour the next run reads again).
    let late = first.until - TimeDelta::minutes(5);
    w.unsubscribe(&bob, late);
    let second = w.run().await;
    assert_eq!(
        (second.read, second.sent),
        (1, 1),
        "only Bob's is new: {second:?}"
    );
    let writes = w.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_unsubscribed(&writes[1], BOB, late);
    assert_eq!(
        w.decisions().await,
        BTreeSet::from([sent(&ann, ANN), sent(&bob, BOB)]),
        "Ann's, in the overlap, was not decided again"
    );
    w.finish().await;
}
