//! The admin API on the ops listener: the same actions as the `dlq` CLI, as
//! JSON under `/admin/`, behind `Authorization: Bearer <ops.admin_token>`
//! (compared in constant time). Described in `docs/admin-api.yaml`.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::OpsError;
use crate::actions::{QueueOps, ReplayOptions, TargetQueue};
use crate::filter::Filter;

#[derive(Clone)]
struct AdminState {
    ops: QueueOps,
    token: Arc<SecretString>,
}

/// The `/admin/` routes; merge them into the ops router.
pub fn router(ops: QueueOps, token: SecretString) -> Router {
    let state = AdminState {
        ops,
        token: Arc::new(token),
    };
    Router::new()
        .route("/admin/dead-letters", get(list))
        .route("/admin/dead-letters/replay", post(replay))
        .route("/admin/dead-letters/purge", post(purge))
        .route("/admin/dead-letters/{id}", get(show))
        .route("/admin/history", get(history))
        .route("/admin/queues", get(queues))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// An API error: status plus `{code, detail}`, from one place.
struct AdminError(StatusCode, &'static str, String);

impl From<OpsError> for AdminError {
    fn from(e: OpsError) -> Self {
        let status = match &e {
            OpsError::InvalidInput { .. } | OpsError::NoFilter => StatusCode::BAD_REQUEST,
            OpsError::NotFound(_) => StatusCode::NOT_FOUND,
            OpsError::Queue(_) | OpsError::Publish(_) | OpsError::Store(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        AdminError(status, e.code(), e.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let AdminError(status, code, detail) = self;
        if status.is_server_error() {
            tracing::warn!(%status, code, %detail, "Admin request failed.");
        } else {
            tracing::info!(%status, code, %detail, "Admin request refused.");
        }
        (
            status,
            Json(serde_json::json!({"code": code, "detail": detail})),
        )
            .into_response()
    }
}

async fn authenticate(State(s): State<AdminState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = s.token.expose_secret().as_bytes();
    // ct_eq on unequal lengths returns false at once; the length of the
    // token is not the secret.
    let ok = !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected));
    if !ok {
        let detail = if given.is_empty() {
            "missing bearer token (Authorization: Bearer <ops.admin_token>)"
        } else {
            "wrong bearer token"
        };
        return AdminError(StatusCode::UNAUTHORIZED, "unauthorized", detail.to_owned())
            .into_response();
    }
    next.run(req).await
}

/// Who did it, for the audit trail: the `X-Actor` header if sent.
fn actor(headers: &axum::http::HeaderMap) -> String {
    let who = headers
        .get("x-actor")
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "anonymous".to_owned());
    format!("admin-api:{who}")
}

/// Query parameters of `GET /admin/dead-letters` (comma-separated lists).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    queue: Option<String>,
    id: Option<String>,
    topic: Option<String>,
    shop: Option<String>,
    reason: Option<String>,
    stage: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

fn split(v: Option<&String>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

impl ListQuery {
    fn filter(&self) -> Result<Filter, OpsError> {
        Filter {
            ids: split(self.id.as_ref()),
            topics: split(self.topic.as_ref()),
            shops: split(self.shop.as_ref()),
            reasons: split(self.reason.as_ref()),
            stages: split(self.stage.as_ref()),
            ..Filter::default()
        }
        .with_time_range(self.since.as_deref(), self.until.as_deref())
    }
}

fn target(raw: Option<&str>) -> Result<TargetQueue, OpsError> {
    raw.map_or(Ok(TargetQueue::DeadLetter), TargetQueue::parse)
}

fn query<T: serde::de::DeserializeOwned + Default>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, AdminError> {
    q.map(|Query(q)| q)
        .map_err(|e| AdminError(StatusCode::BAD_REQUEST, "invalid_input", e.body_text()))
}

fn body<T: serde::de::DeserializeOwned>(
    b: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, AdminError> {
    b.map(|Json(b)| b)
        .map_err(|e| AdminError(StatusCode::BAD_REQUEST, "invalid_input", e.body_text()))
}

async fn list(
    State(s): State<AdminState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let listing = s
        .ops
        .list(
            target(q.queue.as_deref())?,
            &q.filter()?,
            q.limit.unwrap_or(100).min(10_000),
        )
        .await?;
    Ok(Json(listing).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ShowQuery {
    queue: Option<String>,
    #[serde(default)]
    reveal: bool,
}

async fn show(
    State(s): State<AdminState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    q: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    if q.reveal {
        tracing::warn!(actor = %actor(&headers), webhook_id = %id, "Dead letter payload revealed.");
    }
    let detail = s
        .ops
        .show(target(q.queue.as_deref())?, &id, q.reveal)
        .await?;
    Ok(Json(detail).into_response())
}

/// Body of replay and purge requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    filter: Filter,
    #[serde(default)]
    dry_run: bool,
    /// Replay only: messages per second.
    #[serde(default)]
    rate: Option<f64>,
    /// Allow an empty filter.
    #[serde(default)]
    all: bool,
}

async fn replay(
    State(s): State<AdminState>,
    headers: axum::http::HeaderMap,
    b: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    let b = body(b)?;
    if b.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(
            OpsError::invalid("rate", "must be a positive number of messages per second").into(),
        );
    }
    let options = ReplayOptions {
        dry_run: b.dry_run,
        rate: b.rate,
        all: b.all,
    };
    let report = s
        .ops
        .replay(
            target(b.queue.as_deref())?,
            &b.filter,
            &options,
            &actor(&headers),
        )
        .await?;
    Ok(Json(report).into_response())
}

async fn purge(
    State(s): State<AdminState>,
    headers: axum::http::HeaderMap,
    b: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    let b = body(b)?;
    if b.rate.is_some() {
        return Err(OpsError::invalid("rate", "applies to replay only").into());
    }
    let report = s
        .ops
        .purge(
            target(b.queue.as_deref())?,
            &b.filter,
            b.dry_run,
            b.all,
            &actor(&headers),
        )
        .await?;
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<u32>,
}

async fn history(
    State(s): State<AdminState>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let ops = s.ops.history(q.limit.unwrap_or(50).min(1000)).await?;
    Ok(Json(serde_json::json!({"operations": ops})).into_response())
}

async fn queues(State(s): State<AdminState>) -> Result<Response, AdminError> {
    let all = so_queue::stats::queue_stats(s.ops.broker())
        .await
        .map_err(OpsError::from)?;
    Ok(Json(serde_json::json!({"queues": all})).into_response())
}
