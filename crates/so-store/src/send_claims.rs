//! A shop's profile-send claim: the `sync_lease` row `profile_send:<shop>`, taken atomically
//! before a send starts, renewed while it runs and deleted when it ends. A claim whose process
//! died expires at its `until` and is taken over by the next send.

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use sqlx::Row;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// Who holds a shop's send claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendClaim {
    /// The claim's owner: one send in one process.
    pub holder: String,
    /// Who started the send (`console:ana`, `send-profiles`, `scheduler`).
    pub actor: String,
    pub since: DateTime<Utc>,
    /// When it expires unless renewed.
    pub until: DateTime<Utc>,
}

fn lease_name(shop: &ShopDomain) -> String {
    format!("profile_send:{shop}")
}

impl Store {
    /// Takes the send claim of `shop` for `holder` until `until` (renews it when `holder` has
    /// it already); `Err` with the claim in force when another holder's has not expired.
    pub async fn claim_send(
        &self,
        shop: &ShopDomain,
        holder: &str,
        actor: &str,
        until: DateTime<Utc>,
    ) -> Result<std::result::Result<(), SendClaim>> {
        let now = Utc::now();
        let done = sqlx::query(
            "INSERT INTO sync_lease (name, holder, until, actor, since) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until, \
             actor = excluded.actor, \
             since = CASE WHEN sync_lease.holder = excluded.holder THEN sync_lease.since \
                     ELSE excluded.since END \
             WHERE sync_lease.holder = excluded.holder OR sync_lease.until < $5",
        )
        .bind(lease_name(shop))
        .bind(holder)
        .bind(time_to_db(until))
        .bind(actor)
        .bind(time_to_db(now))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(Ok(()));
        }
        // Held by another; it may have been released in between: say so as a refusal anyway
        // (the caller asks again), with what was there.
        Ok(Err(self.send_claim(shop).await?.unwrap_or(SendClaim {
            holder: String::new(),
            actor: "another process".to_owned(),
            since: now,
            until: now,
        })))
    }

    /// Moves the end of `holder`'s claim to `until`; `false` when the claim is no longer its
    /// own (it expired and another send took it).
    pub async fn renew_send_claim(
        &self,
        shop: &ShopDomain,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE sync_lease SET until = $3 WHERE name = $1 AND holder = $2")
            .bind(lease_name(shop))
            .bind(holder)
            .bind(time_to_db(until))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends `holder`'s claim (nothing when another holds it).
    pub async fn release_send_claim(&self, shop: &ShopDomain, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM sync_lease WHERE name = $1 AND holder = $2")
            .bind(lease_name(shop))
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The claim in force on `shop`'s sends, if any (an expired one is none).
    pub async fn send_claim(&self, shop: &ShopDomain) -> Result<Option<SendClaim>> {
        let row = sqlx::query(
            "SELECT holder, actor, since, until FROM sync_lease WHERE name = $1 AND until >= $2",
        )
        .bind(lease_name(shop))
        .bind(time_to_db(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let until = time_from_db(row.try_get("until")?, "sync_lease.until")?;
        let since: Option<i64> = row.try_get("since")?;
        let actor: Option<String> = row.try_get("actor")?;
        Ok(Some(SendClaim {
            holder: row.try_get("holder")?,
            // A lease taken before claims carried their actor: the scheduler's.
            actor: actor.unwrap_or_else(|| "scheduler".to_owned()),
            since: match since {
                Some(s) => time_from_db(s, "sync_lease.since")?,
                None => until,
            },
            until,
        }))
    }
}
