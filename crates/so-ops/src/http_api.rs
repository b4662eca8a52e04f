//! The admin API on the ops listener: the same actions as the `dlq` CLI, as
//! JSON under `/admin/`, behind `Authorization: Bearer <ops.admin_token>`
//! (compared in constant time). Described in `docs/admin-api.yaml`.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::actions::{QueueOps, ReplayOptions, TargetQueue};
use crate::filter::Filter;
use crate::http_shops as shops;
use crate::shops::ShopOps;
use crate::{OpsError, limits};

#[derive(Clone)]
pub(crate) struct AdminState {
    ops: QueueOps,
    pub(crate) shops: ShopOps,
    token: Arc<SecretString>,
}

/// The `/admin/` routes; merge them into the ops router.
pub fn router(ops: QueueOps, shops: ShopOps, token: SecretString) -> Router {
    let state = AdminState {
        ops,
        shops,
        token: Arc::new(token),
    };
    ROUTES
        .iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler())
        })
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// (method, path, handler) of every route, as `docs/admin-api.yaml` lists
/// them: a test holds the two equal.
type Route = (&'static str, &'static str, fn() -> MethodRouter<AdminState>);

const ROUTES: [Route; 16] = [
    ("get", "/admin/dead-letters", || get(list)),
    ("post", "/admin/dead-letters/reindex", || post(reindex)),
    ("post", "/admin/dead-letters/replay", || post(replay)),
    ("post", "/admin/dead-letters/purge", || post(purge)),
    ("get", "/admin/dead-letters/{id}", || get(show)),
    ("get", "/admin/history", || get(history)),
    ("get", "/admin/queues", || get(queues)),
    ("get", "/admin/exports", || get(exports)),
    ("get", "/admin/exports/{id}", || get(export)),
    ("get", "/admin/shops", || get(shops::list)),
    ("get", "/admin/shops/{shop}", || get(shops::show)),
    ("put", "/admin/shops/{shop}", || put(shops::put)),
    ("post", "/admin/shops/{shop}/pause", || post(shops::pause)),
    ("post", "/admin/shops/{shop}/resume", || post(shops::resume)),
    ("get", "/admin/shops/{shop}/history", || get(shops::history)),
    ("get", "/admin/shops/{shop}/activity", || {
        get(shops::activity)
    }),
];

/// An API error: status plus `{code, detail}`, from one place.
pub(crate) struct AdminError(StatusCode, &'static str, String);

impl From<OpsError> for AdminError {
    fn from(e: OpsError) -> Self {
        let status = match &e {
            OpsError::InvalidInput { .. } | OpsError::NoFilter | OpsError::InvalidSettings(_) => {
                StatusCode::BAD_REQUEST
            }
            OpsError::NotFound(_) | OpsError::ExportNotFound(_) | OpsError::UnknownShop(_) => {
                StatusCode::NOT_FOUND
            }
            OpsError::ManagedAsCode(_) => StatusCode::CONFLICT,
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
pub(crate) fn actor(headers: &axum::http::HeaderMap) -> String {
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
    /// Text, so a bad value is refused naming `limit` (see [`limits`]).
    limit: Option<String>,
    /// Matches to skip (the next page: the listing's `next_offset`).
    offset: Option<String>,
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

pub(crate) fn query<T: serde::de::DeserializeOwned + Default>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, AdminError> {
    q.map(|Query(q)| q)
        .map_err(|e| AdminError(StatusCode::BAD_REQUEST, "invalid_input", e.body_text()))
}

pub(crate) fn body<T: serde::de::DeserializeOwned>(
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
    let limit = limits::count(
        "limit",
        q.limit.as_deref(),
        limits::LIST_LIMIT_DEFAULT,
        limits::LIST_LIMIT,
    )?;
    let offset = limits::count("offset", q.offset.as_deref(), 0, limits::LIST_OFFSET)?;
    let listing = s
        .ops
        .list_page(
            target(q.queue.as_deref())?,
            &q.filter()?,
            u64::from(offset),
            usize::try_from(limit).unwrap_or(usize::MAX),
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
    let options = ReplayOptions {
        dry_run: b.dry_run,
        rate: b.rate.map(limits::rate).transpose()?,
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

/// Body of a reindex request.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReindexBody {
    #[serde(default)]
    queue: Option<String>,
}

async fn reindex(
    State(s): State<AdminState>,
    headers: axum::http::HeaderMap,
    b: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AdminError> {
    // serde reads a struct from a JSON array too; the document says object.
    let raw = body(b)?;
    if !raw.is_object() {
        return Err(OpsError::invalid("body", "must be a JSON object").into());
    }
    let b: ReindexBody = serde_json::from_value(raw)
        .map_err(|e| AdminError(StatusCode::BAD_REQUEST, "invalid_input", e.to_string()))?;
    let queue = target(b.queue.as_deref())?;
    tracing::info!(actor = %actor(&headers), queue = queue.as_str(), "Letter index rebuild asked.");
    let report = s.ops.reindex(queue).await?;
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<String>,
}

async fn history(
    State(s): State<AdminState>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let limit = limits::count(
        "limit",
        q.limit.as_deref(),
        limits::HISTORY_LIMIT_DEFAULT,
        limits::HISTORY_LIMIT,
    )?;
    let ops = s.ops.history(limit).await?;
    Ok(Json(serde_json::json!({"operations": ops})).into_response())
}

async fn queues(State(s): State<AdminState>) -> Result<Response, AdminError> {
    let all = so_queue::stats::queue_stats(s.ops.broker())
        .await
        .map_err(OpsError::from)?;
    Ok(Json(serde_json::json!({"queues": all})).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExportsQuery {
    shop: Option<String>,
    limit: Option<String>,
}

async fn exports(
    State(s): State<AdminState>,
    q: Result<Query<ExportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let limit = limits::count(
        "limit",
        q.limit.as_deref(),
        limits::EXPORTS_LIMIT_DEFAULT,
        limits::EXPORTS_LIMIT,
    )?;
    let all = crate::exports::list(s.ops.store(), q.shop.as_deref(), limit).await?;
    Ok(Json(serde_json::json!({"exports": all})).into_response())
}

/// Customer data: [`crate::exports::show`] logs who read it.
async fn export(
    State(s): State<AdminState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AdminError> {
    let export = crate::exports::show(s.ops.store(), &id, &actor(&headers)).await?;
    Ok(Json(export).into_response())
}

#[cfg(test)]
mod tests {
    use super::ROUTES;

    /// The operations of the hand-written document: `  /admin/...:` path
    /// lines, each followed by its `    get:`/`    post:` lines.
    fn documented() -> Vec<(String, String)> {
        let doc = include_str!("../../../docs/admin-api.yaml");
        let mut path = None;
        let mut out = Vec::new();
        for line in doc.lines() {
            if let Some(p) = line.strip_prefix("  /admin/") {
                path = p.strip_suffix(':').map(|p| format!("/admin/{p}"));
            } else if !line.starts_with("    ") && !line.trim().is_empty() {
                path = None;
            } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    "))
                && let Some(m) = m.strip_suffix(':')
                && ["get", "post", "put", "patch", "delete"].contains(&m)
            {
                out.push((m.to_owned(), p.clone()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_document_lists_exactly_the_routes_served() {
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        assert_eq!(documented(), served);
    }
}
