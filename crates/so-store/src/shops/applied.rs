//! Which shop revision each live worker process has applied (`worker_member.shops_revision`).

use chrono::{DateTime, Utc};

use crate::codec::time_to_db;
use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// `worker_id` has applied the shops at `revision` (never moves back). A worker without a
    /// member row yet records it with its next heartbeat.
    pub async fn worker_applied_shops(&self, worker_id: &str, revision: i64) -> Result<()> {
        sqlx::query(
            "UPDATE worker_member SET shops_revision = $2 \
             WHERE worker_id = $1 AND shops_revision < $2",
        )
        .bind(worker_id)
        .bind(revision)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Workers seen at or after `since` that have not applied `revision` yet, sorted by id.
    pub async fn workers_behind_shops(
        &self,
        since: DateTime<Utc>,
        revision: i64,
    ) -> Result<Vec<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT worker_id FROM worker_member WHERE seen_at >= $1 AND shops_revision < $2 \
             ORDER BY worker_id",
        )
        .bind(time_to_db(since))
        .bind(revision)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }
}
