//! Feeding Admin API records into the webhook path: each becomes the
//! webhook payload the worker would have received, with a deterministic
//! webhook id (so a re-run or a resumed run is deduplicated) and its
//! `updated_at` as the trigger time (so staleness applies).

use chrono::Utc;
use so_domain::{ApiVersion, EventMeta, ShopDomain, TopicName, WebhookId, route_payload};
use so_queue::Publisher;
use so_shopify_admin::Synthesized;

use crate::SyncError;

/// Publishes one synthesized event (confirmed) to its partition.
pub async fn publish(
    publisher: &Publisher,
    shop: &ShopDomain,
    api_version: &str,
    event: &Synthesized,
) -> Result<(), SyncError> {
    publish_as(publisher, shop, api_version, event, None).await
}

/// [`publish`] as a re-send marked `resend` (a reconciliation run): its own
/// webhook id, so the dedupe ledger does not drop it as the copy it
/// already delivered, while staleness still applies (an equal version is
/// applied again; an older one is not).
pub async fn republish(
    publisher: &Publisher,
    shop: &ShopDomain,
    api_version: &str,
    event: &Synthesized,
    resend: &str,
) -> Result<(), SyncError> {
    publish_as(publisher, shop, api_version, event, Some(resend)).await
}

async fn publish_as(
    publisher: &Publisher,
    shop: &ShopDomain,
    api_version: &str,
    event: &Synthesized,
    resend: Option<&str>,
) -> Result<(), SyncError> {
    let topic = TopicName::parse(event.topic)
        .map_err(|_| SyncError::Invalid(format!("topic {}", event.topic)))?;
    let body = event.body_bytes();
    let entity = route_payload(&topic, &body)
        .map_err(|e| SyncError::Invalid(format!("{}: {e}", event.topic)))?;
    let id = match resend {
        Some(mark) => format!("{}-{mark}", event.webhook_id(shop.as_str())),
        None => event.webhook_id(shop.as_str()),
    };
    let webhook_id =
        WebhookId::parse(&id).map_err(|_| SyncError::Invalid("synthetic webhook id".to_owned()))?;
    let meta = EventMeta {
        webhook_id,
        topic,
        shop: shop.clone(),
        api_version: ApiVersion::parse(api_version).map_err(|_| {
            SyncError::Invalid(format!("shopify_admin.api_version {api_version:?}"))
        })?,
        event_id: None,
        triggered_at: event.updated_at,
        received_at: Utc::now(),
        entity,
    };
    publisher.publish_event(&meta, &body).await?;
    Ok(())
}
