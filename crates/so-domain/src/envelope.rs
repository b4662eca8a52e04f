//! What travels with every queued event besides the raw body.

use chrono::{DateTime, Utc};

use crate::{ApiVersion, EntityKey, ShopDomain, TopicName, WebhookId};

/// Metadata of one accepted webhook. The raw body travels unchanged next to
/// it so that the HMAC-verified bytes are what the worker later decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    pub webhook_id: WebhookId,
    pub topic: TopicName,
    pub shop: ShopDomain,
    pub api_version: ApiVersion,
    /// `X-Shopify-Event-Id`: shared by all deliveries of one merchant action.
    pub event_id: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// The entity whose events must stay in order (order id, customer id...).
    pub entity: EntityKey,
}
