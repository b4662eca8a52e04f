//! Shopify webhook headers. HTTP/2 lower-cases names and Shopify's newer
//! Events deliveries drop the `X-` prefix, so both spellings are read.

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName};
use so_domain::{ApiVersion, ShopDomain, TopicName, WebhookId};

/// The header names, without `X-` prefix (`X-Shopify-Topic` = `shopify-topic`).
pub mod names {
    pub const HMAC: &str = "shopify-hmac-sha256";
    pub const TOPIC: &str = "shopify-topic";
    pub const SHOP_DOMAIN: &str = "shopify-shop-domain";
    pub const API_VERSION: &str = "shopify-api-version";
    pub const WEBHOOK_ID: &str = "shopify-webhook-id";
    pub const EVENT_ID: &str = "shopify-event-id";
    pub const TRIGGERED_AT: &str = "shopify-triggered-at";
}

/// A header that is missing or malformed; `header` is its canonical name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header {header} {problem}")]
pub struct HeaderError {
    pub header: &'static str,
    pub problem: String,
}

const MISSING: &str = "is missing";

impl HeaderError {
    pub(crate) fn missing(name: &'static str) -> HeaderError {
        HeaderError {
            header: canonical(name),
            problem: MISSING.to_owned(),
        }
    }

    /// The header was absent (or blank), rather than malformed.
    pub fn is_missing(&self) -> bool {
        self.problem == MISSING
    }

    pub(crate) fn invalid(name: &'static str, why: impl std::fmt::Display) -> HeaderError {
        HeaderError {
            header: canonical(name),
            problem: why.to_string(),
        }
    }
}

/// Both spellings of one of the [`names`] (`x-<name>`, `<name>`), as names
/// `HeaderMap` looks up without parsing them (several times per webhook).
fn spellings(name: &'static str) -> Option<[HeaderName; 2]> {
    const fn pair(prefixed: &'static str, bare: &'static str) -> [HeaderName; 2] {
        [
            HeaderName::from_static(prefixed),
            HeaderName::from_static(bare),
        ]
    }
    const HMAC: [HeaderName; 2] = pair("x-shopify-hmac-sha256", "shopify-hmac-sha256");
    const TOPIC: [HeaderName; 2] = pair("x-shopify-topic", "shopify-topic");
    const SHOP_DOMAIN: [HeaderName; 2] = pair("x-shopify-shop-domain", "shopify-shop-domain");
    const API_VERSION: [HeaderName; 2] = pair("x-shopify-api-version", "shopify-api-version");
    const WEBHOOK_ID: [HeaderName; 2] = pair("x-shopify-webhook-id", "shopify-webhook-id");
    const EVENT_ID: [HeaderName; 2] = pair("x-shopify-event-id", "shopify-event-id");
    const TRIGGERED_AT: [HeaderName; 2] = pair("x-shopify-triggered-at", "shopify-triggered-at");
    Some(match name {
        names::HMAC => HMAC,
        names::TOPIC => TOPIC,
        names::SHOP_DOMAIN => SHOP_DOMAIN,
        names::API_VERSION => API_VERSION,
        names::WEBHOOK_ID => WEBHOOK_ID,
        names::EVENT_ID => EVENT_ID,
        names::TRIGGERED_AT => TRIGGERED_AT,
        _ => return None,
    })
}

fn canonical(name: &'static str) -> &'static str {
    match name {
        names::HMAC => "X-Shopify-Hmac-Sha256",
        names::TOPIC => "X-Shopify-Topic",
        names::SHOP_DOMAIN => "X-Shopify-Shop-Domain",
        names::API_VERSION => "X-Shopify-API-Version",
        names::WEBHOOK_ID => "X-Shopify-Webhook-Id",
        names::EVENT_ID => "X-Shopify-Event-Id",
        names::TRIGGERED_AT => "X-Shopify-Triggered-At",
        other => other,
    }
}

/// Borrowed view of the request headers.
#[derive(Debug, Clone, Copy)]
pub struct ShopifyHeaders<'a> {
    map: &'a HeaderMap,
}

/// Headers validated after the HMAC matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    pub topic: TopicName,
    pub api_version: ApiVersion,
    pub webhook_id: WebhookId,
    pub event_id: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
}

impl<'a> ShopifyHeaders<'a> {
    pub fn new(map: &'a HeaderMap) -> ShopifyHeaders<'a> {
        ShopifyHeaders { map }
    }

    /// The value under `x-<name>` or `<name>`. A value that is not visible
    /// ASCII, or a header sent twice, is an error rather than a guess.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&'a str>, HeaderError> {
        let Some([prefixed, bare]) = spellings(name) else {
            return Ok(None);
        };
        let mut values = self
            .map
            .get_all(&prefixed)
            .iter()
            .chain(self.map.get_all(&bare).iter());
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(HeaderError::invalid(name, "is sent more than once"));
        }
        let text = first
            .to_str()
            .map_err(|_| HeaderError::invalid(name, "is not visible ASCII"))?;
        Ok(Some(text))
    }

    /// The first value's bytes, however malformed (for keeping it visible).
    pub(crate) fn first_bytes(&self, name: &'static str) -> &'a [u8] {
        let Some([prefixed, bare]) = spellings(name) else {
            return &[];
        };
        self.map
            .get(&prefixed)
            .or_else(|| self.map.get(&bare))
            .map_or(&[], |v| v.as_bytes())
    }

    pub(crate) fn required(&self, name: &'static str) -> Result<&'a str, HeaderError> {
        match self.get(name)? {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(HeaderError::missing(name)),
        }
    }

    /// A bounded metric label for the topic header, before any validation:
    /// a supported topic, `unsupported`, or `invalid` when absent or malformed.
    pub fn topic_label(&self) -> &'static str {
        match self.get(names::TOPIC) {
            Ok(Some(raw)) => TopicName::parse(raw).map_or("invalid", |t| t.metric_label()),
            _ => "invalid",
        }
    }

    pub fn shop_domain(&self) -> Result<ShopDomain, HeaderError> {
        ShopDomain::parse(self.required(names::SHOP_DOMAIN)?)
            .map_err(|e| HeaderError::invalid(names::SHOP_DOMAIN, e))
    }

    /// The raw signature; verification decides whether it is usable.
    pub fn hmac(&self) -> Result<Option<&'a str>, HeaderError> {
        self.get(names::HMAC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    const FULL: &[(&str, &str)] = &[
        ("x-shopify-topic", "orders/create"),
        ("x-shopify-shop-domain", "a.myshopify.com"),
        ("x-shopify-api-version", "2026-07"),
        ("x-shopify-webhook-id", "b54557e4"),
        ("x-shopify-triggered-at", "2026-11-22T10:00:00.123456Z"),
    ];

    #[test]
    fn reads_prefixed_and_unprefixed_headers() {
        let m = map(FULL);
        assert!(
            ShopifyHeaders::new(&m)
                .admit()
                .unwrap()
                .irregular
                .is_empty()
        );
        let unprefixed: Vec<_> = FULL
            .iter()
            .map(|(k, v)| (k.strip_prefix("x-").unwrap(), *v))
            .collect();
        let m = map(&unprefixed);
        let h = ShopifyHeaders::new(&m);
        assert_eq!(h.shop_domain().unwrap().as_str(), "a.myshopify.com");
        assert!(h.admit().unwrap().headers.triggered_at.is_some());
    }

    #[test]
    fn names_the_missing_header() {
        let m = map(&FULL[..3]);
        let err = ShopifyHeaders::new(&m).admit().unwrap_err();
        assert_eq!(err.header, "X-Shopify-Webhook-Id");
        assert_eq!(err.to_string(), "header X-Shopify-Webhook-Id is missing");
    }
}
