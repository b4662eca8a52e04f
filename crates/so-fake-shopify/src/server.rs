//! Starting, stopping and addressing the fake.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use so_fake_server::Served;
use tokio::net::TcpListener;

use crate::config::{DEFAULT_SHOP, ShopConfig};
use crate::inspect::FakeShop;
use crate::routes::router;
use crate::store::{Shared, Shop};

/// A running fake Shopify. Dropping it stops the server.
///
/// Each shop is served under `{url}/shops/{domain}` (see
/// [`FakeShopify::base_url`]), so a client only needs a base-URL override,
/// or at `{url}/admin/api/…` with the shop domain in `Host`.
#[derive(Debug)]
pub struct FakeShopify {
    shared: Arc<Shared>,
    served: Served,
}

impl FakeShopify {
    /// Starts on `127.0.0.1:0` with one shop, [`DEFAULT_SHOP`], with default
    /// settings.
    ///
    /// # Panics
    /// If no loopback port can be bound: test support fails loudly.
    pub async fn start() -> Self {
        Self::start_with(vec![ShopConfig::default()]).await
    }

    /// Starts on `127.0.0.1:0` with these shops.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start_with(shops: Vec<ShopConfig>) -> Self {
        match Self::try_start(shops).await {
            Ok(fake) => fake,
            Err(e) => panic!("fake Shopify could not bind 127.0.0.1:0: {e}"),
        }
    }

    /// Starts on `127.0.0.1:0`, reporting bind failures.
    pub async fn try_start(shops: Vec<ShopConfig>) -> io::Result<Self> {
        Self::start_on(Served::bind_loopback().await?, shops)
    }

    /// Starts on a listener the caller bound (e.g. a fixed port for a demo).
    pub fn start_on(listener: TcpListener, shops: Vec<ShopConfig>) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(format!("http://{addr}"), shops));
        let served = Served::spawn(listener, router(Arc::clone(&shared)))?;
        Ok(FakeShopify { shared, served })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// Base URL of [`DEFAULT_SHOP`]: what a client uses in place of
    /// `https://{shop}` (it appends `/admin/api/{version}/graphql.json`).
    pub fn base_url(&self) -> String {
        self.shop_base_url(DEFAULT_SHOP)
    }

    /// Base URL of any shop.
    pub fn shop_base_url(&self, domain: &str) -> String {
        format!("{}/shops/{domain}", self.served.url())
    }

    /// Adds (or replaces) a shop.
    pub fn add_shop(&self, config: ShopConfig) -> FakeShop {
        let domain = config.domain.clone();
        self.shared
            .lock()
            .shops
            .insert(domain.clone(), Shop::new(config));
        self.shop(&domain)
    }

    /// Control handle of [`DEFAULT_SHOP`].
    pub fn default_shop(&self) -> FakeShop {
        self.shop(DEFAULT_SHOP)
    }

    /// Control handle of a shop. Its methods panic if the shop does not exist.
    pub fn shop(&self, domain: &str) -> FakeShop {
        FakeShop::new(Arc::clone(&self.shared), domain)
    }

    /// Generates a deterministic dataset ([`crate::GenerateSpec::new`]) and
    /// seeds it into `shop`; returns it so the caller knows what to expect.
    pub fn seed_generated(
        &self,
        shop: &str,
        customers: usize,
        orders_per_customer: usize,
        subscriber_share: f64,
    ) -> crate::Dataset {
        self.shop(shop)
            .seed_generated(customers, orders_per_customer, subscriber_share)
    }

    /// Stops serving once in-flight requests finish; state stays inspectable.
    pub async fn stop(&mut self) {
        self.served.stop().await;
    }
}

/// Serves a fake on `addr` until the process ends, for local demos.
pub async fn serve(addr: SocketAddr, shops: Vec<ShopConfig>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let root = format!("http://{}", listener.local_addr()?);
    axum::serve(listener, router(Arc::new(Shared::new(root, shops)))).await
}
