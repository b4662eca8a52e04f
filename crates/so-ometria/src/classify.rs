//! *Whether* a failure is worth retrying (Vector's `RetryLogic`). *When* to
//! retry is `RetryPolicy`'s job; the two never mix.

use std::time::Duration;

use so_domain::{Disposition, ReasonCode};

use crate::error::Error;

/// Longest `Retry-After` we pass on to the broker retry tiers. A server asking
/// for more is treated as asking for this; the worker's own schedule decides
/// the rest.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(300);

/// The classification of one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worth retrying later, no sooner than `after` when given.
    Transient {
        /// Why, as a metric label.
        reason: ReasonCode,
        /// Server-requested minimum wait, clamped to [`RETRY_AFTER_CEILING`].
        after: Option<Duration>,
    },
    /// Retrying the same request cannot succeed.
    Permanent {
        /// Why, as a metric label.
        reason: ReasonCode,
    },
}

impl Verdict {
    /// The reason code, whichever the kind.
    pub fn reason(self) -> ReasonCode {
        match self {
            Verdict::Transient { reason, .. } | Verdict::Permanent { reason } => reason,
        }
    }

    /// True for [`Verdict::Transient`].
    pub fn is_transient(self) -> bool {
        matches!(self, Verdict::Transient { .. })
    }
}

/// Classifies an HTTP status Ometria answered with. `None` for success.
pub fn classify_status(status: u16, retry_after: Option<Duration>) -> Option<Verdict> {
    let transient = |reason| Verdict::Transient {
        reason,
        after: retry_after.map(|d| d.min(RETRY_AFTER_CEILING)),
    };
    let verdict = match status {
        200..=299 => return None,
        429 => transient(ReasonCode::OmetriaRateLimited),
        408 => transient(ReasonCode::OmetriaTimeout),
        500..=599 => transient(ReasonCode::OmetriaServerError),
        401 | 403 => Verdict::Permanent {
            reason: ReasonCode::OmetriaUnauthorized,
        },
        // 400/422 and every other 4xx: the same request will fail the same way.
        // 1xx/3xx are unexpected (redirects are not followed, so a wrong
        // `api_url` shows up here) and equally need a human.
        _ => Verdict::Permanent {
            reason: ReasonCode::OmetriaBadRequest,
        },
    };
    Some(verdict)
}

/// Classifies any client error.
pub fn classify(error: &Error) -> Verdict {
    // Exhaustive on purpose: a new variant must be classified, not defaulted.
    match error {
        Error::Status {
            status,
            retry_after,
            ..
        } => classify_status(*status, *retry_after)
            // A 2xx never becomes `Error::Status`; if it somehow did, treat it
            // like an unreadable success.
            .unwrap_or(Verdict::Transient {
                reason: ReasonCode::OmetriaServerError,
                after: None,
            }),
        Error::Timeout(_) => Verdict::Transient {
            reason: ReasonCode::OmetriaTimeout,
            after: None,
        },
        Error::Transport(_) => Verdict::Transient {
            reason: ReasonCode::OmetriaTransport,
            after: None,
        },
        Error::Decode(_) => Verdict::Transient {
            reason: ReasonCode::OmetriaServerError,
            after: None,
        },
        Error::MissingApiKey => Verdict::Permanent {
            reason: ReasonCode::OmetriaUnauthorized,
        },
        Error::InvalidRequest { .. } | Error::Serialize(_) => Verdict::Permanent {
            reason: ReasonCode::OmetriaBadRequest,
        },
        Error::Settings(_) | Error::Build(_) => Verdict::Permanent {
            reason: ReasonCode::Internal,
        },
    }
}

impl Error {
    /// See [`classify`].
    pub fn verdict(&self) -> Verdict {
        classify(self)
    }

    /// What the worker should do with the message whose push failed like this.
    /// The detail names the failure only (status and Ometria's short message),
    /// never record contents.
    pub fn disposition(&self) -> Disposition {
        let detail = detail(self);
        match classify(self) {
            Verdict::Transient { reason, after } => Disposition::Retry {
                after,
                reason,
                detail,
            },
            Verdict::Permanent { reason } => Disposition::DeadLetter { reason, detail },
        }
    }
}

fn detail(error: &Error) -> String {
    match error {
        Error::Status {
            message: Some(m), ..
        } => format!("{error}: {m}"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<u64>) -> Error {
        Error::Status {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            message: None,
        }
    }

    #[test]
    fn status_table_matches_the_contract() {
        use ReasonCode::*;
        let cases = [
            (429, Some(OmetriaRateLimited), true),
            (500, Some(OmetriaServerError), true),
            (502, Some(OmetriaServerError), true),
            (503, Some(OmetriaServerError), true),
            (504, Some(OmetriaServerError), true),
            (408, Some(OmetriaTimeout), true),
            (400, Some(OmetriaBadRequest), false),
            (422, Some(OmetriaBadRequest), false),
            (404, Some(OmetriaBadRequest), false),
            (301, Some(OmetriaBadRequest), false),
            (401, Some(OmetriaUnauthorized), false),
            (403, Some(OmetriaUnauthorized), false),
        ];
        for (code, reason, transient) in cases {
            let v = classify(&status(code, None));
            assert_eq!(Some(v.reason()), reason, "status {code}");
            assert_eq!(v.is_transient(), transient, "status {code}");
        }
        assert_eq!(classify_status(200, None), None);
    }

    #[test]
    fn retry_after_is_honoured_but_clamped() {
        let v = classify(&status(429, Some(7)));
        assert_eq!(
            v,
            Verdict::Transient {
                reason: ReasonCode::OmetriaRateLimited,
                after: Some(Duration::from_secs(7))
            }
        );
        let v = classify(&status(503, Some(86_400)));
        assert_eq!(
            v,
            Verdict::Transient {
                reason: ReasonCode::OmetriaServerError,
                after: Some(RETRY_AFTER_CEILING)
            }
        );
    }

    #[test]
    fn local_refusals_are_permanent() {
        let e = Error::InvalidRequest {
            reason: crate::error::InvalidRequest::TooManyRecords(101),
        };
        assert_eq!(
            classify(&e),
            Verdict::Permanent {
                reason: ReasonCode::OmetriaBadRequest
            }
        );
        assert_eq!(
            classify(&Error::MissingApiKey),
            Verdict::Permanent {
                reason: ReasonCode::OmetriaUnauthorized
            }
        );
    }

    #[test]
    fn disposition_carries_reason_and_short_detail() {
        let e = Error::Status {
            status: 400,
            retry_after: None,
            message: Some("bad body".to_owned()),
        };
        assert_eq!(
            e.disposition(),
            Disposition::DeadLetter {
                reason: ReasonCode::OmetriaBadRequest,
                detail: "Ometria answered HTTP 400: bad body".to_owned()
            }
        );
        let d = status(429, Some(2)).disposition();
        assert!(matches!(
            d,
            Disposition::Retry { reason: ReasonCode::OmetriaRateLimited, after: Some(a), .. }
                if a == Duration::from_secs(2)
        ));
    }
}
