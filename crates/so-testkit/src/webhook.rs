//! Signed webhook requests as Shopify sends them.

/// A webhook to send; `send` signs it unless a signature is set explicitly.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub topic: String,
    pub shop: String,
    pub body: Vec<u8>,
    pub webhook_id: String,
    pub api_version: String,
    pub event_id: Option<String>,
    pub triggered_at: Option<String>,
    /// `Some` overrides the signature computed from the secret.
    pub signature: Option<String>,
    /// Use the `shopify-*` header names of Shopify's Events deliveries.
    pub unprefixed: bool,
    pub content_type: String,
    /// Extra or overriding headers, sent as given.
    pub extra_headers: Vec<(String, String)>,
    /// Headers to leave out (canonical names, e.g. `X-Shopify-Topic`).
    pub omit: Vec<String>,
}

impl Webhook {
    pub fn new(topic: &str, body: impl Into<Vec<u8>>) -> Webhook {
        Webhook {
            topic: topic.to_owned(),
            shop: "test-shop.myshopify.com".to_owned(),
            body: body.into(),
            webhook_id: uuid::Uuid::new_v4().to_string(),
            api_version: "2026-07".to_owned(),
            event_id: Some(uuid::Uuid::new_v4().to_string()),
            triggered_at: Some("2026-11-22T10:00:00.000Z".to_owned()),
            signature: None,
            unprefixed: false,
            content_type: "application/json".to_owned(),
            extra_headers: Vec::new(),
            omit: Vec::new(),
        }
    }

    pub fn shop(mut self, shop: &str) -> Self {
        self.shop = shop.to_owned();
        self
    }

    pub fn id(mut self, id: &str) -> Self {
        self.webhook_id = id.to_owned();
        self
    }

    /// The headers, signed with `secret`.
    pub fn headers(&self, secret: &str) -> Vec<(String, String)> {
        let prefix = if self.unprefixed { "" } else { "X-" };
        let signature = self
            .signature
            .clone()
            .unwrap_or_else(|| so_shopify::sign(secret, &self.body));
        let mut h = vec![
            ("Content-Type".to_owned(), self.content_type.clone()),
            (format!("{prefix}Shopify-Hmac-Sha256"), signature),
            (format!("{prefix}Shopify-Topic"), self.topic.clone()),
            (format!("{prefix}Shopify-Shop-Domain"), self.shop.clone()),
            (
                format!("{prefix}Shopify-API-Version"),
                self.api_version.clone(),
            ),
            (
                format!("{prefix}Shopify-Webhook-Id"),
                self.webhook_id.clone(),
            ),
        ];
        if let Some(e) = &self.event_id {
            h.push((format!("{prefix}Shopify-Event-Id"), e.clone()));
        }
        if let Some(t) = &self.triggered_at {
            h.push((format!("{prefix}Shopify-Triggered-At"), t.clone()));
        }
        h.retain(|(k, _)| {
            !self
                .omit
                .iter()
                .any(|o| o.eq_ignore_ascii_case(k) || o.eq_ignore_ascii_case(&format!("X-{k}")))
        });
        h.extend(self.extra_headers.iter().cloned());
        h
    }
}
