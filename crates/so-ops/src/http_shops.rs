//! The `/admin/shops` handlers: status, pause, resume, settings, history and activity. Routed from the
//! one table in [`crate::http_api`].

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::http_api::{AdminError, AdminState, actor, body, query};
use crate::limits;

pub(crate) async fn list(State(s): State<AdminState>) -> Result<Response, AdminError> {
    Ok(Json(serde_json::json!({"shops": s.shops.list().await?})).into_response())
}

pub(crate) async fn show(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
) -> Result<Response, AdminError> {
    Ok(Json(s.shops.show(&shop).await?).into_response())
}

pub(crate) async fn put(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
    headers: axum::http::HeaderMap,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, AdminError> {
    let settings = body(b)?;
    let report = s
        .shops
        .set_settings(&shop, &settings, &actor(&headers))
        .await?;
    Ok(Json(report).into_response())
}

pub(crate) async fn pause(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AdminError> {
    Ok(Json(s.shops.pause(&shop, &actor(&headers)).await?).into_response())
}

pub(crate) async fn resume(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AdminError> {
    Ok(Json(s.shops.resume(&shop, &actor(&headers)).await?).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    /// Text, so a bad value is refused naming `limit`.
    limit: Option<String>,
}

/// The `limit` query parameter, refused naming `limit` when it is not a count within `max`.
fn limit_of(
    q: Result<Query<HistoryQuery>, QueryRejection>,
    default: u32,
    max: std::ops::RangeInclusive<u32>,
) -> Result<u32, AdminError> {
    Ok(limits::count(
        "limit",
        query(q)?.limit.as_deref(),
        default,
        max,
    )?)
}

pub(crate) async fn history(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let limit = limit_of(q, limits::LIST_LIMIT_DEFAULT, limits::LIST_LIMIT)?;
    let versions = s.shops.history(&shop, limit).await?;
    Ok(Json(serde_json::json!({"shop": shop, "versions": versions})).into_response())
}

pub(crate) async fn activity(
    State(s): State<AdminState>,
    Path(shop): Path<String>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let limit = limit_of(q, limits::ACTIVITY_LIMIT_DEFAULT, limits::ACTIVITY_LIMIT)?;
    Ok(Json(s.shops.activity(&shop, limit).await?).into_response())
}
