//! Every shop's state at a glance, for the console's Shops page: what `shops show` reads one
//! shop at a time, read for all shops in a handful of statements (grouped by shop, or one
//! index probe per shop), so the page costs the same whatever the number of shops.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use sqlx::Row;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// One shop's line on the Shops page; a shop the tables know nothing of has the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopGlance {
    /// The newest webhook of the shop the worker recorded (the dedupe ledger), events the
    /// service synthesized left out.
    pub last_webhook_at: Option<DateTime<Utc>>,
    /// When Ometria last accepted a push request carrying the shop's records.
    pub last_push_at: Option<DateTime<Utc>>,
    /// The last `webhooks check|sync`: when, and whether the subscriptions were in order.
    pub subscriptions: Option<(DateTime<Utc>, bool)>,
    /// The OAuth install's state (`connected`, `refused`, `uninstalled`), if installed so.
    pub install: Option<String>,
    /// Indexed messages of the shop in the dead-letter and parked queues.
    pub dead_lettered: u64,
    pub parked: u64,
    /// Ometria's asynchronous rejections of the shop's records since the cutoff.
    pub rejections: u64,
}

/// How many shops one "newest ledger row" statement asks for (SQLite caps compound selects
/// at 500 terms).
const LEDGER_CHUNK: usize = 100;

impl Store {
    /// The glance of each of `shops`, keyed by domain; rejections are counted from `since`,
    /// and ledger rows whose webhook id starts with `synthesized` (a backfill's or profile
    /// send's events, not Shopify's) do not count as a last webhook.
    pub async fn shops_at_a_glance(
        &self,
        shops: &[ShopDomain],
        since: DateTime<Utc>,
        synthesized: &str,
    ) -> Result<BTreeMap<String, ShopGlance>> {
        let mut out: BTreeMap<String, ShopGlance> = shops
            .iter()
            .map(|s| (s.as_str().to_owned(), ShopGlance::default()))
            .collect();
        let webhooks = self.last_webhooks(shops, synthesized).await?;
        let pushes: Vec<(String, i64)> = sqlx::query_as("SELECT shop, last_push_at FROM shop_push")
            .fetch_all(&self.pool)
            .await?;
        let checks = self.checks().await?;
        let installs = self.installs().await?;
        let letters = self.letters_per_shop().await?;
        let rejections = self.rejections_per_shop(since).await?;
        // Rows of shops no longer served are left out.
        for (shop, at) in webhooks {
            if let Some(g) = out.get_mut(&shop) {
                g.last_webhook_at = Some(at);
            }
        }
        for (shop, raw) in pushes {
            if let Some(g) = out.get_mut(&shop) {
                g.last_push_at = Some(time_from_db(raw, "shop_push.last_push_at")?);
            }
        }
        for (shop, check) in checks {
            if let Some(g) = out.get_mut(&shop) {
                g.subscriptions = Some(check);
            }
        }
        for (shop, state) in installs {
            if let Some(g) = out.get_mut(&shop) {
                g.install = Some(state);
            }
        }
        for (queue, shop, n) in letters {
            match (out.get_mut(&shop), queue.as_str()) {
                (Some(g), "dead_letter") => g.dead_lettered = n,
                (Some(g), "parked") => g.parked = n,
                _ => {}
            }
        }
        for (shop, n) in rejections {
            if let Some(g) = out.get_mut(&shop) {
                g.rejections = n;
            }
        }
        Ok(out)
    }

    /// The newest ledger row per shop: one probe of `ledger_by_shop_seen` per shop (no
    /// database here skips through a grouped index on its own).
    async fn last_webhooks(
        &self,
        shops: &[ShopDomain],
        synthesized: &str,
    ) -> Result<Vec<(String, DateTime<Utc>)>> {
        let mut out = Vec::new();
        for chunk in shops.chunks(LEDGER_CHUNK) {
            let sql = (0..chunk.len())
                .map(|i| {
                    format!(
                        "SELECT CAST({} AS BIGINT) AS i, ({}) AS at",
                        i + 1,
                        crate::ledger::last_webhook_sql(4 * i + 1)
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let mut query = sqlx::query(&sql);
            for shop in chunk {
                query = crate::ledger::bind_shop_rows(query, shop, synthesized);
            }
            for row in query.fetch_all(&self.pool).await? {
                let i: i64 = row.try_get("i")?;
                let at: Option<i64> = row.try_get("at")?;
                let shop = usize::try_from(i - 1).ok().and_then(|i| chunk.get(i));
                if let (Some(shop), Some(at)) = (shop, at) {
                    out.push((
                        shop.as_str().to_owned(),
                        time_from_db(at, "ledger.seen_at")?,
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn checks(&self) -> Result<Vec<(String, (DateTime<Utc>, bool))>> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT shop, checked_at, in_order FROM webhook_check")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(shop, at, ok)| Ok((shop, (time_from_db(at, "webhook_check")?, ok != 0))))
            .collect()
    }

    async fn installs(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT shop, state FROM shop_tokens")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Live index rows per queue and shop: answered from `letter_index_by_shop` alone.
    async fn letters_per_shop(&self) -> Result<Vec<(String, String, u64)>> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT queue, shop, COUNT(*) FROM letter_index WHERE removed_at IS NULL \
             GROUP BY queue, shop",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(q, shop, n)| Some((q, shop?, u64::try_from(n).unwrap_or(0))))
            .collect())
    }

    async fn rejections_per_shop(&self, since: DateTime<Utc>) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT shop, COUNT(*) FROM ometria_rejection WHERE rejected_at >= $1 GROUP BY shop",
        )
        .bind(time_to_db(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
