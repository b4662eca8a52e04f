//! Identifiers carried by webhook headers.

use std::fmt;

/// The id prefix of the events the service synthesizes itself (a backfill's, a profile
/// send's), which Shopify never sent: their ids start with it, a Shopify webhook id does not.
pub const SYNTHESIZED_ID_PREFIX: &str = "bf-";

/// `X-Shopify-Webhook-Id`: the per-delivery key Shopify tells us to
/// deduplicate on. Becomes the AMQP `message_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 255 visible ASCII characters")]
pub struct InvalidWebhookId;

impl WebhookId {
    pub fn parse(raw: &str) -> Result<WebhookId, InvalidWebhookId> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidWebhookId);
        }
        Ok(WebhookId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `X-Shopify-API-Version`: `YYYY-MM` or `unstable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be `YYYY-MM` (e.g. 2026-07) or `unstable`")]
pub struct InvalidApiVersion;

impl ApiVersion {
    pub fn parse(raw: &str) -> Result<ApiVersion, InvalidApiVersion> {
        let raw = raw.trim();
        let b = raw.as_bytes();
        let dated = b.len() == 7
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..].iter().all(u8::is_ascii_digit)
            && matches!(
                &raw[5..],
                "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
            );
        if dated || raw == "unstable" {
            Ok(ApiVersion(raw.to_owned()))
        } else {
            Err(InvalidApiVersion)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A malformed header value kept as received (visible ASCII, at most 40
    /// characters, anything else as `?`) on a parked message, so ops can see
    /// it; it is not a version and never parses back into one.
    pub fn malformed(raw: &[u8]) -> ApiVersion {
        ApiVersion(visible_ascii(raw, 40, '?'))
    }

    /// Whether this code was written against this version: `unstable` or
    /// one of [`KNOWN_API_VERSIONS`].
    ///
    /// A well-formed version outside the list is still processed (Shopify
    /// releases one every quarter and falls a retired one forward, so a shop
    /// upgrading must not stop its events); the ingress counts and logs it
    /// so the payload changes of the new version get looked at.
    pub fn is_known(&self) -> bool {
        self.0 == "unstable" || KNOWN_API_VERSIONS.contains(&self.0.as_str())
    }
}

/// The webhook API versions whose payloads this code decodes (the 2024-10
/// customer fields and the 2026-04 checkout key included).
pub const KNOWN_API_VERSIONS: &[&str] = &[
    "2024-10", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07",
    "2026-10",
];

/// The visible ASCII of `raw`, at most `max` characters, anything else as
/// `other`: a header value as received, safe as a queue header and a log
/// field.
pub fn visible_ascii(raw: &[u8], max: usize, other: char) -> String {
    raw.iter()
        .take(max)
        .map(|b| {
            if b.is_ascii_graphic() {
                char::from(*b)
            } else {
                other
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert!(ApiVersion::parse("2026-07").is_ok());
        assert!(ApiVersion::parse("unstable").is_ok());
        assert!(ApiVersion::parse("2026-13").is_err());
        assert!(ApiVersion::parse("26-07").is_err());
        assert!(ApiVersion::parse("2026-07").unwrap().is_known());
        assert!(ApiVersion::parse("unstable").unwrap().is_known());
        assert!(!ApiVersion::parse("2027-01").unwrap().is_known());
        let kept = ApiVersion::malformed(b"2026-13\r\n\xff");
        assert_eq!(kept.as_str(), "2026-13???");
        assert!(!kept.is_known());
        assert!(ApiVersion::parse(kept.as_str()).is_err());
    }

    #[test]
    fn webhook_ids() {
        assert!(WebhookId::parse("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").is_ok());
        assert!(WebhookId::parse("").is_err());
        assert!(WebhookId::parse("a b").is_err());
        assert!(WebhookId::parse(&"x".repeat(256)).is_err());
    }
}
