//! The one place where failures become HTTP responses (and rejection
//! counters and log lines, so the three never drift apart).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use so_queue::PublishError;
use so_shopify::{HeaderError, HmacError};

/// Every way a webhook request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("method not allowed: use POST")]
    MethodNotAllowed,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Content-Encoding {0:?} is not supported: send the JSON body uncompressed")]
    UnsupportedEncoding(String),
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("shop {0} has no configured webhook secret")]
    UnknownShop(String),
    #[error("{0}")]
    Hmac(HmacError),
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the header section ({size} bytes) exceeds the limit of {limit} bytes")]
    HeadersTooLarge { size: usize, limit: usize },
    #[error("the body was not received within {0} ms")]
    BodyTimeout(u64),
    #[error("the body could not be read")]
    BodyRead,
    #[error("the body is empty")]
    EmptyBody,
    #[error("{0}")]
    InvalidPayload(so_domain::PayloadError),
    #[error("the queue is unavailable: {0}")]
    Unavailable(#[from] PublishError),
}

impl ApiError {
    /// Stable, bounded code: the response's `code` and the metric's reason.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::UnsupportedEncoding(_) => "unsupported_content_encoding",
            ApiError::Header(e) if e.is_missing() => "missing_header",
            ApiError::Header(_) => "invalid_header",
            ApiError::UnknownShop(_) => "unknown_shop",
            ApiError::Hmac(HmacError::Missing) => "missing_hmac",
            ApiError::Hmac(HmacError::Malformed) => "malformed_hmac",
            ApiError::Hmac(HmacError::Mismatch) => "invalid_hmac",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::HeadersTooLarge { .. } => "headers_too_large",
            ApiError::BodyTimeout(_) => "body_timeout",
            ApiError::BodyRead => "body_read_failed",
            ApiError::EmptyBody => "empty_body",
            ApiError::InvalidPayload(so_domain::PayloadError::NotAnObject) => "not_a_json_object",
            ApiError::InvalidPayload(so_domain::PayloadError::InvalidJson(_)) => "invalid_json",
            // An object without a usable entity id is parked, not refused
            // (`receive::destination`); these codes only name the error.
            ApiError::InvalidPayload(so_domain::PayloadError::MissingEntityId { .. }) => {
                "missing_entity_id"
            }
            ApiError::InvalidPayload(so_domain::PayloadError::InvalidEntityId { .. }) => {
                "invalid_entity_id"
            }
            ApiError::Unavailable(_) => "queue_unavailable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::Header(_)
            | ApiError::EmptyBody
            | ApiError::InvalidPayload(_)
            | ApiError::BodyRead => StatusCode::BAD_REQUEST,
            // Shopify requires 401 for a bad signature (privacy compliance
            // webhooks); an unknown shop is the same: we cannot verify it.
            ApiError::UnknownShop(_) | ApiError::Hmac(_) => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Seconds for `Retry-After` on 503, set by the application at start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryAfter(pub(crate) u32);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        so_platform::metrics::webhook_rejected(code);
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code, error = %self, "Webhook not accepted; Shopify will retry.");
        } else {
            tracing::info!(code, status = status.as_u16(), detail = %self, "Webhook rejected.");
        }
        let body = Json(serde_json::json!({ "code": code, "detail": self.to_string() }));
        let mut response = (status, body).into_response();
        if let ApiError::MethodNotAllowed = self {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response.extensions_mut().insert(code);
        response
    }
}

/// Every way an OAuth install request can fail (`install.rs`). The same
/// `{code, detail}` body as webhook errors; no detail holds a code, token or
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("the query parameter {0} is missing")]
    Missing(&'static str),
    #[error("shop must be a <name>.myshopify.com hostname")]
    InvalidShop,
    #[error("the query's hmac does not match")]
    InvalidHmac,
    #[error("the timestamp is missing, malformed or too far from now")]
    StaleTimestamp,
    #[error("the state is unknown or was already used")]
    UnknownState,
    #[error("the state has expired; start the install again")]
    ExpiredState,
    #[error("the state was issued for another shop")]
    StateShopMismatch,
    #[error("Shopify refused the authorization code: {0}")]
    CodeRefused(String),
    #[error("Shopify's token endpoint failed: {0}")]
    TokenEndpoint(String),
    #[error("the token store failed: {0}")]
    Store(String),
}

impl InstallError {
    pub fn code(&self) -> &'static str {
        match self {
            InstallError::Missing(_) => "missing_parameter",
            InstallError::InvalidShop => "invalid_shop",
            InstallError::InvalidHmac => "invalid_hmac",
            InstallError::StaleTimestamp => "stale_timestamp",
            InstallError::UnknownState => "unknown_state",
            InstallError::ExpiredState => "expired_state",
            InstallError::StateShopMismatch => "state_shop_mismatch",
            InstallError::CodeRefused(_) => "code_refused",
            InstallError::TokenEndpoint(_) => "token_endpoint_failed",
            InstallError::Store(_) => "store_failed",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            InstallError::Missing(_)
            | InstallError::InvalidShop
            | InstallError::StaleTimestamp
            | InstallError::ExpiredState => StatusCode::BAD_REQUEST,
            InstallError::InvalidHmac
            | InstallError::UnknownState
            | InstallError::StateShopMismatch
            | InstallError::CodeRefused(_) => StatusCode::FORBIDDEN,
            InstallError::TokenEndpoint(_) => StatusCode::BAD_GATEWAY,
            InstallError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for InstallError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = self.status();
        tracing::warn!(code, status = status.as_u16(), detail = %self, "OAuth install request refused.");
        let body = Json(serde_json::json!({ "code": code, "detail": self.to_string() }));
        (status, body).into_response()
    }
}
