//! `customers/data_request` exports: what the store held about a person when
//! the merchant asked, kept until they expire so an operator can fetch it
//! through the admin API or the CLI, from any pod.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use so_domain::{ShopDomain, ShopifyId};
use sqlx::AnyConnection;
use sqlx::Row;

use crate::codec::{from_json, id_from_db, id_to_db, time_from_db, time_to_db, to_json};
use crate::connect::Store;
use crate::error::Result;

/// An export as listed: who and when, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Stable per (shop, request): a redelivered webhook maps to the same id.
    pub id: String,
    pub shop: String,
    /// Shopify's data request id, or the webhook id when the payload has none.
    pub request: String,
    /// The Shopify customer id, when the request named one.
    pub customer_id: Option<ShopifyId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An export in full. `content` is customer data: never log it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataExport {
    #[serde(flatten)]
    pub summary: ExportSummary,
    pub content: serde_json::Value,
}

/// The id of the export of `request` in `shop`: the first 32 hex digits of
/// SHA-256 over both, so it needs no read to be idempotent and reveals
/// nothing about the person.
pub fn export_id(shop: &ShopDomain, request: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{request}", shop.as_str()).as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

const SUMMARY_COLUMNS: &str = "id, shop, request, customer_id, created_at, expires_at";

impl Store {
    /// Keeps an export until `expires_at`. A second call for the same
    /// (shop, request), as a redelivered webhook makes, keeps the first one
    /// and its expiry. Returns the export's id.
    pub async fn save_export(
        &self,
        shop: &ShopDomain,
        request: &str,
        customer_id: Option<ShopifyId>,
        content: &serde_json::Value,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String> {
        let id = export_id(shop, request);
        sqlx::query(
            "INSERT INTO data_export (id, shop, request, customer_id, created_at, expires_at, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(shop.as_str())
        .bind(request)
        .bind(customer_id.map(id_to_db).transpose()?)
        .bind(time_to_db(created_at))
        .bind(time_to_db(expires_at))
        .bind(to_json(content, "data export")?)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Exports not expired at `now`, newest first, of one shop or all, at
    /// most `limit`.
    pub async fn exports(
        &self,
        shop: Option<&ShopDomain>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ExportSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM data_export \
             WHERE expires_at > $1 AND ($2 = '' OR shop = $2) \
             ORDER BY created_at DESC, id LIMIT $3"
        ))
        .bind(time_to_db(now))
        .bind(shop.map_or("", ShopDomain::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    /// One export with its content, unless it is unknown or expired at `now`.
    pub async fn export(&self, id: &str, now: DateTime<Utc>) -> Result<Option<DataExport>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, content FROM data_export WHERE id = $1 AND expires_at > $2"
        ))
        .bind(id)
        .bind(time_to_db(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let content: String = r.try_get("content")?;
            Ok(DataExport {
                summary: summary(&r)?,
                content: from_json(&content, "data_export.content")?,
            })
        })
        .transpose()
    }

    /// Deletes exports expired at `now`; returns how many went. Reads
    /// ignore expired rows anyway, so pruning late only delays the delete.
    pub async fn prune_exports(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM data_export WHERE expires_at <= $1")
            .bind(time_to_db(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Part of a redaction: the person's exports go with the rest of their data.
pub(crate) async fn delete_of_customer(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    customer_id: ShopifyId,
) -> Result<()> {
    sqlx::query("DELETE FROM data_export WHERE shop = $1 AND customer_id = $2")
        .bind(shop.as_str())
        .bind(id_to_db(customer_id)?)
        .execute(conn)
        .await?;
    Ok(())
}

fn summary(r: &sqlx::any::AnyRow) -> Result<ExportSummary> {
    let customer: Option<i64> = r.try_get("customer_id")?;
    Ok(ExportSummary {
        id: r.try_get("id")?,
        shop: r.try_get("shop")?,
        request: r.try_get("request")?,
        customer_id: customer
            .map(|c| id_from_db(c, "data_export.customer_id"))
            .transpose()?,
        created_at: time_from_db(r.try_get("created_at")?, "data_export.created_at")?,
        expires_at: time_from_db(r.try_get("expires_at")?, "data_export.expires_at")?,
    })
}
