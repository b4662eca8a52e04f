//! `POST /webhooks/shopify`.
//!
//! Order of checks: cheap header checks first (the header section's size
//! before anything), then the body is read (bounded in size and time), the
//! signature is verified over the raw bytes, and only then is anything
//! parsed. The answer is 200 only once the broker confirmed the persistent
//! publish; after the signature matched, anything but a body that is not a
//! JSON object is kept (see [`crate::destination`]).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use so_domain::{EntityKey, EventMeta, route_payload};
use so_platform::metrics;
use so_shopify::{Admitted, RawWebhook, ShopifyHeaders};
use tracing::Instrument;
use tracing::field::Empty;

use crate::app::IngressState;
use crate::destination::{Destination, destination};
use crate::error::ApiError;

pub(crate) async fn receive(
    State(state): State<IngressState>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // The request's own headers, not a copy (axum's `HeaderMap` extractor clones them).
    let (parts, body) = request.into_parts();
    let span = tracing::info_span!("webhook", webhook_id = Empty, topic = Empty, shop = Empty);
    let result = handle(&state, &parts.headers, body).instrument(span).await;
    let class = if result.is_ok() { "2xx" } else { "error" };
    metrics::webhook_duration(started.elapsed().as_secs_f64(), class);
    result
}

/// The 200 answer: `{"status": "queued", "route": ...}` as `serde_json`
/// writes it (keys sorted), without building it per webhook.
fn queued(destination: &Destination) -> Response {
    let body: &'static [u8] = match destination {
        Destination::Work(_) => br#"{"route":"work","status":"queued"}"#,
        Destination::Parked { .. } => br#"{"route":"parked","status":"queued"}"#,
    };
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], Bytes::from_static(body)).into_response()
}

async fn handle(
    state: &IngressState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let span = tracing::Span::current();
    let settings = &state.config.ingress;
    require_header_section_within(headers, settings.max_header_bytes)?;
    let shopify = ShopifyHeaders::new(headers);
    metrics::webhook_received(shopify.topic_label());
    require_identity_encoding(headers)?;
    require_json(headers)?;
    let shop = shopify.shop_domain()?;
    span.record("shop", shop.as_str());
    let shops = state.shops.snapshot();
    let secrets = shops
        .secrets_for(&shop)
        .ok_or_else(|| ApiError::UnknownShop(shop.to_string()))?;
    let signature = shopify.hmac()?;
    if signature.is_none() {
        return Err(ApiError::Hmac(so_shopify::HmacError::Missing));
    }

    let body = read_body(
        headers,
        body,
        settings.max_body_bytes,
        settings.body_timeout_ms,
    )
    .await?;
    if body.is_empty() {
        return Err(ApiError::EmptyBody);
    }
    let verified = RawWebhook::new(shop, body)
        .verify(secrets, signature)
        .map_err(ApiError::Hmac)?;

    // Authentic from here on: 200 (queued or parked) or 503, except for a
    // missing required header or a body that is not a JSON object.
    state
        .last_received
        .record(verified.shop().as_str(), crate::silence::unix_now());
    let admitted = shopify.admit()?;
    span.record("webhook_id", admitted.headers.webhook_id.as_str());
    span.record("topic", admitted.headers.topic.as_str());
    note_irregular(&admitted);
    let destination = destination(
        &admitted,
        route_payload(&admitted.headers.topic, verified.body()),
    )?;
    let fields = admitted.headers;
    let meta = EventMeta {
        webhook_id: fields.webhook_id,
        topic: fields.topic,
        shop: verified.shop().clone(),
        api_version: fields.api_version,
        event_id: fields.event_id,
        triggered_at: fields.triggered_at,
        received_at: chrono::Utc::now(),
        // Stands in only for the publish call; a parked message without a
        // derived entity carries no entity header.
        entity: match &destination {
            Destination::Work(e) => e.clone(),
            Destination::Parked { entity, .. } => entity.clone().unwrap_or(EntityKey::Shop),
        },
    };

    let publish_started = Instant::now();
    let published = match &destination {
        Destination::Work(_) => state.publisher.publish_event(&meta, verified.body()).await,
        Destination::Parked {
            reason,
            detail,
            entity,
        } => {
            state
                .publisher
                .publish_parked(
                    &meta,
                    verified.body(),
                    reason.as_str(),
                    detail,
                    entity.is_some(),
                )
                .await
        }
    };
    match published {
        Ok(()) => metrics::publish_confirmed(publish_started.elapsed().as_secs_f64()),
        Err(e) => {
            metrics::publish_failed(e.reason());
            return Err(ApiError::Unavailable(e));
        }
    }
    let route_label = destination.label();
    metrics::webhook_accepted(meta.topic.metric_label(), route_label);
    if let Destination::Parked { reason, detail, .. } = &destination {
        metrics::event_parked(meta.shop.as_str(), *reason);
        tracing::info!(reason = reason.as_str(), detail = %detail, "Webhook parked.");
    }
    tracing::debug!(route = route_label, entity = %meta.entity, "Webhook queued.");
    Ok(queued(&destination))
}

/// Counts and logs each irregular header of an authentic webhook (the
/// problem names the header; values are not logged beyond it).
fn note_irregular(admitted: &Admitted) {
    for irregular in &admitted.irregular {
        metrics::webhook_irregular(irregular.kind.as_str());
        tracing::warn!(
            irregularity = irregular.kind.as_str(),
            problem = %irregular.problem,
            "Authentic webhook with an irregular header; kept."
        );
    }
}

/// Refuses a header section larger than `limit` (each header's name and
/// value plus `: ` and CRLF), before the body is read. hyper has already
/// buffered it (its own limit is larger, see `ingress.max_header_bytes`),
/// so this bounds what the handler and the queue headers ever carry.
fn require_header_section_within(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > limit {
        return Err(ApiError::HeadersTooLarge { size, limit });
    }
    Ok(())
}

/// Shopify always sends `application/json`; anything else is not a
/// webhook we can verify and parse.
/// Shopify sends webhooks uncompressed; a compressed body would be signed
/// and queued as compressed bytes no consumer can read.
fn require_identity_encoding(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::CONTENT_ENCODING) {
        Some(encoding) => {
            let e = encoding.to_str().unwrap_or("?").trim();
            if e.eq_ignore_ascii_case("identity") {
                Ok(())
            } else {
                Err(ApiError::UnsupportedEncoding(e.chars().take(40).collect()))
            }
        }
        None => Ok(()),
    }
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = value.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Reads the whole body, refusing it early when `Content-Length` already
/// exceeds the limit, and giving up on senders slower than `timeout_ms`.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout_ms: u64,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(Duration::from_millis(timeout_ms), collect).await {
        Err(_) => Err(ApiError::BodyTimeout(timeout_ms)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::TooLarge { limit })
        }
        Ok(Err(_)) => Err(ApiError::BodyRead),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use so_domain::{EntityKey, ParkReason};

    use super::*;

    #[tokio::test]
    async fn the_queued_answer_is_what_serde_json_writes() {
        let parked = Destination::Parked {
            reason: ParkReason::UnsupportedTopic,
            detail: String::new(),
            entity: None,
        };
        for destination in [Destination::Work(EntityKey::Shop), parked] {
            let response = queued(&destination);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let expected = serde_json::json!({ "status": "queued", "route": destination.label() });
            assert_eq!(body, serde_json::to_vec(&expected).unwrap());
        }
    }
}
