//! Starting, stopping and serving the fake.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use so_fake_server::Served;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{DRAIN_TICK, Drain, FakeConfig};
use crate::routes::router;
use crate::state::Shared;

/// A running fake Ometria. Dropping it stops the server.
///
/// Inspection and fault-switch methods are in `inspect.rs`.
#[derive(Debug)]
pub struct FakeOmetria {
    pub(crate) shared: Arc<Shared>,
    served: Served,
    api_key: String,
    drainer: Option<JoinHandle<()>>,
}

impl FakeOmetria {
    /// Starts on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no loopback port can be bound: test support fails loudly.
    pub async fn start(config: FakeConfig) -> Self {
        match Self::try_start(config).await {
            Ok(fake) => fake,
            Err(e) => panic!("fake Ometria could not bind 127.0.0.1:0: {e}"),
        }
    }

    /// Starts on `127.0.0.1:0`, reporting bind failures.
    pub async fn try_start(config: FakeConfig) -> io::Result<Self> {
        Self::start_on(Served::bind_loopback().await?, config)
    }

    /// Starts on a listener the caller bound (e.g. a fixed port).
    pub fn start_on(listener: TcpListener, config: FakeConfig) -> io::Result<Self> {
        let shared = Arc::new(Shared::new(&config));
        let served = Served::spawn(listener, router(Arc::clone(&shared)))?;
        let drainer = spawn_drainer(&shared, config.drain);
        Ok(FakeOmetria {
            shared,
            served,
            api_key: config.api_key,
            drainer,
        })
    }

    /// Base URL to configure as `ometria.api_url`.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// The accepted `X-Ometria-Auth` value.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops serving: the listener and idle connections are closed once
    /// in-flight requests finish, so later connections are refused. State
    /// stays inspectable.
    pub async fn stop(&mut self) {
        self.served.stop().await;
    }
}

impl Drop for FakeOmetria {
    fn drop(&mut self) {
        if let Some(drainer) = self.drainer.take() {
            drainer.abort();
        }
    }
}

/// Serves a fake on `addr` until the process ends: for `shopify-ometria
/// fake-ometria` (the demo binary).
pub async fn serve(addr: SocketAddr, config: FakeConfig) -> io::Result<()> {
    let shared = Arc::new(Shared::new(&config));
    let _drainer = spawn_drainer(&shared, config.drain);
    so_fake_server::serve_forever(addr, router(shared)).await
}

/// For [`Drain::PerSecond`], a task that applies queued records at the rate,
/// carrying fractional credit between ticks.
fn spawn_drainer(shared: &Arc<Shared>, drain: Drain) -> Option<JoinHandle<()>> {
    let Drain::PerSecond(rate) = drain else {
        return None;
    };
    let shared = Arc::clone(shared);
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(DRAIN_TICK);
        let mut credit = 0.0_f64;
        loop {
            tick.tick().await;
            credit += rate * DRAIN_TICK.as_secs_f64();
            let whole = credit.floor();
            if whole >= 1.0 {
                credit -= whole;
                // Saturating float-to-int cast: a huge rate drains everything.
                shared.lock().process(whole as usize);
            }
        }
    }))
}
