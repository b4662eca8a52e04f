//! A shop connected with the authorization code grant, end to end against the fake Shopify:
//! install → authorize → callback → tokens stored sealed → Admin API calls; the access token
//! expiring mid-use and refreshed with the refresh token rotated and stored; two processes
//! refreshing at once sending one refresh; forged, replayed, stale and cross-shop callbacks
//! refused with nothing stored; a refused refresh marking the shop without a retry loop.
//! Everything on SQLite and PostgreSQL; counted at the fake and in the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use secrecy::SecretString;
use so_domain::ShopDomain;
use so_fake_shopify::{DEFAULT_SHOP, FakeShopify, InstallApp, signed_query};
use so_ingress::Install;
use so_platform::Config;
use so_shopify_admin::{AdminClient, AdminError, AdminSettings};
use so_store::{Store, TokenState};
use so_testkit::Backend;
use so_testkit::database::TestDatabase;
use sqlx::{AnyConnection, Connection, Row};

const CLIENT_ID: &str = "partner-app-client-id";
const CLIENT_SECRET: &str = "shpss_partner_app_secret_value";
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct World {
    fake: FakeShopify,
    database: TestDatabase,
    store: Store,
    config: Arc<Config>,
    ingress: String,
    http: reqwest::Client,
    /// Shops the callback reported connected, in order.
    connected: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn world(backend: Backend) -> World {
    let fake = FakeShopify::start().await;
    fake.default_shop()
        .set_install_app(Some(InstallApp::new(CLIENT_ID, CLIENT_SECRET)));
    fake.default_shop().seed_generated(30, 0, 0.5);
    let database = TestDatabase::create(backend).await;
    let store = Store::connect(&database.url, 4).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ingress = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::default();
    config.shopify.app.client_id = Some(CLIENT_ID.to_owned());
    config.shopify.app.client_secret = Some(SecretString::from(CLIENT_SECRET));
    config.shopify.app.shop_url_template = Some(format!("{}/shops/{{shop}}", fake.url()));
    config.shopify.public_url = Some("https://so.example".to_owned());
    config.database.secrets_key = Some(SecretString::from(SECRETS_KEY));
    let connected = Arc::new(std::sync::Mutex::new(Vec::new()));
    let install = Install {
        store: store.clone(),
        sealer: config.database.sealer().unwrap().unwrap(),
        app: config.shopify.app.clone(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        redirect_uri: format!("{ingress}/shopify/callback"),
        admin: settings(),
        on_connected: Some(so_ingress::Connected(Arc::new({
            let connected = connected.clone();
            move |shop: ShopDomain| connected.lock().unwrap().push(shop.to_string())
        }))),
    };
    let router = so_ingress::app::install_router(install);
    tokio::spawn(so_ingress::app::serve_router(listener, router));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World {
        fake,
        database,
        store,
        config: Arc::new(config),
        ingress,
        http,
        connected,
    }
}

fn settings() -> AdminSettings {
    AdminSettings {
        jitter: false,
        ..AdminSettings::default()
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').unwrap().1;
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

impl World {
    /// `/shopify/install` → the fake's authorize page → the callback URL Shopify would call.
    async fn approved_callback(&self) -> String {
        let r = self
            .http
            .get(format!(
                "{}/shopify/install?shop={DEFAULT_SHOP}",
                self.ingress
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let authorize = location(&r);
        let asked = query_of(&authorize);
        assert_eq!(asked["client_id"], CLIENT_ID);
        assert_eq!(
            asked["redirect_uri"],
            format!("{}/shopify/callback", self.ingress)
        );
        assert!(!authorize.contains("grant_options"), "offline: {authorize}");
        let approved = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(approved.status(), 302);
        location(&approved)
    }

    async fn get(&self, url: &str) -> (u16, serde_json::Value) {
        let r = self.http.get(url).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }

    async fn tokens(&self) -> Option<so_store::ShopTokens> {
        let sealer = self.config.database.sealer().unwrap().unwrap();
        self.store.shop_tokens(&sealer, DEFAULT_SHOP).await.unwrap()
    }

    async fn client(&self, store: &Store) -> AdminClient {
        let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
        let access =
            so_platform::oauth_vault::admin_access(&self.config, &settings(), store, &shop)
                .unwrap()
                .expect("an OAuth shop");
        AdminClient::with_access(&settings(), access).unwrap()
    }

    /// Every text column of the shop's row, as stored.
    async fn raw_row(&self) -> String {
        let mut conn = AnyConnection::connect(&self.database.url).await.unwrap();
        let row = sqlx::query(
            "SELECT COALESCE(access_token, ''), COALESCE(refresh_token, ''), state FROM shop_tokens",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        (0..3)
            .map(|i| row.get::<String, _>(i))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// A callback for `shop` signed with `secret` at `timestamp`.
fn crafted(world: &World, shop: &str, state: &str, secret: &str, timestamp: i64) -> String {
    let params: BTreeMap<String, String> = [
        ("code", "forged-code"),
        ("shop", shop),
        ("state", state),
        ("timestamp", &timestamp.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    format!(
        "{}/shopify/callback?{}",
        world.ingress,
        signed_query(&params, secret)
    )
}

async fn install_then_use_and_refresh(backend: Backend) {
    let w = world(backend).await;
    let callback = w.approved_callback().await;
    let (status, body) = w.get(&callback).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("connected")),
        "{body}"
    );
    let stored = w.tokens().await.unwrap();
    assert_eq!(stored.state, TokenState::Connected);
    let pair = stored.pair.clone().unwrap();
    assert_eq!(
        w.fake.default_shop().issued_tokens().last(),
        Some(&pair.access_token)
    );
    assert_eq!(
        w.fake.default_shop().refresh_tokens().last(),
        pair.refresh_token.as_ref()
    );
    let raw = w.raw_row().await;
    assert!(
        !raw.contains(&pair.access_token) && !raw.contains("shprt_"),
        "sealed: {raw}"
    );
    // The new shop is held in the store (so every process serves it) and the
    // after-connect hook ran once.
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let held = w
        .store
        .stored_shop(&shop)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(
        (held.updated_by.as_str(), held.paused),
        ("oauth:install", false)
    );
    assert_eq!(*w.connected.lock().unwrap(), vec![DEFAULT_SHOP.to_owned()]);

    // The replayed callback: its state is used up; nothing changes.
    let (status, body) = w.get(&callback).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("unknown_state"))
    );
    assert_eq!(w.tokens().await.unwrap().generation, stored.generation);
    assert_eq!(w.connected.lock().unwrap().len(), 1, "no second connect");

    // An Admin API call with the stored token, then the token expires mid-use.
    let client = w.client(&w.store).await;
    let page = client.customers_page(None, None, 10).await.unwrap();
    assert_eq!(page.nodes.len(), 10);
    w.fake.default_shop().expire_issued_tokens();
    let page = client.customers_page(None, None, 10).await.unwrap();
    assert_eq!(page.nodes.len(), 10);
    assert_eq!(w.fake.default_shop().refreshes(), 1);
    let after = w.tokens().await.unwrap().pair.unwrap();
    assert_eq!(
        w.fake.default_shop().refresh_tokens().last(),
        after.refresh_token.as_ref()
    );
    assert_ne!(
        after.refresh_token, pair.refresh_token,
        "rotated and stored"
    );

    // Two processes (own pools, own sources) find the token expired at once: one refresh.
    w.fake.default_shop().expire_issued_tokens();
    let other_store = Store::connect(&w.database.url, 4).await.unwrap();
    let (a, b) = (w.client(&w.store).await, w.client(&other_store).await);
    // Each source first reads the stored (now dead) token; the 401 sends both to refresh.
    let (ra, rb) = tokio::join!(
        a.customers_page(None, None, 5),
        b.customers_page(None, None, 5)
    );
    ra.unwrap();
    rb.unwrap();
    assert_eq!(
        w.fake.default_shop().refreshes(),
        2,
        "exactly one more refresh"
    );
    let last = w.tokens().await.unwrap().pair.unwrap();
    assert_eq!(
        w.fake.default_shop().refresh_tokens().last(),
        last.refresh_token.as_ref()
    );
}

async fn a_refused_refresh_marks_the_shop_once(backend: Backend) {
    let w = world(backend).await;
    let callback = w.approved_callback().await;
    assert_eq!(w.get(&callback).await.0, 200);
    let client = w.client(&w.store).await;
    client.customers_page(None, None, 1).await.unwrap();
    w.fake.default_shop().revoke_refresh_tokens();
    w.fake.default_shop().expire_issued_tokens();
    let err = client.customers_page(None, None, 1).await.unwrap_err();
    assert!(matches!(err, AdminError::NotConnected { .. }), "{err}");
    let stored = w.tokens().await.unwrap();
    assert_eq!(stored.state, TokenState::Refused);
    assert!(stored.refused_reason.unwrap().contains("invalid_grant"));
    let asked = w.fake.default_shop().token_requests().len();
    for _ in 0..5 {
        assert!(client.customers_page(None, None, 1).await.is_err());
    }
    assert_eq!(
        w.fake.default_shop().token_requests().len(),
        asked,
        "no retry loop"
    );
    // Another process reads the mark and does not ask either.
    let fresh = w.client(&w.store).await;
    assert!(matches!(
        fresh.customers_page(None, None, 1).await,
        Err(AdminError::NotConnected { .. })
    ));
    assert_eq!(w.fake.default_shop().token_requests().len(), asked);
}

async fn bad_callbacks_are_refused_and_store_nothing(backend: Backend) {
    let w = world(backend).await;
    let now = Utc::now().timestamp();
    // Issue a real state for the shop, then try it with a forged signature.
    let genuine = w.approved_callback().await;
    let state = query_of(&genuine)["state"].clone();
    let cases = [
        (
            crafted(&w, DEFAULT_SHOP, &state, "not-the-secret", now),
            403,
            "invalid_hmac",
        ),
        (
            crafted(&w, DEFAULT_SHOP, &state, CLIENT_SECRET, now - 3600),
            400,
            "stale_timestamp",
        ),
        (
            crafted(&w, "evil.example.com", &state, CLIENT_SECRET, now),
            400,
            "invalid_shop",
        ),
        (
            crafted(&w, "other-shop.myshopify.com", &state, CLIENT_SECRET, now),
            403,
            "state_shop_mismatch",
        ),
        (
            crafted(&w, DEFAULT_SHOP, &state, CLIENT_SECRET, now),
            403,
            "unknown_state",
        ),
        (
            crafted(&w, DEFAULT_SHOP, "never-issued", CLIENT_SECRET, now),
            403,
            "unknown_state",
        ),
    ];
    for (url, status, code) in cases {
        let (got, body) = w.get(&url).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    assert!(w.tokens().await.is_none(), "nothing stored");
    let (got, body) = w
        .get(&format!("{}/shopify/install?shop=evil.com", w.ingress))
        .await;
    assert_eq!((got, body["code"].as_str()), (400, Some("invalid_shop")));
    // The genuine callback's state was used up by the cross-shop attempt.
    assert_eq!(w.get(&genuine).await.0, 403);
    assert!(w.tokens().await.is_none());
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    assert!(
        w.store.stored_shop(&shop).await.unwrap().is_none(),
        "no shop registered"
    );
    assert!(
        w.connected.lock().unwrap().is_empty(),
        "no connect reported"
    );
}

macro_rules! both {
    ($($name:ident),+) => {$(
        mod $name {
            use so_testkit::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(Backend::Postgres).await }
        }
    )+};
}

both!(
    install_then_use_and_refresh,
    a_refused_refresh_marks_the_shop_once,
    bad_callbacks_are_refused_and_store_nothing
);
