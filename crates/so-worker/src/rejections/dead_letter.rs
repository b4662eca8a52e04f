//! The dead letter of an event whose record Ometria rejected after
//! accepting its push: the event's own message (body and metadata), so
//! `dlq list --reason ometria_rejected` shows it with Ometria's path and
//! message, and `dlq replay` sends it through the worker again.
//!
//! It carries a webhook id of its own, derived from the original one and the
//! error: the original id is in the dedupe ledger (the push was accepted),
//! so a replay under it would be dropped as a duplicate. Under the derived
//! id the replay is processed afresh: the entity's watermark lets the same
//! version through (an equal version from another webhook is applied) and
//! drops it as stale if a newer one was applied since, whose own push then
//! carries the entity's current state.

use so_domain::{EventMeta, ReasonCode, Stage, WebhookId, partition_for};
use so_queue::{DeathNote, Envelope, PublishError, Publisher};

use super::attribute::digest;
use super::kept::KeptOrigin;

/// Why a dead letter could not be published.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeadLetterError {
    #[error("cannot publish the dead letter")]
    Publish(#[from] PublishError),
    /// The journal's copy of the body did not unpack (a bug, not a state of
    /// the world): nothing to replay from.
    #[error("cannot unpack the journaled message body")]
    Unpack(#[from] lz4_flex::block::DecompressError),
}

/// Publishes the dead letter of `origin` (confirmed) and returns its
/// webhook id.
pub(crate) async fn publish_rejection(
    publisher: &Publisher,
    origin: &KeptOrigin,
    fingerprint: &str,
    detail: &str,
) -> Result<String, DeadLetterError> {
    let body = origin.body()?;
    let webhook_id = derived_id(&origin.meta.webhook_id, fingerprint);
    let meta = EventMeta {
        webhook_id: webhook_id.clone(),
        ..origin.meta.clone()
    };
    let names = publisher.broker().names();
    let partition = partition_for(&meta.shop, &meta.entity, names.partitions());
    let note = DeathNote {
        stage: Stage::Push.as_str(),
        reason: ReasonCode::OmetriaRejected.as_str(),
        detail,
        attempts: 1,
    };
    publisher
        .dead_letter(
            &names.work_routing_key(partition),
            &Envelope::event(&meta),
            &body,
            &note,
        )
        .await?;
    Ok(webhook_id.as_str().to_owned())
}

/// `<original>.rejected.<12 hex>`, or a digest of both when that would be
/// longer than a webhook id may be. Deterministic: the same error of the
/// same event always gives the same id, so a dead letter published twice
/// is replayed once (the ledger drops the second).
fn derived_id(original: &WebhookId, fingerprint: &str) -> WebhookId {
    let tag: String = fingerprint.chars().take(12).collect();
    let long = format!("{}.rejected.{tag}", original.as_str());
    let id = if long.len() <= 255 {
        long
    } else {
        format!("rejected.{}", digest(&long))
    };
    WebhookId::parse(&id).unwrap_or_else(|_| original.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_id_names_the_original_and_fits() {
        let id = WebhookId::parse("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").unwrap();
        let derived = derived_id(&id, "0123456789abcdef");
        assert_eq!(
            derived.as_str(),
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043.rejected.0123456789ab"
        );
        assert_eq!(
            derived_id(&id, "0123456789abcdef"),
            derived,
            "deterministic"
        );
        let long = WebhookId::parse(&"x".repeat(255)).unwrap();
        assert!(derived_id(&long, "ff").as_str().len() <= 255);
        assert_ne!(derived_id(&long, "ff"), long);
    }
}
