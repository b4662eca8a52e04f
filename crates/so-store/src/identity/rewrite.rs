//! Guest rows from before emails were fingerprinted (schema version 9).

use crate::connect::Store;
use crate::error::Result;

impl Store {
    /// Rewrites guest rows stored before emails were fingerprinted (they hold the address, with
    /// its `@`) to the keyed fingerprint; returns how many. Run by the worker at start, before
    /// it reads guests. A row whose fingerprint another process already stored is dropped:
    /// that one is the guest every lookup finds.
    pub async fn fingerprint_guest_emails(&self) -> Result<u64> {
        let plain: Vec<(String, String)> =
            sqlx::query_as("SELECT shop, email FROM guest WHERE email LIKE '%@%'")
                .fetch_all(&self.pool)
                .await?;
        let mut rewritten = 0;
        for (shop, email) in plain {
            let key = match so_domain::identity::normalise_email(&email) {
                Some(e) => self.guest_key(&e)?,
                None => continue,
            };
            let mut tx = self.begin_write().await?;
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM guest WHERE shop = $1 AND email = $2")
                    .bind(shop.as_str())
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
            let sql = if taken.is_some() {
                "DELETE FROM guest WHERE shop = $1 AND email = $2"
            } else {
                "UPDATE guest SET email = $3 WHERE shop = $1 AND email = $2"
            };
            let q = sqlx::query(sql).bind(shop.as_str()).bind(&email);
            let q = if taken.is_some() { q } else { q.bind(&key) };
            q.execute(&mut *tx).await?;
            tx.commit().await?;
            rewritten += 1;
        }
        Ok(rewritten)
    }
}
