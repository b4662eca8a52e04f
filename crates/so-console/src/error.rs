//! The console's one error mapping: every refusal is a status and a `{code, detail}` shown on
//! an error page (the same pair the admin API sends as JSON), never the data asked for.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use so_ops::OpsError;
use so_sync::SyncError;

use crate::id_token::IdTokenError;
use crate::pages;

/// Why a console request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session and no ID token: a page asks for a login first.
    #[error("log in first")]
    LoginRequired,
    #[error("a form's CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    #[error("embedded access is off: shopify.app.client_id and client_secret are not set")]
    EmbeddedOff,
    /// An embedded user asked for a shop other than the one their token names.
    #[error("this page belongs to another shop")]
    OtherShop,
    /// An embedded user asked for an ops page (dead letters span every shop).
    #[error("this page is for operators (log in with the admin token)")]
    OpsOnly,
    #[error("invalid form: {0}")]
    Form(String),
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// A profile send could not start (no Admin API access, the store, ...).
    #[error(transparent)]
    Sync(#[from] so_sync::SyncError),
}

impl ConsoleError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ConsoleError::LoginRequired => (StatusCode::SEE_OTHER, "login_required"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "csrf_failed"),
            ConsoleError::IdToken(_) => (StatusCode::UNAUTHORIZED, "invalid_id_token"),
            ConsoleError::EmbeddedOff => (StatusCode::UNAUTHORIZED, "embedded_off"),
            ConsoleError::OtherShop => (StatusCode::FORBIDDEN, "other_shop"),
            ConsoleError::OpsOnly => (StatusCode::FORBIDDEN, "ops_only"),
            ConsoleError::Form(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            ConsoleError::Sync(e) => match e {
                SyncError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
                SyncError::SendRunning { .. } => (StatusCode::CONFLICT, "send_running"),
                SyncError::NoAdminAccess(_) | SyncError::NoOmetriaAccount(_) => {
                    (StatusCode::CONFLICT, "not_connected")
                }
                SyncError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "sync_failed"),
            },
            // The same statuses as the admin API gives these.
            ConsoleError::Ops(e) => (
                match e {
                    OpsError::InvalidInput { .. }
                    | OpsError::NoFilter
                    | OpsError::InvalidSettings(_) => StatusCode::BAD_REQUEST,
                    OpsError::NotFound(_)
                    | OpsError::ExportNotFound(_)
                    | OpsError::UnknownShop(_) => StatusCode::NOT_FOUND,
                    OpsError::ManagedAsCode(_) => StatusCode::CONFLICT,
                    OpsError::Queue(_) | OpsError::Publish(_) | OpsError::Store(_) => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                },
                e.code(),
            ),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ConsoleError::LoginRequired = self {
            return (status, [(header::LOCATION, "/console/login")]).into_response();
        }
        let detail = self.to_string();
        if status.is_server_error() {
            tracing::warn!(%status, code, %detail, "Console request failed.");
        } else {
            tracing::info!(%status, code, %detail, "Console request refused.");
        }
        // Not framed: a refused request has no shop it may be shown inside.
        let mut res = pages::html(None, pages::error::page(status, code, &detail));
        *res.status_mut() = status;
        res
    }
}
