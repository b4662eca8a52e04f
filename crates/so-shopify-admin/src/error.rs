//! The adapter's error type.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::gid::GidError;

/// Everything that can go wrong talking to the Admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Settings or credentials rejected before any request.
    #[error("invalid Shopify Admin settings: {0}")]
    Settings(String),
    /// The HTTP client could not be built.
    #[error("could not build the Shopify HTTP client")]
    Build(#[source] reqwest::Error),
    /// The call's deadline passed while waiting for the cost budget or
    /// retrying THROTTLED answers. Retry later (the bucket refills).
    #[error("still throttled after waiting {waited:?} ({throttled} THROTTLED answer(s))")]
    ThrottledTooLong {
        /// Time spent waiting for budget, in total.
        waited: Duration,
        /// THROTTLED answers received during the call.
        throttled: u32,
    },
    /// 5xx answers or connection failures until retries or the deadline ran
    /// out. A mutation may or may not have been applied.
    #[error("Shopify unavailable after {attempts} attempt(s) in {elapsed:?}")]
    Transient {
        /// HTTP attempts made.
        attempts: u32,
        /// Time the call took.
        elapsed: Duration,
        /// The final attempt's failure.
        #[source]
        last: TransientCause,
    },
    /// The token endpoint refused the shop's client id or secret (a wrong
    /// or rotated secret, an unknown client id, an app not installed on the
    /// store). Fix the configuration; retrying cannot help.
    #[error("Shopify refused the client credentials of {shop} (HTTP {status}{}): check the app's client id and secret", .error.as_ref().map(|e| format!(", {e}")).unwrap_or_default())]
    CredentialsRefused {
        /// `{name}.myshopify.com`.
        shop: String,
        /// The token endpoint's HTTP status.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`.
        error: Option<String>,
    },
    /// `shop_not_permitted`: the client credentials grant only works for an
    /// app of the organization that owns the store.
    #[error(
        "Shopify does not permit the client credentials grant on {shop} (shop_not_permitted): the app belongs to another organization than the store; use an app created in the store's own organization, or an app installed with OAuth"
    )]
    ShopNotPermitted {
        /// `{name}.myshopify.com`.
        shop: String,
    },
    /// The shop's OAuth tokens cannot be used: Shopify refused the refresh
    /// token or the app's client (`invalid_grant`, `invalid_client`), or the
    /// shop was never installed or is uninstalled. It needs installing again.
    #[error("the OAuth install of {shop} cannot be used ({reason}): install the app again")]
    NotConnected {
        /// `{name}.myshopify.com`.
        shop: String,
        /// `refused: invalid_grant`, `uninstalled`, `not installed`, …
        reason: String,
    },
    /// The store holding the shop's OAuth tokens failed.
    #[error("the token store failed for {shop}: {detail}")]
    Vault {
        /// `{name}.myshopify.com`.
        shop: String,
        /// What failed (never a token).
        detail: String,
    },
    /// An HTTP status that retrying cannot fix: 401 (token revoked or
    /// wrong), 402 (shop frozen), 403 (missing scope), 404 (shop gone), …
    #[error("Shopify answered HTTP {status}: {message}")]
    Permanent {
        /// The HTTP status.
        status: u16,
        /// Shopify's `errors` text.
        message: String,
    },
    /// Top-level GraphQL `errors` other than THROTTLED (a bad query,
    /// `MAX_COST_EXCEEDED`, an access-denied field, …).
    #[error("GraphQL errors: {}", join(.0))]
    GraphQl(Vec<GraphQlError>),
    /// A mutation answered `userErrors`: nothing was changed.
    #[error("userErrors: {}", join(.0))]
    UserErrors(Vec<UserError>),
    /// A success whose body was not the expected shape.
    #[error("unexpected {context}: {detail}")]
    Decode {
        /// What was being read, e.g. `customers page`.
        context: String,
        /// What was wrong.
        detail: String,
    },
    /// An id in a response was not a global id of the expected kind.
    #[error("bad global id in a response")]
    Gid(#[from] GidError),
    /// A bulk operation ended without a result.
    #[error("bulk operation {id} ended {status} (error code {error_code:?})")]
    BulkFailed {
        /// The operation's global id.
        id: String,
        /// `FAILED`, `CANCELED` or `EXPIRED`.
        status: String,
        /// Shopify's `errorCode`, e.g. `TIMEOUT`.
        error_code: Option<String>,
    },
    /// A bulk operation was still running after `max_bulk_wait`.
    #[error("bulk operation {id} still {status} after {waited:?}")]
    BulkTimeout {
        /// The operation's global id.
        id: String,
        /// Its last status.
        status: String,
        /// How long the client waited.
        waited: Duration,
    },
}

impl AdminError {
    /// Whether the same call may succeed later without any change: budget
    /// or availability problems, not bad requests.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdminError::ThrottledTooLong { .. }
                | AdminError::Transient { .. }
                | AdminError::BulkTimeout { .. }
        )
    }

    pub(crate) fn decode(context: &str, detail: impl fmt::Display) -> Self {
        AdminError::Decode {
            context: context.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// Why an attempt failed transiently.
#[derive(Debug, thiserror::Error)]
pub enum TransientCause {
    /// 5xx (or 408).
    #[error("HTTP {0}")]
    Status(u16),
    /// The attempt exceeded `request_timeout`.
    #[error("request timed out")]
    Timeout(#[source] reqwest::Error),
    /// Connection refused or reset, DNS, TLS.
    #[error("could not reach Shopify")]
    Transport(#[source] reqwest::Error),
}

/// One top-level GraphQL error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphQlError {
    /// Shopify's message.
    pub message: String,
    /// `extensions.code`, e.g. `MAX_COST_EXCEEDED`, `ACCESS_DENIED`.
    pub code: Option<String>,
}

impl fmt::Display for GraphQlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One `userErrors[]` entry of a mutation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserError {
    /// Path of the offending input, e.g. `["input", "customerId"]`.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// Shopify's message.
    pub message: String,
    /// e.g. `INVALID`, `INCLUSION`, `MISSING_ARGUMENT`.
    #[serde(default)]
    pub code: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{}: ", field.join("."))?;
        }
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
