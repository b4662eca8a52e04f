//! The ingress application: router, listener, lifecycle.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::routing::{get, post};
use so_platform::shops_live::ShopsLive;
use so_platform::webhook_metrics::LastReceived;
use so_platform::{Config, Shutdown};
use so_queue::Publisher;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::install::Install;
use crate::receive;

/// What the webhook handler needs.
#[derive(Debug, Clone)]
pub struct IngressState {
    pub config: Arc<Config>,
    pub publisher: Publisher,
    /// When each shop's last authentic webhook arrived (a gauge per shop).
    pub last_received: Arc<LastReceived>,
    /// Which shops are served and their secrets, live.
    pub shops: Arc<ShopsLive>,
}

/// The bound webhook listener, zero2prod's `Application` shape.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `config.ingress.listen` (port 0 allowed).
    pub async fn build(config: Arc<Config>, publisher: Publisher) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.ingress.listen).await?;
        Ok(Application::with_listener(config, publisher, listener))
    }

    /// Binds `config.ingress.listen` and serves the shops of `shops` (live).
    pub async fn build_with_shops(
        config: Arc<Config>,
        publisher: Publisher,
        shops: Arc<ShopsLive>,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.ingress.listen).await?;
        let state = IngressState {
            last_received: crate::silence::last_received(&config, &shops),
            config,
            publisher,
            shops,
        };
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    /// Adds the OAuth install routes (`GET /shopify/install`, `/shopify/callback`).
    #[must_use]
    pub fn with_install(mut self, install: Install) -> Application {
        self.router = self.router.merge(install_router(install));
        self
    }

    /// Uses a listener the caller bound (tests, socket activation); serves
    /// the TOML shops only.
    pub fn with_listener(
        config: Arc<Config>,
        publisher: Publisher,
        listener: TcpListener,
    ) -> Application {
        let shops = ShopsLive::new(config.clone(), None);
        Application::with_listener_and_shops(config, publisher, listener, shops)
    }

    /// A listener the caller bound, serving the shops of `shops` (live).
    pub fn with_listener_and_shops(
        config: Arc<Config>,
        publisher: Publisher,
        listener: TcpListener,
        shops: Arc<ShopsLive>,
    ) -> Application {
        Application {
            listener,
            router: router(IngressState {
                last_received: crate::silence::last_received(&config, &shops),
                config,
                publisher,
                shops,
            }),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown`, then stops accepting and lets in-flight
    /// requests (and their publish confirms) finish.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> std::io::Result<()> {
        tracing::info!(addr = ?self.listener.local_addr().ok(), "Ingress listening.");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}

/// The OAuth install routes, on their own state.
pub fn install_router(install: Install) -> Router {
    Router::new()
        .route("/shopify/install", get(crate::install::install))
        .route("/shopify/callback", get(crate::install::callback))
        .with_state(Arc::new(install))
}

/// Serves `router` on `listener` until the process ends (tests).
pub async fn serve_router(listener: TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// The router, also usable with `tower::ServiceExt::oneshot` in tests.
pub fn router(state: IngressState) -> Router {
    let retry_after = crate::error::RetryAfter(state.config.ingress.retry_after_secs);
    Router::new()
        .route(
            "/webhooks/shopify",
            post(receive::receive).fallback(|| async { ApiError::MethodNotAllowed }),
        )
        .layer(axum::middleware::map_response(
            move |mut res: axum::response::Response| async move {
                if res.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
                    let seconds = HeaderValue::from(retry_after.0);
                    res.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, seconds);
                }
                res
            },
        ))
        .with_state(state)
}
