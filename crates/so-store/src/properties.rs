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

use chrono::Utc;
use serde_json::{Map, Value};
use so_domain::ShopDomain;
use so_domain::mapping::Buyer;
use sqlx::AnyConnection;

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
    /// the order of `updates`. Rows are locked in (shop, contact) order, so two such
    /// transactions on PostgreSQL cannot deadlock each other.
    pub async fn merge_contact_properties_many(
        &self,
        updates: &[(ShopDomain, String, Map<String, Value>)],
    ) -> Result<Vec<PropertySnapshot>> {
        let mut results = vec![PropertySnapshot::default(); updates.len()];
        if updates.iter().all(|(_, _, u)| u.is_empty()) {
            for ((shop, contact, _), result) in updates.iter().zip(&mut results) {
                *result = self.contact_properties(shop, contact).await?;
            }
            return Ok(results);
        }
        let mut order: Vec<usize> = (0..updates.len()).collect();
        order.sort_by(|&a, &b| {
            let (sa, ca, _) = &updates[a];
            let (sb, cb, _) = &updates[b];
            (sa.as_str(), ca).cmp(&(sb.as_str(), cb))
        });
        let mut tx = self.begin_write().await?;
        for i in order {
            let (shop, contact, update) = &updates[i];
            results[i] = merge_one(&mut tx, self.backend, shop, contact, update).await?;
        }
        tx.commit().await?;
        Ok(results)
    }
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

/// One contact's read-merge-write inside the caller's write transaction.
async fn merge_one(
    conn: &mut AnyConnection,
    backend: Backend,
    shop: &ShopDomain,
    contact: &str,
    update: &Map<String, Value>,
) -> Result<PropertySnapshot> {
    if update.is_empty() {
        return read_one(conn, shop, contact).await;
    }
    // The row must exist to be locked; version 0 is "never updated".
    sqlx::query(
        "INSERT INTO contact_properties (shop, contact, properties, version) \
         VALUES ($1, $2, '{}', 0) ON CONFLICT (shop, contact) DO NOTHING",
    )
    .bind(shop.as_str())
    .bind(contact)
    .execute(&mut *conn)
    .await?;
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let (raw, version): (String, i64) = sqlx::query_as(&format!(
        "SELECT properties, version FROM contact_properties \
         WHERE shop = $1 AND contact = $2{lock}"
    ))
    .bind(shop.as_str())
    .bind(contact)
    .fetch_one(&mut *conn)
    .await?;
    let current: Map<String, Value> = from_json(&raw, "contact_properties.properties")?;
    let mut merged = current.clone();
    merged.extend(update.iter().map(|(k, v)| (k.clone(), v.clone())));
    if merged == current && version > 0 {
        return Ok(PropertySnapshot {
            properties: current,
            version,
        });
    }
    sqlx::query(
        "UPDATE contact_properties SET properties = $3, version = $4 \
         WHERE shop = $1 AND contact = $2",
    )
    .bind(shop.as_str())
    .bind(contact)
    .bind(to_json(&merged, "contact_properties.properties")?)
    .bind(version + 1)
    .execute(&mut *conn)
    .await?;
    Ok(PropertySnapshot {
        properties: merged,
        version: version + 1,
    })
}

/// After a push of `buyer`'s snapshot at `pushed` succeeded: if a newer version exists, Ometria
/// may have received the two out of order, so the contact goes back into the behaviour outbox,
/// whose drain sends the newest snapshot.
pub(crate) async fn remark_if_superseded(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    buyer: &Buyer,
    pushed: i64,
) -> Result<()> {
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM contact_properties WHERE shop = $1 AND contact = $2",
    )
    .bind(shop.as_str())
    .bind(buyer.id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if stored.is_some_and(|v| v > pushed) {
        mark_dirty(conn, shop, buyer, Utc::now()).await?;
    }
    Ok(())
}
