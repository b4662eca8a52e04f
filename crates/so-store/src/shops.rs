//! Shops held in the store: each shop's settings (JSON, no secrets), version, paused flag and
//! source, an append-only audit of every version, and one revision counter for all shops.
//!
//! Every write raises the revision first: on PostgreSQL that row lock serialises writers of
//! shops across processes, so versions never collide and the audit is gap-free.

mod applied;
mod diff;

use chrono::{DateTime, Utc};
use serde_json::Value;
use so_domain::ShopDomain;
use sqlx::Row;
use sqlx::any::AnyRow;

pub use self::diff::{KeyChange, MASK};
use crate::codec::{from_json, time_from_db, time_to_db, to_json};
use crate::connect::Store;
use crate::error::{Error, Result};

/// Where a shop's settings are managed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopSource {
    /// A `[shops]` entry of the TOML file, written to the store at start.
    Config,
    /// The admin API or the `shops` command.
    Store,
}

impl ShopSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ShopSource::Config => "config",
            ShopSource::Store => "store",
        }
    }

    fn parse(raw: &str) -> Result<ShopSource> {
        match raw {
            "config" => Ok(ShopSource::Config),
            "store" => Ok(ShopSource::Store),
            _ => Err(Error::Corrupt {
                what: "shop.source",
                source: None,
            }),
        }
    }
}

/// A shop's current row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredShop {
    pub domain: String,
    pub version: i64,
    /// The settings as JSON (`ShopSettings` without its secrets).
    pub settings: Value,
    pub paused: bool,
    pub source: ShopSource,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One version of one shop in the audit.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopChange {
    pub version: i64,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub changes: Vec<KeyChange>,
}

/// Who writes, and when.
#[derive(Debug, Clone, Copy)]
pub struct ShopWriter<'a> {
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopWrite {
    /// A new version.
    Written { version: i64 },
    /// Nothing differed from the current version; nothing was written.
    Unchanged,
    /// A settings write through the API to a shop managed as code; nothing was written.
    ManagedAsCode,
    /// Pausing or resuming a shop the store does not hold.
    Unknown,
}

const COLUMNS: &str = "domain, version, settings, paused, source, updated_at, updated_by";

impl Store {
    /// Raised by every change of any shop; unchanged means nothing to reload.
    pub async fn shops_revision(&self) -> Result<i64> {
        let n: i64 = sqlx::query_scalar("SELECT revision FROM shop_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Every stored shop, sorted by domain.
    pub async fn shops(&self) -> Result<Vec<StoredShop>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM shop ORDER BY domain"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(shop_from_row).collect()
    }

    pub async fn stored_shop(&self, shop: &ShopDomain) -> Result<Option<StoredShop>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM shop WHERE domain = $1"))
            .bind(shop.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(shop_from_row).transpose()
    }

    /// Writes `settings` (JSON without secrets) as `source`'s. A write by [`ShopSource::Store`]
    /// to a shop managed as code is refused; one by [`ShopSource::Config`] takes the shop over.
    /// When the settings' `enabled` differs from the last written one (or the shop is new),
    /// `paused` follows it; otherwise pausing stays as it is.
    pub async fn put_shop_settings(
        &self,
        shop: &ShopDomain,
        settings: &Value,
        source: ShopSource,
        by: ShopWriter<'_>,
    ) -> Result<ShopWrite> {
        let mut tx = self.begin_write().await?;
        let revision = raise_revision(&mut tx).await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM shop WHERE domain = $1"))
            .bind(shop.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let current = row.as_ref().map(shop_from_row).transpose()?;
        if source == ShopSource::Store
            && current
                .as_ref()
                .is_some_and(|c| c.source == ShopSource::Config)
        {
            return Ok(ShopWrite::ManagedAsCode);
        }
        let enabled = |v: &Value| v.get("enabled").and_then(Value::as_bool).unwrap_or(true);
        let (version, before, paused_before, source_before) = match &current {
            Some(c) => (
                c.version,
                c.settings.clone(),
                Some(c.paused),
                Some(c.source),
            ),
            None => (0, Value::Object(serde_json::Map::new()), None, None),
        };
        let paused = match (&current, paused_before) {
            (Some(c), Some(p)) if enabled(&c.settings) == enabled(settings) => p,
            _ => !enabled(settings),
        };
        let mut changes = diff::diff(&before, settings);
        push_change(
            &mut changes,
            "paused",
            paused_before.map(Value::Bool),
            Value::Bool(paused),
        );
        let source_str = |s: ShopSource| Value::String(s.as_str().to_owned());
        push_change(
            &mut changes,
            "source",
            source_before.map(source_str),
            source_str(source),
        );
        if changes.is_empty() {
            return Ok(ShopWrite::Unchanged);
        }
        let version = version + 1;
        sqlx::query(
            "INSERT INTO shop (domain, version, settings, paused, source, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (domain) DO UPDATE SET \
             version = excluded.version, settings = excluded.settings, paused = excluded.paused, \
             source = excluded.source, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(shop.as_str())
        .bind(version)
        .bind(to_json(settings, "shop settings")?)
        .bind(i64::from(paused))
        .bind(source.as_str())
        .bind(time_to_db(by.now))
        .bind(by.actor)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, shop, version, by, &changes).await?;
        tx.commit().await?;
        tracing::debug!(shop = %shop, version, revision, "Shop settings written.");
        Ok(ShopWrite::Written { version })
    }

    /// Pauses (`true`) or resumes a stored shop, as a new audited version.
    pub async fn set_shop_paused(
        &self,
        shop: &ShopDomain,
        paused: bool,
        by: ShopWriter<'_>,
    ) -> Result<ShopWrite> {
        let mut tx = self.begin_write().await?;
        raise_revision(&mut tx).await?;
        let row = sqlx::query("SELECT version, paused FROM shop WHERE domain = $1")
            .bind(shop.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(ShopWrite::Unknown);
        };
        let version: i64 = row.try_get(0)?;
        let was: i64 = row.try_get(1)?;
        if (was != 0) == paused {
            return Ok(ShopWrite::Unchanged);
        }
        let version = version + 1;
        sqlx::query(
            "UPDATE shop SET version = $2, paused = $3, updated_at = $4, updated_by = $5 \
             WHERE domain = $1",
        )
        .bind(shop.as_str())
        .bind(version)
        .bind(i64::from(paused))
        .bind(time_to_db(by.now))
        .bind(by.actor)
        .execute(&mut *tx)
        .await?;
        let change = KeyChange {
            key: "paused".to_owned(),
            before: Some(Value::Bool(!paused)),
            after: Some(Value::Bool(paused)),
        };
        audit(&mut tx, shop, version, by, &[change]).await?;
        tx.commit().await?;
        Ok(ShopWrite::Written { version })
    }

    /// The audit of `shop`, newest first, at most `limit` versions.
    pub async fn shop_history(&self, shop: &ShopDomain, limit: u32) -> Result<Vec<ShopChange>> {
        let rows = sqlx::query(
            "SELECT version, actor, changed_at, changes FROM shop_change WHERE domain = $1 \
             ORDER BY version DESC LIMIT $2",
        )
        .bind(shop.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let raw: String = r.try_get(3)?;
                Ok(ShopChange {
                    version: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    at: time_from_db(r.try_get(2)?, "shop_change.changed_at")?,
                    changes: from_json(&raw, "shop_change.changes")?,
                })
            })
            .collect()
    }
}

fn push_change(changes: &mut Vec<KeyChange>, key: &str, before: Option<Value>, after: Value) {
    if before.as_ref() != Some(&after) {
        changes.push(KeyChange {
            key: key.to_owned(),
            before,
            after: Some(after),
        });
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

async fn raise_revision(tx: &mut Tx) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "UPDATE shop_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

async fn audit(
    tx: &mut Tx,
    shop: &ShopDomain,
    version: i64,
    by: ShopWriter<'_>,
    changes: &[KeyChange],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO shop_change (domain, version, actor, changed_at, changes) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(shop.as_str())
    .bind(version)
    .bind(by.actor)
    .bind(time_to_db(by.now))
    .bind(to_json(&changes, "shop changes")?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn shop_from_row(r: &AnyRow) -> Result<StoredShop> {
    let settings: String = r.try_get(2)?;
    let paused: i64 = r.try_get(3)?;
    let source: String = r.try_get(4)?;
    Ok(StoredShop {
        domain: r.try_get(0)?,
        version: r.try_get(1)?,
        settings: from_json(&settings, "shop.settings")?,
        paused: paused != 0,
        source: ShopSource::parse(&source)?,
        updated_at: time_from_db(r.try_get(5)?, "shop.updated_at")?,
        updated_by: r.try_get(6)?,
    })
}

/// What the store already records about a shop's traffic, for its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShopActivity {
    /// The newest webhook the worker took in (the dedupe ledger's last entry), events the
    /// service synthesized left out.
    pub last_webhook_at: Option<DateTime<Utc>>,
    /// The newest record Ometria accepted, from the `delivery` records (written by
    /// reconciliation's bookkeeping; the webhook path does not write them yet, so often none).
    pub last_push_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Reads both from indexes led by `shop`; ledger rows whose webhook id starts with
    /// `synthesized` (a backfill's or profile send's events) are not the last webhook.
    pub async fn shop_activity(
        &self,
        shop: &ShopDomain,
        synthesized: &str,
    ) -> Result<ShopActivity> {
        let sql = crate::ledger::last_webhook_sql(1);
        let row = crate::ledger::bind_shop_rows(sqlx::query(&sql), shop, synthesized)
            .fetch_one(&self.pool)
            .await?;
        let webhook: Option<i64> = row.try_get(0)?;
        let push: Option<i64> =
            sqlx::query_scalar("SELECT MAX(delivered_at) FROM delivery WHERE shop = $1")
                .bind(shop.as_str())
                .fetch_one(&self.pool)
                .await?;
        let time = |raw: Option<i64>, what| raw.map(|r| time_from_db(r, what)).transpose();
        Ok(ShopActivity {
            last_webhook_at: time(webhook, "ledger.seen_at")?,
            last_push_at: time(push, "delivery.delivered_at")?,
        })
    }
}
