//! How far the worker has settled its input (migration 0018): per work partition, a time
//! before which every received message is settled, and the messages held in retry tiers,
//! which are not settled whatever their partition's time says. An abandonment check reads
//! the least of them: it decides only once the webhooks received before it fell due are in.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// A message sent to a retry tier: not settled until it is settled for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressHold {
    pub shop: String,
    pub webhook_id: String,
    /// When the ingress received it.
    pub received_at: DateTime<Utc>,
}

/// Progress not yet recorded (a batch's, written with the next batch's commit; or an idle
/// tick's): per partition, everything received before the time is settled; the holds taken and
/// released meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub marks: Vec<(u16, DateTime<Utc>)>,
    pub holds: Vec<ProgressHold>,
    /// (shop, webhook id) of held messages now settled for good.
    pub released: Vec<(String, String)>,
}

impl Progress {
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty() && self.holds.is_empty() && self.released.is_empty()
    }

    /// Adds `later` to what is kept. Holds are written before releases, so a message held
    /// here and released later ends released; one released here and held again later (a
    /// redelivery) must end held, so its earlier release goes.
    pub fn append(&mut self, later: Progress) {
        self.released.retain(|(shop, id)| {
            !later
                .holds
                .iter()
                .any(|h| h.shop == *shop && h.webhook_id == *id)
        });
        // One mark per partition, the latest: times only move forward anyway, and what is kept
        // through a store outage stays small.
        for (part, before) in later.marks {
            match self.marks.iter_mut().find(|(p, _)| *p == part) {
                Some((_, kept)) => *kept = (*kept).max(before),
                None => self.marks.push((part, before)),
            }
        }
        self.holds.extend(later.holds);
        self.released.extend(later.released);
    }
}

impl Store {
    /// Records `progress` in one transaction of its own (the worker's idle ticks; a batch's
    /// progress rides in its [`crate::Commit`]).
    pub async fn record_progress(&self, progress: &Progress, now: DateTime<Utc>) -> Result<()> {
        if progress.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        put_progress(&mut tx, progress, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The time before which every message of partitions `0..partitions` is settled: the
    /// least partition time, lowered to the oldest hold taken since `holds_since` (older holds
    /// are taken for lost: a message the broker dropped must not stall the checks forever).
    /// `None` while a partition has recorded nothing.
    pub async fn settled_before(
        &self,
        partitions: u16,
        holds_since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let (count, least): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(settled_before) FROM partition_progress WHERE part < $1",
        )
        .bind(i64::from(partitions))
        .fetch_one(&self.pool)
        .await?;
        let Some(least) = least.filter(|_| count >= i64::from(partitions)) else {
            return Ok(None);
        };
        let held: Option<i64> =
            sqlx::query_scalar("SELECT MIN(received_at) FROM progress_hold WHERE held_at >= $1")
                .bind(time_to_db(holds_since))
                .fetch_one(&self.pool)
                .await?;
        let least = held.map_or(least, |h| h.min(least));
        time_from_db(least, "partition_progress.settled_before").map(Some)
    }

    /// Each partition's recorded time, by partition (for operators and tests: which
    /// partition holds the abandonment checks back).
    pub async fn partition_times(&self) -> Result<Vec<(u16, DateTime<Utc>)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT part, settled_before FROM partition_progress ORDER BY part")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(part, t)| {
                let part = u16::try_from(part).unwrap_or(u16::MAX);
                Ok((part, time_from_db(t, "partition_progress.settled_before")?))
            })
            .collect()
    }

    /// Forgets holds taken before `before` (see [`Store::settled_before`]).
    pub async fn prune_progress_holds(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM progress_hold WHERE held_at < $1")
            .bind(time_to_db(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Writes `progress` within the caller's transaction, so a partition's time never passes a hold
/// that was not stored. Times only move forward; a hold taken again keeps its first time. Rows in
/// key order, as [`crate::Commit`]'s are, so concurrent transactions lock them in one order.
pub(crate) async fn put_progress(
    conn: &mut AnyConnection,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut holds: Vec<&ProgressHold> = progress.holds.iter().collect();
    holds.sort_by(|a, b| (&a.shop, &a.webhook_id).cmp(&(&b.shop, &b.webhook_id)));
    for h in holds {
        sqlx::query(
            "INSERT INTO progress_hold (shop, webhook_id, received_at, held_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (shop, webhook_id) DO NOTHING",
        )
        .bind(h.shop.as_str())
        .bind(h.webhook_id.as_str())
        .bind(time_to_db(h.received_at))
        .bind(time_to_db(now))
        .execute(&mut *conn)
        .await?;
    }
    // After the holds: a message held and settled since (both carried here) ends released.
    let mut released: Vec<&(String, String)> = progress.released.iter().collect();
    released.sort();
    for (shop, id) in released {
        sqlx::query("DELETE FROM progress_hold WHERE shop = $1 AND webhook_id = $2")
            .bind(shop.as_str())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    let mut marks: Vec<(u16, DateTime<Utc>)> = progress.marks.clone();
    marks.sort();
    for (part, before) in marks {
        sqlx::query(
            "INSERT INTO partition_progress (part, settled_before) VALUES ($1, $2) \
             ON CONFLICT (part) DO UPDATE SET settled_before = excluded.settled_before \
             WHERE excluded.settled_before > partition_progress.settled_before",
        )
        .bind(i64::from(part))
        .bind(time_to_db(before))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
