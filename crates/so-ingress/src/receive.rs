//! `POST /webhooks/shopify`.
//!
//! Order of checks: cheap header checks first, then the body is read
//! (bounded in size and time), the signature is verified over the raw
//! bytes, and only then is anything parsed. The answer is 200 only once
//! the broker confirmed the persistent publish.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use so_domain::{EventMeta, ParkReason, TopicName, route_payload};
use so_platform::metrics;
use so_queue::Route;
use so_shopify::{RawWebhook, ShopifyHeaders};
use tracing::Instrument;
use tracing::field::Empty;

use crate::app::IngressState;
use crate::error::ApiError;

pub(crate) async fn receive(
    State(state): State<IngressState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let started = Instant::now();
    let span = tracing::info_span!("webhook", webhook_id = Empty, topic = Empty, shop = Empty);
    let result = handle(&state, &headers, body).instrument(span).await;
    let class = if result.is_ok() { "2xx" } else { "error" };
    metrics::webhook_duration(started.elapsed().as_secs_f64(), class);
    result
}

async fn handle(
    state: &IngressState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let span = tracing::Span::current();
    let shopify = ShopifyHeaders::new(headers);
    metrics::webhook_received(shopify.topic_label());
    require_identity_encoding(headers)?;
    require_json(headers)?;
    let shop = shopify.shop_domain()?;
    span.record("shop", shop.as_str());
    let secrets = state
        .config
        .secrets_for(&shop)
        .ok_or_else(|| ApiError::UnknownShop(shop.to_string()))?;
    let signature = shopify.hmac()?;
    if signature.is_none() {
        return Err(ApiError::Hmac(so_shopify::HmacError::Missing));
    }

    let settings = &state.config.ingress;
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

    let fields = shopify.validate()?;
    span.record("webhook_id", fields.webhook_id.as_str());
    span.record("topic", fields.topic.as_str());

    let entity = route_payload(&fields.topic, verified.body()).map_err(ApiError::InvalidPayload)?;
    let route = match fields.topic {
        TopicName::Known(_) => Route::Work,
        TopicName::Unsupported(_) => Route::Parked {
            reason: ParkReason::UnsupportedTopic.as_str(),
        },
    };
    let meta = EventMeta {
        webhook_id: fields.webhook_id,
        topic: fields.topic,
        shop: verified.shop().clone(),
        api_version: fields.api_version,
        event_id: fields.event_id,
        triggered_at: fields.triggered_at,
        received_at: chrono::Utc::now(),
        entity,
    };

    let publish_started = Instant::now();
    match state
        .publisher
        .publish_event(&meta, verified.body(), route)
        .await
    {
        Ok(()) => metrics::publish_confirmed(publish_started.elapsed().as_secs_f64()),
        Err(e) => {
            metrics::publish_failed(e.reason());
            return Err(ApiError::Unavailable(e));
        }
    }
    let route_label = match route {
        Route::Work => "work",
        Route::Parked { .. } => "parked",
    };
    metrics::webhook_accepted(meta.topic.metric_label(), route_label);
    tracing::debug!(route = route_label, entity = %meta.entity, "Webhook queued.");
    Ok(Json(
        serde_json::json!({ "status": "queued", "route": route_label }),
    ))
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
