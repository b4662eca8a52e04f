//! The one error type of this adapter. Classification lives in `classify.rs`.

use std::time::Duration;

use so_domain::ometria::RecordType;

use crate::settings::SettingsError;

/// Everything that can go wrong talking to Ometria.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings were rejected before any request was made.
    #[error("invalid Ometria settings")]
    Settings(#[source] SettingsError),
    /// No `ometria.api_key` was configured.
    #[error("ometria.api_key is not set")]
    MissingApiKey,
    /// The HTTP client could not be built (TLS setup, bad URL).
    #[error("could not build the Ometria HTTP client")]
    Build(#[source] reqwest::Error),
    /// A request that must never be sent (caller bug): Ometria would reject it
    /// whole, so it is refused locally.
    #[error("refused to send an invalid push request: {reason}")]
    InvalidRequest {
        /// Which rule was broken, e.g. more than 100 records.
        reason: InvalidRequest,
    },
    /// The records could not be serialized.
    #[error("could not serialize push records")]
    Serialize(#[source] serde_json::Error),
    /// The request did not complete within `request_timeout`.
    #[error("request to Ometria timed out")]
    Timeout(#[source] reqwest::Error),
    /// Connection refused/reset, DNS, TLS: the request may not have arrived.
    #[error("could not reach Ometria")]
    Transport(#[source] reqwest::Error),
    /// Ometria answered with a non-success status.
    #[error("Ometria answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// Parsed `Retry-After`, if the response carried one (not clamped).
        retry_after: Option<Duration>,
        /// Ometria's own short message, if its JSON body had one. Never the
        /// request body, so no PII.
        message: Option<String>,
    },
    /// A success status whose body was not the documented shape. The push may
    /// have been accepted; re-sending is safe because push upserts.
    #[error("unexpected response body from Ometria")]
    Decode(#[source] reqwest::Error),
}

/// Locally detected violations of Ometria's request rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    /// An empty push is pointless and was probably a batching bug.
    #[error("no records")]
    Empty,
    /// Ometria accepts at most 100 records per request.
    #[error("{0} records in one request, the limit is 100")]
    TooManyRecords(usize),
    /// A data-deletion request needs an email address.
    #[error("no email address to erase")]
    NoEmail,
    /// Ometria requires one `@type` per request.
    #[error("record of type {found} in a {expected} request")]
    MixedTypes {
        /// Type of the request.
        expected: &'static str,
        /// Type of the stray record.
        found: &'static str,
    },
}

impl Error {
    pub(crate) fn mixed(expected: RecordType, found: RecordType) -> Self {
        Error::InvalidRequest {
            reason: InvalidRequest::MixedTypes {
                expected: expected.as_str(),
                found: found.as_str(),
            },
        }
    }

    /// Sorts a reqwest failure into timeout vs transport.
    pub(crate) fn from_send(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Error::Timeout(e)
        } else {
            Error::Transport(e)
        }
    }

    /// Body-read failures can also be timeouts (the client timeout covers the
    /// whole exchange).
    pub(crate) fn from_body(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Error::Timeout(e)
        } else if e.is_decode() {
            Error::Decode(e)
        } else {
            Error::Transport(e)
        }
    }

    /// The HTTP status Ometria answered with, if it answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
