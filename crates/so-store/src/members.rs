//! Membership of the worker processes that share the work partitions.

use chrono::{DateTime, Utc};

use crate::codec::time_to_db;
use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// Records that `worker_id` is alive at `now`, consuming `partitions`
    /// (e.g. `0,2`).
    pub async fn worker_heartbeat(
        &self,
        worker_id: &str,
        now: DateTime<Utc>,
        partitions: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO worker_member (worker_id, seen_at, partitions) VALUES ($1, $2, $3) \
             ON CONFLICT (worker_id) DO UPDATE SET seen_at = excluded.seen_at, \
             partitions = excluded.partitions",
        )
        .bind(worker_id)
        .bind(time_to_db(now))
        .bind(partitions)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Workers seen at or after `since`, sorted by id; rows older than that
    /// are deleted on the way (their processes are gone).
    pub async fn live_workers(&self, since: DateTime<Utc>) -> Result<Vec<String>> {
        sqlx::query("DELETE FROM worker_member WHERE seen_at < $1")
            .bind(time_to_db(since))
            .execute(&self.pool)
            .await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT worker_id FROM worker_member ORDER BY worker_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids)
    }

    /// Every member row: (worker id, partitions it consumes), sorted by id.
    pub async fn worker_members(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT worker_id, partitions FROM worker_member ORDER BY worker_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }

    /// A worker that stops leaves at once, so the others need not wait for
    /// its lease to expire.
    pub async fn worker_leave(&self, worker_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM worker_member WHERE worker_id = $1")
            .bind(worker_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
