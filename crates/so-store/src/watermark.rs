//! Version watermarks per (shop, entity kind, entity id).

use std::collections::HashMap;

use so_domain::WebhookId;
use so_domain::freshness::{Watermark, WatermarkKey};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::{Error, Result};

/// Keys per batched query: three parameters each, well under both backends' limits.
const BATCH: usize = 200;

impl Store {
    pub async fn watermark(&self, key: &WatermarkKey) -> Result<Option<Watermark>> {
        let row = sqlx::query(
            "SELECT version, webhook_id FROM watermark \
             WHERE shop = $1 AND kind = $2 AND entity_id = $3",
        )
        .bind(key.shop.as_str())
        .bind(key.kind.as_str())
        .bind(key.id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| decode(&r, 0)).transpose()
    }

    /// The watermarks of several keys in one round trip per 200 keys; the answer lines up with
    /// `keys` (`None` where nothing was applied yet).
    pub async fn watermarks(&self, keys: &[WatermarkKey]) -> Result<Vec<Option<Watermark>>> {
        let mut found: HashMap<(String, String, String), Watermark> = HashMap::new();
        for chunk in keys.chunks(BATCH) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                .collect();
            let sql = format!(
                "SELECT shop, kind, entity_id, version, webhook_id FROM watermark \
                 WHERE (shop, kind, entity_id) IN ({})",
                tuples.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for key in chunk {
                query = query
                    .bind(key.shop.as_str())
                    .bind(key.kind.as_str())
                    .bind(key.id.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                let id = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                found.insert(id, decode(&row, 3)?);
            }
        }
        Ok(keys
            .iter()
            .map(|k| {
                let id = (
                    k.shop.as_str().to_owned(),
                    k.kind.as_str().to_owned(),
                    k.id.clone(),
                );
                found.get(&id).cloned()
            })
            .collect())
    }
}

/// Reads `version, webhook_id` starting at column `first`.
fn decode(row: &AnyRow, first: usize) -> Result<Watermark> {
    let version = time_from_db(row.try_get(first)?, "watermark.version")?;
    let raw: String = row.try_get(first + 1)?;
    let webhook_id = WebhookId::parse(&raw).map_err(|_| Error::Corrupt {
        what: "watermark.webhook_id",
        source: None,
    })?;
    Ok(Watermark {
        version,
        webhook_id,
    })
}

/// Whether a conditional upsert moved the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advance {
    Moved,
    /// A strictly newer version is stored; nothing changed.
    Superseded,
}

/// Compare-and-set in one statement: insert, or overwrite only when the new version is not
/// older. An equal version from another webhook is accepted (the domain applies it), and a
/// replay of the same commit is accepted too, which keeps [`Store::commit`] idempotent.
pub(crate) async fn advance(
    conn: &mut AnyConnection,
    key: &WatermarkKey,
    mark: &Watermark,
) -> Result<Advance> {
    let done = sqlx::query(
        "INSERT INTO watermark (shop, kind, entity_id, version, webhook_id) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (shop, kind, entity_id) DO UPDATE \
         SET version = excluded.version, webhook_id = excluded.webhook_id \
         WHERE excluded.version >= watermark.version",
    )
    .bind(key.shop.as_str())
    .bind(key.kind.as_str())
    .bind(key.id.as_str())
    .bind(time_to_db(mark.version))
    .bind(mark.webhook_id.as_str())
    .execute(conn)
    .await?;
    Ok(if done.rows_affected() == 0 {
        Advance::Superseded
    } else {
        Advance::Moved
    })
}
