//! What a shop's status shows that the other tables do not keep: the last push Ometria
//! accepted, the last webhook subscription check, and Ometria's asynchronous rejections tied
//! to the shop. Each is written where it happens (worker, `webhooks check|sync`, rejection
//! watcher) and read by `shops show`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use sqlx::Row;

use crate::codec::{from_json, time_from_db, time_to_db, to_json};
use crate::connect::Store;
use crate::error::Result;

/// The last `webhooks check|sync` of a shop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookCheck {
    pub checked_at: DateTime<Utc>,
    /// Nothing for `webhooks sync` to change or that it cannot.
    pub in_order: bool,
    /// `shop_specific`, `none_listed` or `app_specific_or_none`.
    pub kind: String,
    /// Subscriptions (topics) per state of the plan after the run: `ok`, `missing`,
    /// `wrong_address`, `duplicate`, `foreign`, `wrong_version`, `cannot_subscribe`.
    pub states: BTreeMap<String, u64>,
}

/// A shop's asynchronous rejections since some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejections {
    pub count: u64,
    /// The newest one: when, and its masked reason.
    pub latest: Option<(DateTime<Utc>, String)>,
}

impl Store {
    /// Records that Ometria accepted a push request carrying records of `shop` at `at`. Only
    /// moves forward, so concurrent batches finishing out of order are harmless.
    pub async fn record_push_accepted(&self, shop: &ShopDomain, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO shop_push (shop, last_push_at) VALUES ($1, $2) \
             ON CONFLICT (shop) DO UPDATE SET last_push_at = excluded.last_push_at \
             WHERE excluded.last_push_at > shop_push.last_push_at",
        )
        .bind(shop.as_str())
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When Ometria last accepted a push of `shop`'s records, if ever.
    pub async fn last_push_accepted(&self, shop: &ShopDomain) -> Result<Option<DateTime<Utc>>> {
        let raw: Option<i64> =
            sqlx::query_scalar("SELECT last_push_at FROM shop_push WHERE shop = $1")
                .bind(shop.as_str())
                .fetch_optional(&self.pool)
                .await?;
        raw.map(|r| time_from_db(r, "shop_push.last_push_at"))
            .transpose()
    }

    /// Keeps `check` as the shop's last webhook subscription check.
    pub async fn save_webhook_check(&self, shop: &ShopDomain, check: &WebhookCheck) -> Result<()> {
        sqlx::query(
            "INSERT INTO webhook_check (shop, checked_at, in_order, kind, states) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop) DO UPDATE SET \
             checked_at = excluded.checked_at, in_order = excluded.in_order, \
             kind = excluded.kind, states = excluded.states",
        )
        .bind(shop.as_str())
        .bind(time_to_db(check.checked_at))
        .bind(i64::from(check.in_order))
        .bind(check.kind.as_str())
        .bind(to_json(&check.states, "webhook_check.states")?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The shop's last webhook subscription check, if one ran.
    pub async fn last_webhook_check(&self, shop: &ShopDomain) -> Result<Option<WebhookCheck>> {
        let row = sqlx::query(
            "SELECT checked_at, in_order, kind, states FROM webhook_check WHERE shop = $1",
        )
        .bind(shop.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WebhookCheck {
                checked_at: time_from_db(r.try_get(0)?, "webhook_check.checked_at")?,
                in_order: r.try_get::<i64, _>(1)? != 0,
                kind: r.try_get(2)?,
                states: from_json(&r.try_get::<String, _>(3)?, "webhook_check.states")?,
            })
        })
        .transpose()
    }

    /// Records an asynchronous rejection of a record of `shop`: the `_errors` item
    /// `fingerprint` of `account` (digests, as in [`Store::claim_ometria_error`]) with its
    /// masked `reason`. Once per item: a second record of it is a no-op.
    pub async fn record_ometria_rejection(
        &self,
        account: &str,
        fingerprint: &str,
        shop: &ShopDomain,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ometria_rejection (account, fingerprint, shop, rejected_at, reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account, fingerprint) DO NOTHING",
        )
        .bind(account)
        .bind(fingerprint)
        .bind(shop.as_str())
        .bind(time_to_db(at))
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `shop`'s rejections recorded at or after `since`, and the newest.
    pub async fn ometria_rejections_since(
        &self,
        shop: &ShopDomain,
        since: DateTime<Utc>,
    ) -> Result<Rejections> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ometria_rejection WHERE shop = $1 AND rejected_at >= $2",
        )
        .bind(shop.as_str())
        .bind(time_to_db(since))
        .fetch_one(&self.pool)
        .await?;
        let latest = sqlx::query(
            "SELECT rejected_at, reason FROM ometria_rejection \
             WHERE shop = $1 AND rejected_at >= $2 ORDER BY rejected_at DESC LIMIT 1",
        )
        .bind(shop.as_str())
        .bind(time_to_db(since))
        .fetch_optional(&self.pool)
        .await?
        .map(|r| -> Result<_> {
            Ok((
                time_from_db(r.try_get(0)?, "ometria_rejection.rejected_at")?,
                r.try_get::<String, _>(1)?,
            ))
        })
        .transpose()?;
        Ok(Rejections {
            count: u64::try_from(count).unwrap_or_default(),
            latest,
        })
    }

    /// Forgets rejections recorded before `before`; returns how many.
    pub async fn prune_ometria_rejections(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ometria_rejection WHERE rejected_at < $1")
            .bind(time_to_db(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
