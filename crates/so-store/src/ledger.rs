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

/// Rows per multi-row insert: 5 parameters each, far below both backends' limits.
const INSERT_CHUNK: usize = 100;

/// Inserts if absent (a replayed commit keeps the first `seen_at`), one
/// statement per chunk (a batch of a thousand
/// deliveries would otherwise cost a thousand round trips inside the commit).
pub(crate) async fn insert_all(conn: &mut AnyConnection, entries: &[LedgerEntry]) -> Result<()> {
    for chunk in entries.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO ledger (shop, webhook_id, topic, event_id, seen_at) VALUES {} \
             ON CONFLICT (shop, webhook_id) DO NOTHING",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.shop.as_str())
                .bind(e.webhook_id.as_str())
                .bind(e.topic.as_str())
                .bind(e.event_id.as_deref())
                .bind(time_to_db(e.seen_at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A query over the ledger, with the `Any` driver's arguments.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The condition "a row of one shop whose webhook id does not start with a prefix" (the events a
/// backfill or profile send synthesized; an empty prefix leaves nothing out). Its four
/// parameters from `$first` are bound by [`bind_shop_rows`]. `substr`, not `LIKE`: the prefix
/// needs no escaping, and both backends have it; the index on `(shop, seen_at, webhook_id)`
/// answers it alone.
pub(crate) fn shop_rows_sql(first: usize) -> String {
    format!(
        "shop = ${first} AND (${} = '' OR substr(webhook_id, 1, ${}) <> ${})",
        first + 1,
        first + 2,
        first + 3
    )
}

pub(crate) fn bind_shop_rows<'q>(
    query: AnyQuery<'q>,
    shop: &ShopDomain,
    skip_prefix: &str,
) -> AnyQuery<'q> {
    query
        .bind(shop.as_str().to_owned())
        .bind(skip_prefix.to_owned())
        .bind(i32::try_from(skip_prefix.chars().count()).unwrap_or(i32::MAX))
        .bind(skip_prefix.to_owned())
}

/// The newest ledger time of one shop, ids starting with a prefix left out; its parameters from
/// `$first` as [`shop_rows_sql`] says.
pub(crate) fn last_webhook_sql(first: usize) -> String {
    format!(
        "SELECT MAX(seen_at) FROM ledger WHERE {}",
        shop_rows_sql(first)
    )
}
