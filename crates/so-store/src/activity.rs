//! The newest rows of a shop's activity, for its activity log (console, admin API): webhooks
//! from the dedupe ledger, profile sends and Ometria's rejections. Reads only: nothing is
//! written for the log, so the hot path pays nothing for it.

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use sqlx::Row;

use crate::ProfileSendRow;
use crate::codec::time_from_db;
use crate::connect::Store;
use crate::error::Result;
use crate::profile_sends::{COLUMNS, from_row};

/// A webhook the worker took in (a dedupe ledger row): its id and topic, never its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentWebhook {
    pub webhook_id: String,
    pub topic: String,
    pub seen_at: DateTime<Utc>,
}

/// An asynchronous rejection by Ometria, with its masked reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentRejection {
    pub rejected_at: DateTime<Utc>,
    pub reason: String,
}

impl Store {
    /// The `limit` webhooks of `shop` seen last, newest first, leaving out ids starting with
    /// `skip_prefix` (the events a backfill or profile send synthesized, which would crowd
    /// out Shopify's). The ledger keeps the dedupe window only, so older ones are gone.
    pub async fn recent_webhooks(
        &self,
        shop: &ShopDomain,
        limit: u32,
        skip_prefix: &str,
    ) -> Result<Vec<RecentWebhook>> {
        let sql = format!(
            "SELECT webhook_id, topic, seen_at FROM ledger WHERE {} \
             ORDER BY seen_at DESC, webhook_id DESC LIMIT $5",
            crate::ledger::shop_rows_sql(1)
        );
        let rows = crate::ledger::bind_shop_rows(sqlx::query(&sql), shop, skip_prefix)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RecentWebhook {
                    webhook_id: r.try_get(0)?,
                    topic: r.try_get(1)?,
                    seen_at: time_from_db(r.try_get(2)?, "ledger.seen_at")?,
                })
            })
            .collect()
    }

    /// The `limit` profile sends of `shop` started last (any kind and outcome), newest first.
    pub async fn recent_profile_sends(
        &self,
        shop: &ShopDomain,
        limit: u32,
    ) -> Result<Vec<ProfileSendRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM profile_send WHERE shop = $1 \
             ORDER BY started_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(shop.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The `limit` newest rejections of `shop`'s records, newest first.
    pub async fn recent_rejections(
        &self,
        shop: &ShopDomain,
        limit: u32,
    ) -> Result<Vec<RecentRejection>> {
        let rows = sqlx::query(
            "SELECT rejected_at, reason FROM ometria_rejection WHERE shop = $1 \
             ORDER BY rejected_at DESC, fingerprint DESC LIMIT $2",
        )
        .bind(shop.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecentRejection {
                    rejected_at: time_from_db(r.try_get(0)?, "ometria_rejection.rejected_at")?,
                    reason: r.try_get(1)?,
                })
            })
            .collect()
    }
}
