//! Dedupe ledger reads and pruning (rows are written by [`Store::commit`]).

use chrono::{DateTime, Utc};
use so_domain::freshness::LedgerLookup;
use so_domain::{ShopDomain, TopicName, WebhookId};
use sqlx::AnyConnection;

use crate::codec::{time_from_db, time_to_db};
use crate::commit::LedgerEntry;
use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// Was this delivery (`X-Shopify-Webhook-Id`) already processed, and when?
    pub async fn ledger_lookup(
        &self,
        shop: &ShopDomain,
        webhook_id: &WebhookId,
    ) -> Result<LedgerLookup> {
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT seen_at FROM ledger WHERE shop = $1 AND webhook_id = $2")
                .bind(shop.as_str())
                .bind(webhook_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        to_lookup(seen)
    }

    /// Was the same merchant action (`X-Shopify-Event-Id`) already processed for this topic
    /// under another webhook id? Answers with the earliest delivery.
    pub async fn event_lookup(
        &self,
        shop: &ShopDomain,
        topic: &TopicName,
        event_id: &str,
    ) -> Result<LedgerLookup> {
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT seen_at FROM ledger WHERE shop = $1 AND topic = $2 AND event_id = $3 \
             ORDER BY seen_at LIMIT 1",
        )
        .bind(shop.as_str())
        .bind(topic.as_str())
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        to_lookup(seen)
    }

    /// Deletes ledger rows first seen before `before` (see `DedupeWindow::expiry_before`);
    /// returns how many went. Lookups ignore expired rows anyway, so pruning late is harmless.
    pub async fn prune_ledger(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ledger WHERE seen_at < $1")
            .bind(time_to_db(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

fn to_lookup(seen: Option<i64>) -> Result<LedgerLookup> {
    match seen {
        None => Ok(LedgerLookup::NotSeen),
        Some(raw) => Ok(LedgerLookup::SeenAt(time_from_db(raw, "ledger.seen_at")?)),
    }
}

/// Inserts if absent: a replayed commit keeps the first `seen_at`.
pub(crate) async fn insert(conn: &mut AnyConnection, entry: &LedgerEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO ledger (shop, webhook_id, topic, event_id, seen_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop, webhook_id) DO NOTHING",
    )
    .bind(entry.shop.as_str())
    .bind(entry.webhook_id.as_str())
    .bind(entry.topic.as_str())
    .bind(entry.event_id.as_deref())
    .bind(time_to_db(entry.seen_at))
    .execute(conn)
    .await?;
    Ok(())
}
