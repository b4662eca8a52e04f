//! The `state` nonces of OAuth installs under way (migration 0012): issued by whichever ingress
//! process served `/shopify/install`, taken once by whichever serves the callback. Only a
//! digest of the nonce is kept.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::codec::time_to_db;
use crate::connect::Store;
use crate::error::Result;

/// What taking a nonce found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateCheck {
    /// Issued for this shop and still fresh; now used up.
    Valid,
    /// Never issued, or already used.
    Unknown,
    /// Issued, but past its lifetime (now used up too).
    Expired,
    /// Issued for another shop (now used up too).
    OtherShop,
}

fn digest(nonce: &str) -> String {
    Sha256::digest(nonce.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Records a nonce issued for `shop`, valid until `expires_at`, and forgets expired ones.
    pub async fn put_oauth_state(
        &self,
        nonce: &str,
        shop: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(time_to_db(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oauth_states (nonce_digest, shop, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(digest(nonce))
        .bind(shop)
        .bind(time_to_db(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses the nonce up (whatever the outcome, so it can never be replayed) and says whether it
    /// was valid for `shop` at `now`. Of concurrent takers of one nonce, one sees it.
    pub async fn take_oauth_state(
        &self,
        nonce: &str,
        shop: &str,
        now: DateTime<Utc>,
    ) -> Result<StateCheck> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "DELETE FROM oauth_states WHERE nonce_digest = $1 RETURNING shop, expires_at",
        )
        .bind(digest(nonce))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => StateCheck::Unknown,
            Some((_, expires)) if expires < time_to_db(now) => StateCheck::Expired,
            Some((issued_for, _)) if !issued_for.eq_ignore_ascii_case(shop) => {
                StateCheck::OtherShop
            }
            Some(_) => StateCheck::Valid,
        })
    }
}
