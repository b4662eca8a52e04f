//! Per-contact property snapshots: every Ometria contact's full current `properties`.
//!
//! Ometria does not document whether a pushed `properties` object is merged key by key into
//! the stored one or replaces it. So every contact record that carries `properties` carries all
//! of them: the worker merges the record's keys into this snapshot and sends the result.
//!
//! Two writers may update one contact at once (customer events in its partition, behavioural
//! attributes from the outbox drain, which any worker runs). Each update is one transaction
//! holding the contact's row, so neither loses the other's keys, and each bumps `version`. The pushes can still
//! arrive at Ometria out of order (the older snapshot last); so whoever pushed a snapshot that
//! a newer version already superseded marks the contact in the behaviour outbox when it
//! commits, and the drain sends the newest snapshot again ([`remark_if_superseded`]).

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{Map, Value};
use so_domain::ShopDomain;
use so_domain::mapping::Buyer;
use sqlx::{AnyConnection, Row};

use crate::bulk::{CHUNK, placeholders};

use crate::codec::{from_json, to_json};
use crate::connect::{Backend, Store};
use crate::error::Result;
use crate::merchant::mark_dirty;

/// A contact's properties at one version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PropertySnapshot {
    pub properties: Map<String, Value>,
    /// 0 before the first update; +1 per update that changed something.
    pub version: i64,
}

impl Store {
    /// The contact's snapshot (empty at version 0 if none was stored).
    pub async fn contact_properties(
        &self,
        shop: &ShopDomain,
        contact: &str,
    ) -> Result<PropertySnapshot> {
        let mut conn = self.pool.acquire().await?;
        read_one(&mut conn, shop, contact).await
    }

    /// Merges `update` into the contact's snapshot key by key (its keys win) and returns the
    /// full result. Atomic per contact: the row is locked for the read-merge-write (SQLite's
    /// write transaction, PostgreSQL's `FOR UPDATE`), so a concurrent update waits and then
    /// merges into this one's result; none is lost. An update that changes nothing keeps the
    /// version.
    pub async fn merge_contact_properties(
        &self,
        shop: &ShopDomain,
        contact: &str,
        update: &Map<String, Value>,
    ) -> Result<PropertySnapshot> {
        let mut merged = self
            .merge_contact_properties_many(&[(shop.clone(), contact.to_owned(), update.clone())])
            .await?;
        Ok(merged.pop().unwrap_or_default())
    }

    /// [`Store::merge_contact_properties`] for many contacts in one write transaction (one
    /// commit, so one flush to disk, instead of one per contact); the snapshots come back in
    /// the order of `updates`, and updates of one contact apply in that order. A few
    /// statements per [`CHUNK`] contacts, not three per contact: the outbox drain merges pages
    /// of 500, and a statement per contact kept the pusher waiting for them. Rows are locked in
    /// (shop, contact) order, so two such transactions on PostgreSQL cannot deadlock each other.
    pub async fn merge_contact_properties_many(
        &self,
        updates: &[(ShopDomain, String, Map<String, Value>)],
    ) -> Result<Vec<PropertySnapshot>> {
        let mut keys: Vec<(&str, &str)> = updates
            .iter()
            .map(|(s, c, _)| (s.as_str(), c.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let writing = updates.iter().any(|(_, _, u)| !u.is_empty());
        let mut snapshots = if writing {
            let mut tx = self.begin_write().await?;
            let snapshots = merge_all(&mut tx, self.backend, &keys, updates).await?;
            tx.commit().await?;
            snapshots
        } else {
            let mut conn = self.pool.acquire().await?;
            read_many(&mut conn, "", &keys).await?
        };
        // Each update's answer is its contact's snapshot just after it.
        let mut out = Vec::with_capacity(updates.len());
        for (shop, contact, update) in updates {
            let current = snapshots
                .entry((shop.as_str().to_owned(), contact.clone()))
                .or_default();
            apply(current, update);
            out.push(current.clone());
        }
        Ok(out)
    }
}

type Snapshots = HashMap<(String, String), PropertySnapshot>;

/// Merges `update` into `snapshot` as one update does: a new version unless nothing changed
/// (an empty update is a read; the first update of a contact always counts).
fn apply(snapshot: &mut PropertySnapshot, update: &Map<String, Value>) {
    if update.is_empty() {
        return;
    }
    let mut merged = snapshot.properties.clone();
    merged.extend(update.iter().map(|(k, v)| (k.clone(), v.clone())));
    if merged == snapshot.properties && snapshot.version > 0 {
        return;
    }
    snapshot.properties = merged;
    snapshot.version += 1;
}

/// Inside the caller's write transaction: creates the missing rows of `keys` (sorted), reads
/// and locks them all, applies `updates` in order and writes back the rows that changed.
/// Returns the snapshots as they were before the updates.
async fn merge_all(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &[(&str, &str)],
    updates: &[(ShopDomain, String, Map<String, Value>)],
) -> Result<Snapshots> {
    // A row must exist to be locked; version 0 is "never updated".
    let mut creating: Vec<(&str, &str)> = updates
        .iter()
        .filter(|(_, _, u)| !u.is_empty())
        .map(|(s, c, _)| (s.as_str(), c.as_str()))
        .collect();
    creating.sort_unstable();
    creating.dedup();
    for chunk in creating.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO contact_properties (shop, contact, properties, version) VALUES {} \
             ON CONFLICT (shop, contact) DO NOTHING",
            tuples(chunk.len(), 2, ", '{}', 0")
        );
        bind_keys(sqlx::query(&sql), chunk)
            .execute(&mut *conn)
            .await?;
    }
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let before = read_many(conn, lock, keys).await?;
    let mut after = before.clone();
    for (shop, contact, update) in updates {
        let key = (shop.as_str().to_owned(), contact.clone());
        apply(after.entry(key).or_default(), update);
    }
    let changed: Vec<(&(String, String), &PropertySnapshot)> = after
        .iter()
        .filter(|(k, s)| before.get(*k).is_none_or(|b| b.version != s.version))
        .collect();
    let mut changed = changed;
    changed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for chunk in changed.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO contact_properties (shop, contact, properties, version) VALUES {} \
             ON CONFLICT (shop, contact) DO UPDATE \
             SET properties = excluded.properties, version = excluded.version",
            tuples(chunk.len(), 4, "")
        );
        let mut q = sqlx::query(&sql);
        for ((shop, contact), snapshot) in chunk {
            q = q
                .bind(shop.as_str())
                .bind(contact.as_str())
                .bind(to_json(
                    &snapshot.properties,
                    "contact_properties.properties",
                )?)
                .bind(snapshot.version);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(before)
}

/// The stored snapshots of `keys` (sorted; absent: never stored), `lock` appended to each
/// chunk's query; rows come (and are locked) in key order.
async fn read_many(
    conn: &mut AnyConnection,
    lock: &str,
    keys: &[(&str, &str)],
) -> Result<Snapshots> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "SELECT shop, contact, properties, version FROM contact_properties \
             WHERE (shop, contact) IN ({}) ORDER BY shop, contact{lock}",
            tuples(chunk.len(), 2, "")
        );
        for row in bind_keys(sqlx::query(&sql), chunk)
            .fetch_all(&mut *conn)
            .await?
        {
            let raw: String = row.try_get(2)?;
            out.insert(
                (row.try_get(0)?, row.try_get(1)?),
                PropertySnapshot {
                    properties: from_json(&raw, "contact_properties.properties")?,
                    version: row.try_get(3)?,
                },
            );
        }
    }
    Ok(out)
}

/// `n` tuples of `width` numbered placeholders each, `tail` appended inside each.
fn tuples(n: usize, width: usize, tail: &str) -> String {
    (0..n)
        .map(|i| format!("({}{tail})", placeholders(1 + i * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bind_keys<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    keys: &[(&'q str, &'q str)],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for (shop, contact) in keys {
        q = q.bind(*shop).bind(*contact);
    }
    q
}

/// The contact's snapshot through `conn` (empty at version 0 if none was stored).
async fn read_one(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    contact: &str,
) -> Result<PropertySnapshot> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT properties, version FROM contact_properties WHERE shop = $1 AND contact = $2",
    )
    .bind(shop.as_str())
    .bind(contact)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(PropertySnapshot::default()),
        Some((raw, version)) => Ok(PropertySnapshot {
            properties: from_json(&raw, "contact_properties.properties")?,
            version,
        }),
    }
}

/// The stored version of each of these contacts' snapshots that has one, for
/// [`remark_if_superseded`]: one query per [`CHUNK`] contacts.
pub(crate) async fn stored_versions(
    conn: &mut AnyConnection,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "SELECT shop, contact, version FROM contact_properties WHERE (shop, contact) IN ({})",
            tuples(chunk.len(), 2, "")
        );
        for row in bind_keys(sqlx::query(&sql), chunk)
            .fetch_all(&mut *conn)
            .await?
        {
            out.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
        }
    }
    Ok(out)
}

/// After a push of `buyer`'s snapshot at `pushed` succeeded: if a newer version exists
/// (`stored`, from [`stored_versions`]), Ometria may have received the two out of order, so
/// the contact goes back into the behaviour outbox, whose drain sends the newest snapshot.
pub(crate) async fn remark_if_superseded(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    buyer: &Buyer,
    pushed: i64,
    stored: Option<i64>,
) -> Result<()> {
    if stored.is_some_and(|v| v > pushed) {
        mark_dirty(conn, shop, buyer, Utc::now()).await?;
    }
    Ok(())
}
