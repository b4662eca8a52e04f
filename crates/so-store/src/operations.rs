//! The audit trail of operator actions on queues: who replayed, purged or
//! released what, when, with which filter, and how many messages it moved.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueOperation {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Who asked: `cli:<user>@<host>`, `admin-api:<actor>` or `worker`.
    pub actor: String,
    /// `replay`, `purge` or `release`.
    pub operation: String,
    pub queue: String,
    /// The filter as JSON text, as given (a paced replay adds its `rate`, messages per second).
    pub filter: String,
    /// Messages that matched when it ran.
    pub matched: u64,
    /// Messages it moved or removed.
    pub done: u64,
    /// `started` (still running, or killed), `completed` or `failed`.
    pub status: String,
    pub detail: Option<String>,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records an operation as it starts.
    pub async fn operation_started(&self, op: &QueueOperation) -> Result<()> {
        sqlx::query(
            "INSERT INTO queue_operation \
             (id, started_at, finished_at, actor, operation, queue, filter, matched, done, status, detail) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&op.id)
        .bind(time_to_db(op.started_at))
        .bind(&op.actor)
        .bind(&op.operation)
        .bind(&op.queue)
        .bind(&op.filter)
        .bind(count(op.matched))
        .bind(count(op.done))
        .bind(&op.status)
        .bind(op.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how an operation ended.
    pub async fn operation_finished(
        &self,
        id: &str,
        status: &str,
        matched: u64,
        done: u64,
        detail: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE queue_operation SET finished_at = $1, status = $2, matched = $3, done = $4, \
             detail = $5 WHERE id = $6",
        )
        .bind(time_to_db(Utc::now()))
        .bind(status)
        .bind(count(matched))
        .bind(count(done))
        .bind(detail)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest `limit` operations, newest first.
    pub async fn operations(&self, limit: u32) -> Result<Vec<QueueOperation>> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, actor, operation, queue, filter, matched, done, \
             status, detail FROM queue_operation ORDER BY started_at DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let finished: Option<i64> = r.try_get("finished_at")?;
                Ok(QueueOperation {
                    id: r.try_get("id")?,
                    started_at: time_from_db(r.try_get("started_at")?, "queue_operation")?,
                    finished_at: finished
                        .map(|t| time_from_db(t, "queue_operation"))
                        .transpose()?,
                    actor: r.try_get("actor")?,
                    operation: r.try_get("operation")?,
                    queue: r.try_get("queue")?,
                    filter: r.try_get("filter")?,
                    matched: u64::try_from(r.try_get::<i64, _>("matched")?).unwrap_or(0),
                    done: u64::try_from(r.try_get::<i64, _>("done")?).unwrap_or(0),
                    status: r.try_get("status")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
