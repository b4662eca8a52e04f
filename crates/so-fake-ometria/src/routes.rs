//! HTTP layer: routes, headers, status codes and JSON bodies.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use tokio::time::Instant;

use crate::config::ErasureCompletion;
use crate::in_flight::Entered;
use crate::profiles::profiles;
use crate::state::{Refusal, RequestRecord, Shared, request_type};
use crate::unsubscribes::{Filter, parse_time};

/// Auth header name (HTTP header names are case-insensitive).
pub const AUTH_HEADER: &str = "x-ometria-auth";
/// Backlog capacity header, on every push response.
pub const QUEUE_LIMIT_HEADER: &str = "x-queuesize-limit";
/// Remaining backlog header, on every push response.
pub const QUEUE_REMAINING_HEADER: &str = "x-queuesize-remaining";

type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route("/v2/push", post(push))
        .route("/v2/push/_errors", get(push_errors))
        .route("/v2/profiles", get(list_profiles))
        .route("/v2/profiles/{id}", get(get_profile))
        .route("/v2/unsubscribes", get(unsubscribes))
        .route("/v2/merge-profile", post(merge_profile))
        .route(
            "/v2/data-deletion-requests",
            post(create_erasure).get(list_erasures),
        )
        .route("/v2/data-deletion-requests/{id}", get(get_erasure))
        // 100 records of up to 60 KB, plus room for over-size ones that must
        // reach the per-record check rather than fail the whole request.
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(shared)
}

async fn push(Extract(shared): Extract<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: Option<Vec<Value>> = serde_json::from_slice(&body).ok();
    let records = parsed.as_ref().map_or(0, Vec::len);
    let record_type = parsed.as_deref().and_then(request_type);
    let (response, delay, applied) = {
        let mut s = shared.lock();
        s.push_requests += 1;
        let result = s.admit(auth(&headers)).and_then(|()| match parsed {
            Some(records) => s.push(records),
            None => Err(Refusal {
                status: 400,
                message: "Body must be a JSON array of records",
            }),
        });
        let applied = result.as_ref().ok().map(|a| a.accepted);
        let mut response = match result {
            Ok(a) => (
                StatusCode::OK,
                axum::Json(json!({
                    "status": "OK",
                    "request_id": a.request_id,
                    "accepted": a.accepted,
                    "rejected": a.rejected,
                })),
            )
                .into_response(),
            Err(refusal) => error_response(refusal),
        };
        let queue = [
            (QUEUE_LIMIT_HEADER, s.backlog_limit),
            (QUEUE_REMAINING_HEADER, s.queue_remaining()),
        ];
        for (name, value) in queue {
            response
                .headers_mut()
                .insert(name, HeaderValue::from(value));
        }
        s.log(RequestRecord {
            bytes: body.len(),
            ..entry("POST", "/v2/push", response.status(), records, record_type)
        });
        (response, s.take_delay(), applied)
    };
    let Some(applied) = applied else {
        return delayed(response, delay).await;
    };
    let mut in_flight = Entered::new(&shared, applied);
    let response = delayed(response, delay).await;
    in_flight.released().await;
    response
}

async fn merge_profile(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, delay) = {
        let mut s = shared.lock();
        let mut response = match s
            .admit(auth(&headers))
            .and_then(|()| s.merge_profile(&body))
        {
            Ok(job) => (StatusCode::ACCEPTED, axum::Json(job)).into_response(),
            Err(refusal) => error_response(refusal),
        };
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("60"));
        }
        s.log(entry(
            "POST",
            "/v2/merge-profile",
            response.status(),
            0,
            None,
        ));
        (response, s.take_delay())
    };
    delayed(response, delay).await
}

async fn create_erasure(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, delay, complete_after) = {
        let mut s = shared.lock();
        let created = s
            .admit(auth(&headers))
            .and_then(|()| s.request_erasure(&body));
        let mut complete_after = None;
        let response = match created {
            Ok(request) => {
                if let ErasureCompletion::After(d) = s.erasure_completion {
                    complete_after = request["id"].as_str().map(|id| (id.to_owned(), d));
                }
                (StatusCode::CREATED, axum::Json(request)).into_response()
            }
            Err(refusal) => error_response(refusal),
        };
        s.log(entry(
            "POST",
            "/v2/data-deletion-requests",
            response.status(),
            0,
            None,
        ));
        (response, s.take_delay(), complete_after)
    };
    if let Some((id, after)) = complete_after {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            shared.lock().complete_erasure(&id);
        });
    }
    delayed(response, delay).await
}

async fn list_erasures(Extract(shared): Extract<AppState>, headers: HeaderMap) -> Response {
    guarded(&shared, &headers, "/v2/data-deletion-requests", |s| {
        Ok(Value::Array(
            s.erasures.iter().map(|e| e.to_json()).collect(),
        ))
    })
    .await
}

async fn get_erasure(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guarded(&shared, &headers, "/v2/data-deletion-requests/{id}", |s| {
        s.erasures
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.to_json())
            .ok_or(Refusal {
                status: 404,
                message: "Data deletion request not found",
            })
    })
    .await
}

async fn push_errors(Extract(shared): Extract<AppState>, headers: HeaderMap) -> Response {
    guarded(&shared, &headers, "/v2/push/_errors", |s| {
        Ok(Value::Array(s.visible_errors()))
    })
    .await
}

async fn list_profiles(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guarded(&shared, &headers, "/v2/profiles", |s| {
        let number = |k: &str, default: usize| q.get(k).map_or(Ok(default), |v| v.parse());
        let (Ok(limit), Ok(offset)) = (number("limit", 10), number("offset", 0)) else {
            return Err(Refusal {
                status: 400,
                message: "limit and offset must be integers",
            });
        };
        let mut all = profiles(&s.store);
        if let Some(email) = q.get("email") {
            all.retain(|p| has_email(s, p, email));
        }
        let page = all.into_iter().skip(offset).take(limit.min(250)).collect();
        Ok(Value::Array(page))
    })
    .await
}

async fn get_profile(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guarded(&shared, &headers, "/v2/profiles/{id}", |s| {
        profiles(&s.store)
            .into_iter()
            .find(|p| p["id"] == id.as_str())
            .ok_or(Refusal {
                status: 404,
                message: "Profile not found",
            })
    })
    .await
}

async fn unsubscribes(
    Extract(shared): Extract<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    guarded(&shared, &headers, "/v2/unsubscribes", |s| {
        let time = |k: &str| q.get(k).map(|v| parse_time(v).ok_or(()));
        let (Ok(since), Ok(before)) = (time("since").transpose(), time("before").transpose())
        else {
            return Err(Refusal {
                status: 400,
                message: "since/before must be YYYY-MM-DDTHH:MM:SS",
            });
        };
        let filter = Filter {
            since,
            before,
            kind: q.get("type").cloned(),
        };
        let list = s
            .unsubscribes
            .iter()
            .filter(|u| filter.matches(u))
            .map(|u| u.to_json());
        Ok(Value::Array(list.collect()))
    })
    .await
}

/// A read endpoint: admission, the handler, logging and any injected delay.
async fn guarded(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
    handle: impl FnOnce(&crate::state::State) -> Result<Value, Refusal>,
) -> Response {
    let (response, delay) = {
        let mut s = shared.lock();
        let response = match s.admit(auth(headers)).and_then(|()| handle(&s)) {
            Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
            Err(refusal) => error_response(refusal),
        };
        s.log(entry("GET", path, response.status(), 0, None));
        (response, s.take_delay())
    };
    delayed(response, delay).await
}

/// Injected delays happen after the request took effect, so a client that
/// times out has still been applied: the realistic "did it arrive?" case
/// (detected through write counts), and deterministic.
async fn delayed(response: Response, delay: Option<std::time::Duration>) -> Response {
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

fn has_email(s: &crate::state::State, profile: &Value, email: &str) -> bool {
    let email = email.to_lowercase();
    let Some(ids) = profile["identities"].as_array() else {
        return false;
    };
    s.store.of_type(RecordType::Contact).any(|(k, stored)| {
        ids.iter()
            .any(|i| i["id"] == k.id.as_str() && i["collection"] == json!(k.collection))
            && stored
                .body
                .get("email")
                .and_then(Value::as_str)
                .map(str::to_lowercase)
                == Some(email.clone())
    })
}

fn error_response(refusal: Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"status": "ERROR", "message": refusal.message})),
    )
        .into_response()
}

fn auth(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTH_HEADER).and_then(|v| v.to_str().ok())
}

fn entry(
    method: &'static str,
    path: &str,
    status: StatusCode,
    records: usize,
    record_type: Option<RecordType>,
) -> RequestRecord {
    RequestRecord {
        method,
        path: path.to_owned(),
        status: status.as_u16(),
        records,
        record_type,
        bytes: 0,
        at: Instant::now(),
        timestamp: Utc::now(),
    }
}
