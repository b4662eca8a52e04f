//! The index of the dead-letter and parked queues (`letter_index`, migration 16): a cache of
//! what the queues hold, so operators list and filter without walking a queue. Written by the
//! indexer (idempotently: a copy already indexed, or already removed, is left as it is) and by a
//! reindex from a scan; rows of messages a replay or purge moved are marked removed.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// One indexed message copy. Contains no customer data in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedLetter {
    /// `dead_letter` or `parked`.
    pub queue: String,
    /// Hash of the copy's headers and body (see so_ops::index).
    pub copy_key: String,
    pub webhook_id: String,
    pub topic: Option<String>,
    pub shop: Option<String>,
    pub entity: Option<String>,
    pub reason: Option<String>,
    pub stage: Option<String>,
    pub detail: Option<String>,
    pub attempts: Option<u32>,
    pub at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub routing_key: String,
    pub body_bytes: u64,
    /// Every header, as JSON text (empty in listings).
    pub headers: String,
    /// The body with personal data masked, as JSON text (empty in listings).
    pub payload: String,
}

/// Which rows a listing wants; list criteria hold when any value matches.
#[derive(Debug, Clone, Default)]
pub struct LetterQuery {
    pub queue: String,
    pub ids: Vec<String>,
    pub topics: Vec<String>,
    pub shops: Vec<String>,
    pub reasons: Vec<String>,
    pub stages: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub offset: u64,
    pub limit: u32,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct LetterPage {
    /// Rows of the queue in the index (what a listing considered).
    pub indexed: u64,
    /// Rows matching the criteria.
    pub matched: u64,
    pub items: Vec<IndexedLetter>,
}

/// Removed rows are kept this long against late copies, then dropped.
const TOMBSTONE_DAYS: i64 = 7;

const SUMMARY: &str = "queue, copy_key, webhook_id, topic, shop, entity, reason, stage, detail, \
     attempts, at, received_at, triggered_at, routing_key, body_bytes";

fn time(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(time_to_db)
}

fn time_of(r: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    let raw: Option<i64> = r.try_get(col)?;
    raw.map(|t| time_from_db(t, "letter_index")).transpose()
}

fn lower(v: Option<&String>) -> Option<String> {
    v.map(|s| s.to_ascii_lowercase())
}

fn row(r: &AnyRow, full: bool) -> Result<IndexedLetter> {
    let attempts: Option<i64> = r.try_get("attempts")?;
    let body_bytes: i64 = r.try_get("body_bytes")?;
    Ok(IndexedLetter {
        queue: r.try_get("queue")?,
        copy_key: r.try_get("copy_key")?,
        webhook_id: r.try_get("webhook_id")?,
        topic: r.try_get("topic")?,
        shop: r.try_get("shop")?,
        entity: r.try_get("entity")?,
        reason: r.try_get("reason")?,
        stage: r.try_get("stage")?,
        detail: r.try_get("detail")?,
        attempts: attempts.and_then(|a| u32::try_from(a).ok()),
        at: time_of(r, "at")?,
        received_at: time_of(r, "received_at")?,
        triggered_at: time_of(r, "triggered_at")?,
        routing_key: r.try_get("routing_key")?,
        body_bytes: u64::try_from(body_bytes).unwrap_or(0),
        headers: if full {
            r.try_get("headers")?
        } else {
            String::new()
        },
        payload: if full {
            r.try_get("payload")?
        } else {
            String::new()
        },
    })
}

/// The WHERE clause of a query and its text arguments after `$1` (the queue); times follow.
fn criteria(q: &LetterQuery) -> (String, Vec<String>, Vec<i64>) {
    let mut sql = String::from("queue = $1 AND removed_at IS NULL");
    let mut texts: Vec<String> = Vec::new();
    let mut any_of = |col: &str, values: &[String], fold: bool| {
        if values.is_empty() {
            return;
        }
        let start = texts.len() + 2;
        let marks: Vec<String> = (start..start + values.len())
            .map(|n| format!("${n}"))
            .collect();
        sql.push_str(&format!(" AND {col} IN ({})", marks.join(", ")));
        texts.extend(values.iter().map(|v| {
            if fold {
                v.to_ascii_lowercase()
            } else {
                v.clone()
            }
        }));
    };
    any_of("webhook_id", &q.ids, false);
    any_of("topic", &q.topics, true);
    any_of("shop", &q.shops, true);
    any_of("reason", &q.reasons, true);
    any_of("stage", &q.stages, true);
    let mut times = Vec::new();
    let mut next = texts.len() + 2;
    if let Some(since) = q.since {
        sql.push_str(&format!(" AND at >= ${next}"));
        times.push(time_to_db(since));
        next += 1;
    }
    if let Some(until) = q.until {
        sql.push_str(&format!(" AND at < ${next}"));
        times.push(time_to_db(until));
    }
    (sql, texts, times)
}

impl Store {
    /// Indexes copies the indexer took, in one transaction, in their order; a copy already
    /// indexed (or removed) is left as it is. Returns how many rows were new.
    pub async fn letters_indexed(&self, letters: &[IndexedLetter]) -> Result<u64> {
        let now = time_to_db(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for (i, l) in letters.iter().enumerate() {
            let at = now + i64::try_from(i).unwrap_or(0);
            added += insert(INSERT_NEW, l, at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// One page of a queue's rows matching `q`, in index order, with the counts.
    pub async fn letters(&self, q: &LetterQuery) -> Result<LetterPage> {
        let (cond, texts, times) = criteria(q);
        let select = format!(
            "SELECT {SUMMARY} FROM letter_index WHERE {cond} \
             ORDER BY indexed_at, copy_key LIMIT {} OFFSET {}",
            q.limit, q.offset
        );
        let count = format!("SELECT COUNT(*) AS n FROM letter_index WHERE {cond}");
        let bind = |sql| {
            let mut query = sqlx::query(sql).bind(q.queue.clone());
            for t in &texts {
                query = query.bind(t.clone());
            }
            for t in &times {
                query = query.bind(*t);
            }
            query
        };
        // One snapshot: with the indexer writing, separate reads gave a page of 7 rows under a
        // count of 8.
        let mut tx = self.begin_snapshot().await?;
        let rows = bind(&select).fetch_all(&mut *tx).await?;
        let matched: i64 = bind(&count).fetch_one(&mut *tx).await?.try_get("n")?;
        let matched = u64::try_from(matched).unwrap_or(0);
        // Without criteria the count is the queue's rows: no second count.
        let indexed = if texts.is_empty() && times.is_empty() {
            matched
        } else {
            live_count(&mut *tx, &q.queue).await?
        };
        tx.commit().await?;
        Ok(LetterPage {
            indexed,
            matched,
            items: rows.iter().map(|r| row(r, false)).collect::<Result<_>>()?,
        })
    }

    /// Rows of a queue in the index (not removed).
    pub async fn letters_count(&self, queue: &str) -> Result<u64> {
        live_count(&self.pool, queue).await
    }

    /// The first indexed copy of a webhook in a queue, in full.
    pub async fn letter(&self, queue: &str, webhook_id: &str) -> Result<Option<IndexedLetter>> {
        let sql = format!(
            "SELECT {SUMMARY}, headers, payload FROM letter_index \
             WHERE queue = $1 AND webhook_id = $2 AND removed_at IS NULL \
             ORDER BY indexed_at, copy_key LIMIT 1"
        );
        let r = sqlx::query(&sql)
            .bind(queue)
            .bind(webhook_id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(|r| row(r, true)).transpose()
    }

    /// Marks the rows of copies a replay, purge or release moved as removed (a copy the indexer
    /// takes later cannot bring them back), and drops old removed rows.
    pub async fn letters_removed(&self, queue: &str, copy_keys: &[String]) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        for key in copy_keys {
            sqlx::query(
                "INSERT INTO letter_index (queue, copy_key, webhook_id, routing_key, body_bytes, \
                 headers, payload, indexed_at, seen_at, removed_at) \
                 VALUES ($1, $2, '', '', 0, '', '', $3, $3, $3) \
                 ON CONFLICT (queue, copy_key) DO UPDATE SET removed_at = excluded.removed_at",
            )
            .bind(queue)
            .bind(key)
            .bind(time_to_db(now))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM letter_index WHERE queue = $1 AND removed_at < $2")
            .bind(queue)
            .bind(time_to_db(now - Duration::days(TOMBSTONE_DAYS)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes what a scan of the queue found (`letters`, in queue order; it started at
    /// `started`): every copy seen is live, new ones are added, and rows not seen that were
    /// last confirmed before the scan started are dropped (rows the indexer wrote meanwhile
    /// stay). Returns (rows added, rows dropped).
    pub async fn letters_reindexed(
        &self,
        queue: &str,
        letters: &[IndexedLetter],
        started: DateTime<Utc>,
    ) -> Result<(u64, u64)> {
        let now = time_to_db(Utc::now());
        let mut added = 0;
        // Chunks: one huge transaction would hold SQLite's writer for the whole queue.
        for (c, chunk) in letters.chunks(500).enumerate() {
            let mut tx = self.pool.begin().await?;
            for (i, l) in chunk.iter().enumerate() {
                let at = now + i64::try_from(c * 500 + i).unwrap_or(0);
                let before: Option<i64> = sqlx::query(
                    "SELECT removed_at FROM letter_index WHERE queue = $1 AND copy_key = $2",
                )
                .bind(queue)
                .bind(&l.copy_key)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<Option<i64>, _>("removed_at"))
                .transpose()?
                .map(|removed| removed.unwrap_or(0));
                if before.is_none_or(|removed| removed != 0) {
                    added += 1;
                }
                insert(INSERT_SEEN, l, at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        let dropped = sqlx::query("DELETE FROM letter_index WHERE queue = $1 AND seen_at < $2")
            .bind(queue)
            .bind(time_to_db(started))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok((added, dropped))
    }
}

macro_rules! insert_sql {
    ($on_conflict:literal) => {
        concat!(
            "INSERT INTO letter_index (queue, copy_key, webhook_id, topic, shop, entity, reason, ",
            "stage, detail, attempts, at, received_at, triggered_at, routing_key, body_bytes, ",
            "headers, payload, indexed_at, seen_at, removed_at) VALUES ($1, $2, $3, $4, $5, $6, ",
            "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, NULL) ",
            "ON CONFLICT (queue, copy_key) ",
            $on_conflict
        )
    };
}

/// The indexer's write: a copy already there (or removed) stays as it is.
const INSERT_NEW: &str = insert_sql!("DO NOTHING");
/// A reindex's write: what the scan saw is live.
const INSERT_SEEN: &str =
    insert_sql!("DO UPDATE SET seen_at = excluded.seen_at, removed_at = NULL");

fn insert<'q>(
    sql: &'q str,
    l: &'q IndexedLetter,
    at: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(&l.queue)
        .bind(&l.copy_key)
        .bind(&l.webhook_id)
        .bind(lower(l.topic.as_ref()))
        .bind(lower(l.shop.as_ref()))
        .bind(l.entity.clone())
        .bind(lower(l.reason.as_ref()))
        .bind(lower(l.stage.as_ref()))
        .bind(l.detail.clone())
        .bind(l.attempts.map(i64::from))
        .bind(time(l.at))
        .bind(time(l.received_at))
        .bind(time(l.triggered_at))
        .bind(&l.routing_key)
        .bind(i64::try_from(l.body_bytes).unwrap_or(i64::MAX))
        .bind(&l.headers)
        .bind(&l.payload)
        .bind(at)
}

/// Rows of a queue in the index (not removed), read through `db` (the pool, or a transaction
/// whose snapshot the count must share).
async fn live_count<'e, E>(db: E, queue: &str) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM letter_index WHERE queue = $1 AND removed_at IS NULL",
    )
    .bind(queue)
    .fetch_one(db)
    .await?
    .try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}
