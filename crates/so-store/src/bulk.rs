//! Batched reads: one round trip per chunk of keys, so a worker batch of a
//! thousand events costs a handful of queries instead of thousands.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use so_domain::mapping::OrderState;
use so_domain::shopify::ShopifyId;
use so_domain::{ShopDomain, WebhookId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codec::{from_json, id_from_db, id_to_db, time_from_db};
use crate::connect::Store;
use crate::error::Result;

/// Keys per query: well under both backends' parameter limits.
pub(crate) const CHUNK: usize = 400;

pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", from + i))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The rows of `select` (ending in `WHERE shop = $1 AND <column> IN`)
    /// for one chunk of at most [`CHUNK`] ids.
    pub(crate) async fn rows_with_ids(
        &self,
        select: &str,
        shop: &ShopDomain,
        ids: &[i64],
    ) -> Result<Vec<AnyRow>> {
        let sql = format!("{select} ({})", placeholders(2, ids.len()));
        let mut q = sqlx::query(&sql).bind(shop.as_str());
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    /// When each of these deliveries was first processed (absent = never).
    pub async fn ledger_seen(
        &self,
        shop: &ShopDomain,
        webhook_ids: &[WebhookId],
    ) -> Result<HashMap<String, DateTime<Utc>>> {
        let mut out = HashMap::new();
        for chunk in webhook_ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT webhook_id, seen_at FROM ledger WHERE shop = $1 AND webhook_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(shop.as_str());
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                let id: String = row.try_get(0)?;
                out.insert(id, time_from_db(row.try_get(1)?, "ledger.seen_at")?);
            }
        }
        Ok(out)
    }

    /// The stored state of each of these orders (absent = never seen).
    pub async fn order_states(
        &self,
        shop: &ShopDomain,
        order_ids: &[ShopifyId],
    ) -> Result<HashMap<ShopifyId, OrderState>> {
        let mut out = HashMap::new();
        for chunk in order_ids.chunks(CHUNK) {
            let ids = chunk
                .iter()
                .map(|id| id_to_db(*id))
                .collect::<Result<Vec<_>>>()?;
            let select = "SELECT order_id, state FROM order_state WHERE shop = $1 AND order_id IN";
            for row in self.rows_with_ids(select, shop, &ids).await? {
                let id = id_from_db(row.try_get(0)?, "order_state.order_id")?;
                let raw: String = row.try_get(1)?;
                out.insert(id, from_json(&raw, "order_state.state")?);
            }
        }
        Ok(out)
    }
}
