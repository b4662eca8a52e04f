//! The ops listener: `/metrics`, `/healthz`, `/readyz`; services and the
//! admin API add their own routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use so_queue::{Broker, stats};
use tokio::net::TcpListener;

use crate::Shutdown;
use crate::metrics;

/// A named readiness check.
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
struct OpsState {
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
    checks: Arc<Vec<(&'static str, ReadinessCheck)>>,
}

/// The ops HTTP server, bound and ready to run.
pub struct OpsServer {
    listener: TcpListener,
    router: Router,
    state: OpsState,
}

impl OpsServer {
    /// Binds `addr` (port 0 allowed). `extra` is merged in (admin API).
    pub async fn bind(
        addr: SocketAddr,
        checks: Vec<(&'static str, ReadinessCheck)>,
        extra: Router,
    ) -> std::io::Result<OpsServer> {
        let state = OpsState {
            prometheus: metrics::install(),
            checks: Arc::new(checks),
        };
        let router = Router::new()
            .route("/metrics", get(render_metrics))
            .route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
            .route("/readyz", get(readyz))
            .with_state(state.clone())
            .merge(extra);
        let listener = TcpListener::bind(addr).await?;
        Ok(OpsServer {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> std::io::Result<()> {
        // `so_ready` is kept current even when nobody probes /readyz.
        let (state, stop) = (self.state.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => { failing_checks(&state); }
                }
            }
        });
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}

async fn render_metrics(State(s): State<OpsState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.prometheus.render(),
    )
}

fn failing_checks(s: &OpsState) -> Vec<serde_json::Value> {
    let failing: Vec<_> = s
        .checks
        .iter()
        .filter_map(|(name, check)| {
            check()
                .err()
                .map(|why| serde_json::json!({"check": name, "detail": why}))
        })
        .collect();
    metrics::ready(failing.is_empty());
    failing
}

async fn readyz(State(s): State<OpsState>) -> impl IntoResponse {
    let failing = failing_checks(&s);
    if failing.is_empty() {
        (StatusCode::OK, Json(serde_json::json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not_ready", "failing": failing})),
        )
    }
}

/// Readiness of the broker link.
pub fn broker_check(broker: Broker) -> (&'static str, ReadinessCheck) {
    let check: ReadinessCheck = Arc::new(move || {
        let up = broker.is_ready();
        metrics::broker_up(up);
        match broker.link() {
            Some(link) if link.is_blocked() => {
                Err("RabbitMQ is blocking publishers (resource alarm)".to_owned())
            }
            Some(_) => Ok(()),
            None => Err("RabbitMQ is unreachable".to_owned()),
        }
    });
    ("rabbitmq", check)
}

/// Polls queue depths into gauges until shutdown.
pub async fn poll_queue_metrics(broker: Broker, every: Duration, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        metrics::broker_up(broker.is_ready());
        if let Ok(all) = stats::queue_stats(&broker).await {
            for q in all.iter().filter(|q| q.error.is_none()) {
                metrics::queue_depth(&q.queue, q.role, q.messages, q.consumers);
                if q.messages == 0 {
                    metrics::queue_oldest_age(&q.queue, q.role, 0.0);
                }
            }
        }
    }
}
