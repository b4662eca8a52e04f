//! Serving a fake's router: bound on a loopback port (or a listener the
//! caller bound), stopped gracefully on request, aborted when dropped.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A router being served. Dropping it stops the server.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Served {
    /// Binds `127.0.0.1:0`.
    pub async fn bind_loopback() -> io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", 0)).await
    }

    /// Serves `app` on `listener` in a task of its own.
    pub fn spawn(listener: TcpListener, app: Router) -> io::Result<Served> {
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Graceful shutdown also closes idle keep-alive connections, so a
            // pooled client connection cannot outlive `stop`.
            let stop = async move {
                // Either a stop request or the handle was dropped.
                stopped.await.ok();
            };
            // Serving only fails on a listener error; the fake then stops
            // answering, which tests observe as transport errors.
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                drop(e);
            }
        });
        Ok(Served {
            addr,
            server: Some(server),
            shutdown: Some(shutdown),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving: the listener and idle connections are closed once
    /// in-flight requests finish, so later connections are refused.
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

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Serves `app` on `addr` until the process ends (local demos).
pub async fn serve_forever(addr: SocketAddr, app: Router) -> io::Result<()> {
    axum::serve(TcpListener::bind(addr).await?, app).await
}
