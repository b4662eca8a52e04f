//! HTTP layer: the GraphQL endpoint (per shop, by path prefix or `Host`), the
//! bulk result files, and the order of checks a request goes through.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::config::effective_version;
use crate::cost::{self, MAX_QUERY_COST, root_fields};
use crate::document::parse;
use crate::errors::GqlError;
use crate::exec::{Ctx, execute};
use crate::project::Mode;
use crate::records::RequestRecord;
use crate::store::{Shared, Shop};

/// The access-token header (names are case-insensitive).
pub const ACCESS_TOKEN_HEADER: &str = "x-shopify-access-token";
/// Shopify's 401 body for a missing or wrong token.
pub const INVALID_TOKEN_MESSAGE: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route(
            "/shops/{shop}/admin/api/{version}/graphql.json",
            post(graphql_by_path),
        )
        .route("/admin/api/{version}/graphql.json", post(graphql_by_host))
        .route(
            "/shops/{shop}/admin/oauth/access_token",
            post(token_by_path),
        )
        .route("/admin/oauth/access_token", post(token_by_host))
        .route(
            "/shops/{shop}/admin/oauth/authorize",
            get(authorize_by_path),
        )
        .route("/admin/oauth/authorize", get(authorize_by_host))
        .route("/bulk/{shop}/{file}", get(bulk_file))
        .with_state(shared)
}

async fn graphql_by_path(
    Extract(shared): Extract<AppState>,
    Path((shop, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    graphql(shared, shop, version, headers, body).await
}

async fn graphql_by_host(
    Extract(shared): Extract<AppState>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shop = host_shop(&headers);
    graphql(shared, shop, version, headers, body).await
}

fn host_shop(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    host.split(':').next().unwrap_or_default().to_owned()
}

async fn token_by_path(
    Extract(shared): Extract<AppState>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(shared, shop, headers, body).await
}

async fn token_by_host(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shop = host_shop(&headers);
    token(shared, shop, headers, body).await
}

async fn authorize_by_path(
    Extract(shared): Extract<AppState>,
    Path(shop): Path<String>,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    crate::authcode::authorize(&shared, &shop, &query)
}

async fn authorize_by_host(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    crate::authcode::authorize(&shared, &host_shop(&headers), &query)
}

/// Off the runtime, like `graphql`: the lock may be held by a request
/// generating a bulk result.
async fn token(shared: AppState, shop: String, headers: HeaderMap, body: Bytes) -> Response {
    let answered = tokio::task::spawn_blocking(move || {
        crate::oauth::token_request(&shared, &shop, &headers, &body)
    })
    .await;
    answered.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Answers off the async runtime: a request holds the fake's one lock while
/// it runs, and some take long (completing a bulk operation generates its
/// whole JSONL result; a debug build under load needs seconds for a few
/// thousand orders). On the runtime that would stall every other task of
/// the process hosting the fake, the code under test included (its broker
/// heartbeats, say), which a real Shopify never does.
async fn graphql(
    shared: AppState,
    shop: String,
    version: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answered = tokio::task::spawn_blocking(move || {
        answer_locked(&shared, &shop, version, &headers, &body)
    })
    .await;
    match answered {
        Ok(Ok((response, delay))) => delayed(response, delay).await,
        Ok(Err(response)) => response,
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"errors": "Internal Server Error"})),
        )
            .into_response(),
    }
}

/// The request under the lock: the response and how long to hold it back,
/// or a response for an unknown shop.
fn answer_locked(
    shared: &Shared,
    shop: &str,
    version: String,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Response, Option<Duration>), Response> {
    let mut state = shared.lock();
    let root_url = state.root_url.clone();
    let Some(shop) = state.shops.get_mut(shop) else {
        return Err((
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errors": "Not Found"})),
        )
            .into_response());
    };
    shop.stats.requests += 1;
    let effective = effective_version(&version);
    let mut record = RequestRecord {
        version,
        effective_version: effective,
        status: 0,
        throttled: false,
        requested_cost: None,
        actual_cost: None,
        root_fields: Vec::new(),
        error_codes: Vec::new(),
        served_ids: Vec::new(),
        at: Instant::now(),
    };
    let (status, body) = answer(shop, &root_url, effective, headers, body, &mut record);
    record.status = status.as_u16();
    if status == StatusCode::OK && body.get("data").is_some() {
        shop.answered();
    }
    record.error_codes = error_codes(&body);
    record.served_ids = served_ids(&body);
    shop.requests.push(record);
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("x-shopify-api-version", HeaderValue::from_static(effective));
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok((response, shop.take_delay()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphQlBody {
    query: String,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    operation_name: Option<String>,
}

/// The checks in the order Shopify applies them: availability, auth, the
/// document, its cost against the single-query limit and the bucket; then
/// execution, and the refund of requested minus actual cost.
fn answer(
    shop: &mut Shop,
    root_url: &str,
    version: &'static str,
    headers: &HeaderMap,
    body: &[u8],
    record: &mut RequestRecord,
) -> (StatusCode, Value) {
    if let Some(status) = shop.take_failure() {
        shop.stats.server_errors += 1;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, json!({"errors": "Internal Server Error"}));
    }
    let token = headers
        .get(ACCESS_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    if !token.is_some_and(|t| shop.token_valid(t)) {
        shop.stats.unauthorized += 1;
        return (
            StatusCode::UNAUTHORIZED,
            json!({"errors": INVALID_TOKEN_MESSAGE}),
        );
    }
    let Ok(request) = serde_json::from_slice::<GraphQlBody>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    };
    let variables = request.variables.unwrap_or_default();
    let op = match parse(
        &request.query,
        &variables,
        request.operation_name.as_deref(),
    ) {
        Ok(op) => op,
        Err(e) => return (StatusCode::OK, json!({"errors": [e.to_json()]})),
    };
    record.root_fields = root_fields(&op.selection)
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let requested = match cost::requested(&op) {
        Ok(c) => c,
        Err(e) => return (StatusCode::OK, json!({"errors": [e.to_json()]})),
    };
    record.requested_cost = Some(requested);
    if requested > MAX_QUERY_COST {
        let body = with_cost(
            json!({"errors": [cost::max_cost_exceeded(requested).to_json()]}),
            shop,
            requested,
            None,
        );
        return (StatusCode::OK, body);
    }
    if !shop.bucket.try_take(requested) {
        shop.stats.throttled += 1;
        record.throttled = true;
        let status = if shop.config.throttle_with_429 {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::OK
        };
        let body = with_cost(
            json!({"errors": [GqlError::throttled().to_json()]}),
            shop,
            requested,
            None,
        );
        return (status, body);
    }
    let mut ctx = Ctx {
        shop: &mut *shop,
        root_url,
        version,
        mode: Mode::Interactive,
        now: Utc::now(),
        search: Vec::new(),
    };
    let result = execute(&op, &mut ctx);
    let search = std::mem::take(&mut ctx.search);
    match result {
        Err(e) => {
            shop.bucket.refund(requested);
            let body = with_cost(json!({"errors": [e.to_json()]}), shop, requested, Some(0));
            (StatusCode::OK, body)
        }
        Ok(data) => {
            let actual = cost::actual(&op, &data).min(requested);
            shop.bucket.refund(requested - actual);
            shop.stats.points_requested += requested;
            shop.stats.points_used += actual;
            record.actual_cost = Some(actual);
            let mut body = with_cost(json!({"data": data}), shop, requested, Some(actual));
            if !search.is_empty() {
                body["extensions"]["search"] = Value::Array(search);
            }
            (StatusCode::OK, body)
        }
    }
}

fn with_cost(mut body: Value, shop: &mut Shop, requested: u64, actual: Option<u64>) -> Value {
    body["extensions"] = json!({
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }
    });
    body
}

fn error_codes(body: &Value) -> Vec<String> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e.pointer("/extensions/code").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Ids of the connection nodes in `data`, root field by root field.
fn served_ids(body: &Value) -> Vec<String> {
    let Some(Value::Object(roots)) = body.get("data") else {
        return Vec::new();
    };
    let id = |node: &Value| node.get("id").and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    for root in roots.values() {
        if let Some(nodes) = root.get("nodes").and_then(Value::as_array) {
            out.extend(nodes.iter().filter_map(id));
        }
        if let Some(edges) = root.get("edges").and_then(Value::as_array) {
            out.extend(edges.iter().filter_map(|e| e.get("node")).filter_map(id));
        }
    }
    out
}

async fn bulk_file(
    Extract(shared): Extract<AppState>,
    Path((shop, file)): Path<(String, String)>,
) -> Response {
    // Off the runtime too: the lock may be held by a request generating a
    // bulk result (see `graphql`).
    let found = tokio::task::spawn_blocking(move || {
        let state = shared.lock();
        let id = file
            .strip_suffix(".jsonl")
            .and_then(|id| id.parse::<u64>().ok());
        state.shops.get(&shop).and_then(|s| {
            s.bulk
                .iter()
                .find(|o| Some(o.id) == id)
                .and_then(|o| o.file.clone())
        })
    })
    .await;
    match found {
        Ok(Some(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/jsonl")],
            body,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn delayed(response: Response, delay: Option<Duration>) -> Response {
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}
