//! State of the jobs beside the webhooks: backfill checkpoints, the
//! consent write-back's cursor and decisions, and job leases.

use chrono::{DateTime, Utc};
use so_domain::{ShopDomain, ShopifyId};
use sqlx::Row;

use crate::codec::{id_to_db, time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// Where one entity's backfill stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillCheckpoint {
    /// The run's options (entities, `--since`, `--only`), as text: a
    /// checkpoint only resumes a run with the same options.
    pub options: String,
    /// The bulk operation being read, once started.
    pub operation_id: Option<String>,
    /// Result lines read and safely published (or skipped) so far.
    pub lines_done: u64,
    /// Webhook-shaped events published so far.
    pub published: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One consent write-back decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentDecision {
    pub profile_id: String,
    pub customer_id: Option<ShopifyId>,
    /// `sent` or `skipped`.
    pub decision: String,
    /// Why (for skips), e.g. `resubscribed_in_ometria`.
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    /// The Ometria unsubscribe's time.
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    pub async fn sync_value(&self, shop: &ShopDomain, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM sync_state WHERE shop = $1 AND name = $2")
                .bind(shop.as_str())
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_sync_value(&self, shop: &ShopDomain, name: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO sync_state (shop, name, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (shop, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(shop.as_str())
        .bind(name)
        .bind(value)
        .bind(time_to_db(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn backfill_checkpoint(
        &self,
        shop: &ShopDomain,
        entity: &str,
    ) -> Result<Option<BackfillCheckpoint>> {
        let row = sqlx::query(
            "SELECT options, operation_id, lines_done, published, started_at, finished_at \
             FROM backfill_checkpoint WHERE shop = $1 AND entity = $2",
        )
        .bind(shop.as_str())
        .bind(entity)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(BackfillCheckpoint {
                options: r.try_get(0)?,
                operation_id: r.try_get(1)?,
                lines_done: u(r.try_get(2)?),
                published: u(r.try_get(3)?),
                started_at: time_from_db(r.try_get(4)?, "backfill_checkpoint.started_at")?,
                finished_at: r
                    .try_get::<Option<i64>, _>(5)?
                    .map(|v| time_from_db(v, "backfill_checkpoint.finished_at"))
                    .transpose()?,
            })
        })
        .transpose()
    }

    pub async fn save_backfill_checkpoint(
        &self,
        shop: &ShopDomain,
        entity: &str,
        c: &BackfillCheckpoint,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO backfill_checkpoint \
             (shop, entity, options, operation_id, lines_done, published, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (shop, entity) DO UPDATE SET \
             options = excluded.options, operation_id = excluded.operation_id, \
             lines_done = excluded.lines_done, published = excluded.published, \
             started_at = excluded.started_at, finished_at = excluded.finished_at",
        )
        .bind(shop.as_str())
        .bind(entity)
        .bind(c.options.as_str())
        .bind(c.operation_id.as_deref())
        .bind(i(c.lines_done))
        .bind(i(c.published))
        .bind(time_to_db(c.started_at))
        .bind(c.finished_at.map(time_to_db))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_consent_decision(
        &self,
        shop: &ShopDomain,
        d: &ConsentDecision,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO consent_decision \
             (shop, profile_id, customer_id, decision, reason, decided_at, unsubscribed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(shop.as_str())
        .bind(d.profile_id.as_str())
        .bind(d.customer_id.map(id_to_db).transpose()?)
        .bind(d.decision.as_str())
        .bind(d.reason.as_str())
        .bind(time_to_db(d.decided_at))
        .bind(d.unsubscribed_at.map(time_to_db))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest decisions of one shop, newest first.
    pub async fn consent_decisions(
        &self,
        shop: &ShopDomain,
        limit: u32,
    ) -> Result<Vec<ConsentDecision>> {
        let rows = sqlx::query(
            "SELECT profile_id, customer_id, decision, reason, decided_at, unsubscribed_at \
             FROM consent_decision \
             WHERE shop = $1 ORDER BY decided_at DESC LIMIT $2",
        )
        .bind(shop.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentDecision {
                    profile_id: r.try_get(0)?,
                    customer_id: r
                        .try_get::<Option<i64>, _>(1)?
                        .map(|v| crate::codec::id_from_db(v, "consent_decision.customer_id"))
                        .transpose()?,
                    decision: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    decided_at: time_from_db(r.try_get(4)?, "consent_decision.decided_at")?,
                    unsubscribed_at: r
                        .try_get::<Option<i64>, _>(5)?
                        .map(|v| time_from_db(v, "consent_decision.unsubscribed_at"))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Whether this Ometria unsubscribe (profile and time) was decided on.
    pub async fn consent_decided(
        &self,
        shop: &ShopDomain,
        profile_id: &str,
        unsubscribed_at: DateTime<Utc>,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM consent_decision \
             WHERE shop = $1 AND profile_id = $2 AND unsubscribed_at = $3",
        )
        .bind(shop.as_str())
        .bind(profile_id)
        .bind(time_to_db(unsubscribed_at))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Takes or renews the lease `name` for `holder` until `until`; `false`
    /// when another holder's lease has not expired.
    pub async fn try_lease(&self, name: &str, holder: &str, until: DateTime<Utc>) -> Result<bool> {
        let now = time_to_db(Utc::now());
        let done = sqlx::query(
            "INSERT INTO sync_lease (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE sync_lease.holder = excluded.holder OR sync_lease.until < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(time_to_db(until))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Order states of a shop whose timestamp falls in `[from, to)`.
    pub async fn orders_between(
        &self,
        shop: &ShopDomain,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<so_domain::mapping::OrderState>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT state FROM order_state WHERE shop = $1")
            .bind(shop.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for raw in rows {
            let s: so_domain::mapping::OrderState =
                crate::codec::from_json(&raw, "order_state.state")?;
            let t = s.timestamp.with_timezone(&Utc);
            if t >= from && t < to {
                out.push(s);
            }
        }
        Ok(out)
    }
}
