//! Ometria `_errors` items already handled, shared by every worker process
//! (each runs a rejection watcher per Ometria account): whoever inserts an
//! item's row first handles it; the others see it taken.

use chrono::{DateTime, Utc};

use crate::codec::time_to_db;
use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// Claims the `_errors` item `fingerprint` of `account` at `now`: `true`
    /// for the one caller that recorded it first, across processes.
    pub async fn claim_ometria_error(
        &self,
        account: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO ometria_error_seen (account, fingerprint, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account, fingerprint) DO NOTHING",
        )
        .bind(account)
        .bind(fingerprint)
        .bind(time_to_db(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets items claimed before `before`; returns how many.
    pub async fn prune_ometria_errors(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ometria_error_seen WHERE seen_at < $1")
            .bind(time_to_db(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
