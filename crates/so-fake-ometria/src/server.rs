//! Starting, stopping and serving the fake.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
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
    addr: SocketAddr,
    api_key: String,
    server: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
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
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::start_on(listener, config)
    }

    /// Starts on a listener the caller bound (e.g. a fixed port).
    pub fn start_on(listener: TcpListener, config: FakeConfig) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config));
        let app = router(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Graceful shutdown also closes idle keep-alive connections, so a
            // pooled client connection cannot outlive `stop`. Serving only
            // fails on a listener error; the fake then stops answering, which
            // tests observe as transport errors.
            let stop = async move {
                // Either a stop request or the handle was dropped.
                stopped.await.ok();
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                drop(e);
            }
        });
        let drainer = spawn_drainer(&shared, config.drain);
        Ok(FakeOmetria {
            shared,
            addr,
            api_key: config.api_key,
            server: Some(server),
            shutdown: Some(shutdown),
            drainer,
        })
    }

    /// Base URL to configure as `ometria.api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accepted `X-Ometria-Auth` value.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops serving: the listener and idle connections are closed once
    /// in-flight requests finish, so later connections are refused. State
    /// stays inspectable.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The receiver is gone only if the server already ended.
            shutdown.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            // A join error means the task panicked or was aborted; either way
            // it no longer serves.
            server.await.ok();
        }
    }
}

impl Drop for FakeOmetria {
    fn drop(&mut self) {
        for task in [self.server.take(), self.drainer.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }
}

/// Serves a fake on `addr` until the process ends: for `shopify-ometria
/// fake-ometria`-style local demos.
pub async fn serve(addr: SocketAddr, config: FakeConfig) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let shared = Arc::new(Shared::new(&config));
    let _drainer = spawn_drainer(&shared, config.drain);
    axum::serve(listener, router(shared)).await
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
