//! Sorting answers into what to do next, and the retry waits. The loop that
//! uses them is in `client.rs`.

use std::time::Duration;

use serde_json::Value;

use crate::budget::QueryCost;
use crate::error::GraphQlError;

/// The parts of a GraphQL answer the client acts on.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    pub(crate) data: Option<Value>,
    pub(crate) errors: Vec<GraphQlError>,
    /// `errors` when it is a plain string or object (REST-style 401/404
    /// bodies: `{"errors": "[API] Invalid API key …"}`).
    pub(crate) error_text: Option<String>,
    pub(crate) cost: Option<QueryCost>,
    /// `extensions.search`: warnings about ignored search terms.
    pub(crate) search: Option<Value>,
}

impl Envelope {
    /// Reads a body; anything unreadable leaves the fields empty.
    pub(crate) fn parse(body: &[u8]) -> Envelope {
        let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
            return Envelope::default();
        };
        let extensions = map.get("extensions");
        let cost = extensions
            .and_then(|e| e.get("cost"))
            .and_then(|c| serde_json::from_value(c.clone()).ok());
        let search = extensions.and_then(|e| e.get("search")).cloned();
        let (errors, error_text) = match map.remove("errors") {
            Some(Value::Array(items)) => (items.iter().map(graphql_error).collect(), None),
            Some(Value::String(s)) => (Vec::new(), Some(s)),
            Some(other @ Value::Object(_)) => (Vec::new(), Some(other.to_string())),
            _ => (Vec::new(), None),
        };
        Envelope {
            data: map.remove("data").filter(|d| !d.is_null()),
            errors,
            error_text,
            cost,
            search,
        }
    }

    pub(crate) fn throttled(&self) -> bool {
        self.errors
            .iter()
            .any(|e| e.code.as_deref() == Some("THROTTLED"))
    }
}

fn graphql_error(v: &Value) -> GraphQlError {
    GraphQlError {
        message: v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)")
            .to_owned(),
        code: v
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// What an HTTP status means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 2xx: read the GraphQL body.
    Success,
    /// 429: throttled (the body may say THROTTLED too).
    Throttled,
    /// 5xx or 408: try again after a backoff.
    Transient,
    /// Any other status: retrying will not help.
    Permanent,
}

pub(crate) fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        429 => StatusClass::Throttled,
        408 | 500..=599 => StatusClass::Transient,
        _ => StatusClass::Permanent,
    }
}

/// Wait before retry `retry` (1-based): `initial × 2^(retry-1)`, capped at
/// `max`; with jitter, uniformly between half and all of it.
pub(crate) fn backoff(retry: u32, initial: Duration, max: Duration, jitter: bool) -> Duration {
    let factor = 2_u32.saturating_pow(retry.saturating_sub(1).min(20));
    let wait = initial.saturating_mul(factor).min(max);
    if !jitter {
        return wait;
    }
    let half = wait / 2;
    half + wait.saturating_sub(half).mul_f64(rand::random::<f64>())
}

/// `Retry-After` in seconds (Shopify sends e.g. `1.0` or `2`).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(200), StatusClass::Success);
        assert_eq!(classify_status(429), StatusClass::Throttled);
        for s in [500, 502, 503, 504, 408] {
            assert_eq!(classify_status(s), StatusClass::Transient, "{s}");
        }
        for s in [400, 401, 402, 403, 404, 406, 423, 301] {
            assert_eq!(classify_status(s), StatusClass::Permanent, "{s}");
        }
    }

    #[test]
    fn envelope_reads_throttled_answers_with_cost() {
        let body = br#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
            "extensions":{"cost":{"requestedQueryCost":202,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":13,"restoreRate":100.0}}}}"#;
        let e = Envelope::parse(body);
        assert!(e.throttled());
        assert!(e.data.is_none());
        let cost = e.cost.unwrap();
        assert_eq!(cost.requested_query_cost, Some(202.0));
        assert_eq!(cost.actual_query_cost, None);
        assert_eq!(cost.throttle_status.currently_available, 13.0);
    }

    #[test]
    fn envelope_reads_other_errors_and_rest_style_bodies() {
        let e = Envelope::parse(
            br#"{"errors":[{"message":"Query cost is 1250","extensions":{"code":"MAX_COST_EXCEEDED"}}]}"#,
        );
        assert!(!e.throttled());
        assert_eq!(e.errors[0].code.as_deref(), Some("MAX_COST_EXCEEDED"));
        let e = Envelope::parse(br#"{"errors":"[API] Invalid API key or access token"}"#);
        assert_eq!(
            e.error_text.as_deref(),
            Some("[API] Invalid API key or access token")
        );
        let e = Envelope::parse(b"<html>502 Bad Gateway</html>");
        assert!(e.data.is_none() && e.errors.is_empty() && e.cost.is_none());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let (i, m) = (Duration::from_millis(100), Duration::from_millis(1000));
        let waits: Vec<_> = (1..=6).map(|r| backoff(r, i, m, false)).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis)
        );
        for r in 1..=6 {
            let full = backoff(r, i, m, false);
            let j = backoff(r, i, m, true);
            assert!(j >= full / 2 && j <= full, "{j:?} vs {full:?}");
        }
        assert_eq!(backoff(u32::MAX, i, m, false), m);
    }
}
