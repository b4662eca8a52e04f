//! Last successful push per Ometria record, for reconciliation and operations.

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// Records that Ometria accepted `ometria_id` (a namespaced id, never PII) of
    /// `record_type` at `at`. Only moves forward, so out-of-order acknowledgements are harmless.
    pub async fn record_delivery(
        &self,
        shop: &ShopDomain,
        record_type: &str,
        ometria_id: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO delivery (shop, record_type, ometria_id, delivered_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (shop, record_type, ometria_id) DO UPDATE \
             SET delivered_at = excluded.delivered_at \
             WHERE excluded.delivered_at > delivery.delivered_at",
        )
        .bind(shop.as_str())
        .bind(record_type)
        .bind(ometria_id)
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When `ometria_id` of `record_type` was last delivered, if ever.
    pub async fn last_delivery(
        &self,
        shop: &ShopDomain,
        record_type: &str,
        ometria_id: &str,
    ) -> Result<Option<DateTime<Utc>>> {
        let raw: Option<i64> = sqlx::query_scalar(
            "SELECT delivered_at FROM delivery \
             WHERE shop = $1 AND record_type = $2 AND ometria_id = $3",
        )
        .bind(shop.as_str())
        .bind(record_type)
        .bind(ometria_id)
        .fetch_optional(&self.pool)
        .await?;
        raw.map(|r| time_from_db(r, "delivery.delivered_at"))
            .transpose()
    }
}
