//! The record of profile sends: one row per send (on demand or the daily
//! automatic one), with its choices, times, counts and outcome.

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// Counts of one send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProfileSendCounts {
    /// Customers read from Shopify.
    pub read: u64,
    /// Customers that passed the send's filters.
    pub matched: u64,
    /// Events published to the work queues.
    pub published: u64,
}

/// One profile send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSendRow {
    pub id: String,
    pub shop: ShopDomain,
    /// `on_demand` or `auto`.
    pub kind: String,
    /// The choices it ran with, as JSON text.
    pub choices: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: ProfileSendCounts,
    /// `running`, `completed`, `failed` or `interrupted`.
    pub outcome: String,
    /// Why it failed.
    pub detail: Option<String>,
}

pub(crate) const COLUMNS: &str = "id, shop, kind, choices, started_at, finished_at, read_count, matched, \
                       published, outcome, detail";

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

pub(crate) fn from_row(r: &AnyRow) -> Result<ProfileSendRow> {
    let shop: String = r.try_get(1)?;
    Ok(ProfileSendRow {
        id: r.try_get(0)?,
        shop: ShopDomain::parse(&shop).map_err(|_| crate::Error::Corrupt {
            what: "profile_send.shop",
            source: None,
        })?,
        kind: r.try_get(2)?,
        choices: r.try_get(3)?,
        started_at: time_from_db(r.try_get(4)?, "profile_send.started_at")?,
        finished_at: r
            .try_get::<Option<i64>, _>(5)?
            .map(|v| time_from_db(v, "profile_send.finished_at"))
            .transpose()?,
        counts: ProfileSendCounts {
            read: u(r.try_get(6)?),
            matched: u(r.try_get(7)?),
            published: u(r.try_get(8)?),
        },
        outcome: r.try_get(9)?,
        detail: r.try_get(10)?,
    })
}

impl Store {
    /// Records a send, or updates it (same id) as it progresses and ends.
    pub async fn save_profile_send(&self, s: &ProfileSendRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO profile_send (id, shop, kind, choices, started_at, finished_at, \
             read_count, matched, published, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
             finished_at = excluded.finished_at, read_count = excluded.read_count, \
             matched = excluded.matched, published = excluded.published, \
             outcome = excluded.outcome, detail = excluded.detail",
        )
        .bind(s.id.as_str())
        .bind(s.shop.as_str())
        .bind(s.kind.as_str())
        .bind(s.choices.as_str())
        .bind(time_to_db(s.started_at))
        .bind(s.finished_at.map(time_to_db))
        .bind(n(s.counts.read))
        .bind(n(s.counts.matched))
        .bind(n(s.counts.published))
        .bind(s.outcome.as_str())
        .bind(s.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest send of `shop`: of `kind` if given, and only a completed
    /// one if `completed`.
    pub async fn last_profile_send(
        &self,
        shop: &ShopDomain,
        kind: Option<&str>,
        completed: bool,
    ) -> Result<Option<ProfileSendRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM profile_send WHERE shop = $1 \
             AND ($2 = '' OR kind = $3) AND ($4 = 0 OR outcome = 'completed') \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(shop.as_str())
            .bind(kind.unwrap_or_default())
            .bind(kind.unwrap_or_default())
            .bind(i64::from(completed))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The unfinished (running or interrupted) send of `shop` of `kind`
    /// with exactly these `choices`: the one a repeated command resumes.
    pub async fn unfinished_profile_send(
        &self,
        shop: &ShopDomain,
        kind: &str,
        choices: &str,
    ) -> Result<Option<ProfileSendRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM profile_send WHERE shop = $1 AND kind = $2 AND choices = $3 \
             AND outcome IN ('running', 'interrupted') ORDER BY started_at DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(shop.as_str())
            .bind(kind)
            .bind(choices)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}
