//! Admin API tokens from the authorization code grant, sealed at rest (`sealed.rs`), one row
//! per shop (migration 0012). Writes of a token pair are compare-and-swap on the row's
//! generation, and a refresh is leased, so processes sharing the store never spend one
//! refresh token twice nor lose the pair another one obtained.

use std::fmt;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codec::{time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::{Error, Result};
use crate::sealed::Sealer;

/// A token pair as Shopify granted it. `Debug` never shows the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Absent for a non-expiring offline token.
    pub refresh_token: Option<String>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Comma-separated, as granted.
    pub scopes: String,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"****")
            .field("access_expires_at", &self.access_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "****"),
            )
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// What a shop's tokens are good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Connected,
    /// Shopify refused the refresh token or the app's client credentials.
    Refused,
    /// `app/uninstalled` arrived; the tokens are gone.
    Uninstalled,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Connected => "connected",
            TokenState::Refused => "refused",
            TokenState::Uninstalled => "uninstalled",
        }
    }

    fn parse(raw: &str) -> Result<TokenState> {
        match raw {
            "connected" => Ok(TokenState::Connected),
            "refused" => Ok(TokenState::Refused),
            "uninstalled" => Ok(TokenState::Uninstalled),
            _ => Err(Error::Corrupt {
                what: "shop token state",
                source: None,
            }),
        }
    }
}

/// A shop's row, opened.
/// A shop's OAuth install as `shops show` reports it: no token, sealed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatus {
    pub state: TokenState,
    pub scopes: String,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub refused_reason: Option<String>,
    pub installed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopTokens {
    pub shop: String,
    pub state: TokenState,
    /// `None` once uninstalled.
    pub pair: Option<TokenPair>,
    /// Compare-and-swap handle for [`Store::replace_shop_tokens`].
    pub generation: i64,
    pub refused_reason: Option<String>,
    pub installed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Associated data binding a sealed value to its column and shop.
fn context(column: &str, shop: &str) -> String {
    format!("shop_tokens.{column}:{shop}")
}

struct SealedPair {
    access: String,
    refresh: Option<String>,
}

fn seal_pair(sealer: &Sealer, shop: &str, pair: &TokenPair) -> SealedPair {
    SealedPair {
        access: sealer.seal(pair.access_token.as_bytes(), &context("access_token", shop)),
        refresh: pair
            .refresh_token
            .as_ref()
            .map(|r| sealer.seal(r.as_bytes(), &context("refresh_token", shop))),
    }
}

fn opt_time(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(time_to_db)
}

const COLUMNS: &str = "shop, state, access_token, access_expires_at, refresh_token, \
     refresh_expires_at, scopes, generation, refused_reason, installed_at, updated_at";

impl Store {
    /// Stores the pair of a completed install: the shop is connected, whatever it was before
    /// (a reinstall replaces revoked tokens). Returns the new generation.
    pub async fn install_shop_tokens(
        &self,
        sealer: &Sealer,
        shop: &str,
        pair: &TokenPair,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let sealed = seal_pair(sealer, shop, pair);
        let generation: i64 = sqlx::query_scalar(
            "INSERT INTO shop_tokens (shop, state, access_token, access_expires_at, refresh_token, \
             refresh_expires_at, scopes, generation, installed_at, updated_at) \
             VALUES ($1, 'connected', $2, $3, $4, $5, $6, 1, $7, $7) \
             ON CONFLICT (shop) DO UPDATE SET state = 'connected', \
             access_token = excluded.access_token, access_expires_at = excluded.access_expires_at, \
             refresh_token = excluded.refresh_token, \
             refresh_expires_at = excluded.refresh_expires_at, scopes = excluded.scopes, \
             generation = shop_tokens.generation + 1, refused_reason = NULL, \
             lease_holder = NULL, lease_until = NULL, installed_at = excluded.installed_at, \
             updated_at = excluded.updated_at \
             RETURNING generation",
        )
        .bind(shop)
        .bind(sealed.access)
        .bind(opt_time(pair.access_expires_at))
        .bind(sealed.refresh)
        .bind(opt_time(pair.refresh_expires_at))
        .bind(&pair.scopes)
        .bind(time_to_db(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(generation)
    }

    /// The shop's row, tokens opened; `None` if it never installed.
    pub async fn shop_tokens(&self, sealer: &Sealer, shop: &str) -> Result<Option<ShopTokens>> {
        let sql = format!("SELECT {COLUMNS} FROM shop_tokens WHERE shop = $1");
        let row = sqlx::query(&sql)
            .bind(shop)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(sealer, &r)).transpose()
    }

    /// What a status page may say of the shop's install: its state and times, read without
    /// opening (or needing the key of) any sealed column. `None` if it never installed.
    pub async fn shop_token_status(&self, shop: &str) -> Result<Option<TokenStatus>> {
        let row = sqlx::query(
            "SELECT state, scopes, access_expires_at, refresh_expires_at, refused_reason, \
             installed_at, updated_at FROM shop_tokens WHERE shop = $1",
        )
        .bind(shop)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let at = |raw: Option<i64>| raw.map(|t| time_from_db(t, "shop token time")).transpose();
        Ok(Some(TokenStatus {
            state: TokenState::parse(&r.try_get::<String, _>("state")?)?,
            scopes: r.try_get("scopes")?,
            access_expires_at: at(r.try_get("access_expires_at")?)?,
            refresh_expires_at: at(r.try_get("refresh_expires_at")?)?,
            refused_reason: r.try_get("refused_reason")?,
            installed_at: time_from_db(r.try_get("installed_at")?, "shop token time")?,
            updated_at: time_from_db(r.try_get("updated_at")?, "shop token time")?,
        }))
    }

    /// Writes a refreshed pair (the rotated refresh token with the new access token) if the row
    /// is still at `generation` and connected, and ends the caller's lease. `None` when another
    /// writer got there first: re-read and use its pair.
    pub async fn replace_shop_tokens(
        &self,
        sealer: &Sealer,
        shop: &str,
        generation: i64,
        pair: &TokenPair,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let sealed = seal_pair(sealer, shop, pair);
        let next: Option<i64> = sqlx::query_scalar(
            "UPDATE shop_tokens SET access_token = $1, access_expires_at = $2, \
             refresh_token = $3, refresh_expires_at = $4, scopes = $5, \
             generation = generation + 1, lease_holder = NULL, lease_until = NULL, \
             updated_at = $6 \
             WHERE shop = $7 AND generation = $8 AND state = 'connected' \
             RETURNING generation",
        )
        .bind(sealed.access)
        .bind(opt_time(pair.access_expires_at))
        .bind(sealed.refresh)
        .bind(opt_time(pair.refresh_expires_at))
        .bind(&pair.scopes)
        .bind(time_to_db(now))
        .bind(shop)
        .bind(generation)
        .fetch_optional(&self.pool)
        .await?;
        Ok(next)
    }

    /// Takes the right to refresh the shop's pair at `generation` until `until`: `false` while
    /// another holder's lease runs or when the row moved on (re-read it).
    pub async fn lease_shop_refresh(
        &self,
        shop: &str,
        generation: i64,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE shop_tokens SET lease_holder = $1, lease_until = $2 \
             WHERE shop = $3 AND generation = $4 AND state = 'connected' \
             AND (lease_until IS NULL OR lease_until <= $5 OR lease_holder = $1)",
        )
        .bind(holder)
        .bind(time_to_db(until))
        .bind(shop)
        .bind(generation)
        .bind(time_to_db(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends `holder`'s lease without a new pair (the refresh failed for a passing reason).
    pub async fn release_shop_refresh(&self, shop: &str, holder: &str) -> Result<()> {
        sqlx::query(
            "UPDATE shop_tokens SET lease_holder = NULL, lease_until = NULL \
             WHERE shop = $1 AND lease_holder = $2",
        )
        .bind(shop)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Shopify refused the pair at `generation` (an invalid refresh token, `invalid_client`):
    /// the shop stays refused until it is installed again. `false` if the row moved on.
    pub async fn refuse_shop_tokens(
        &self,
        shop: &str,
        generation: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE shop_tokens SET state = 'refused', refused_reason = $1, \
             lease_holder = NULL, lease_until = NULL, updated_at = $2 \
             WHERE shop = $3 AND generation = $4 AND state = 'connected'",
        )
        .bind(reason)
        .bind(time_to_db(now))
        .bind(shop)
        .bind(generation)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `app/uninstalled` triggered at `triggered_at`: the tokens are deleted unless the shop was
    /// installed again after that (a quick reinstall, `shopify-apps.md` §9). `true` if marked.
    pub async fn uninstall_shop_tokens(
        &self,
        shop: &str,
        triggered_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE shop_tokens SET state = 'uninstalled', access_token = NULL, \
             access_expires_at = NULL, refresh_token = NULL, refresh_expires_at = NULL, \
             generation = generation + 1, lease_holder = NULL, lease_until = NULL, \
             updated_at = $1 \
             WHERE shop = $2 AND installed_at <= $3 AND state <> 'uninstalled'",
        )
        .bind(time_to_db(now))
        .bind(shop)
        .bind(time_to_db(triggered_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Re-seals every token sealed under an older key with the current one; returns how many
    /// rows changed. Each row is written only if it did not change meanwhile.
    pub async fn rotate_sealed(&self, sealer: &Sealer) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT shop, generation, access_token, refresh_token FROM shop_tokens \
             WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut changed = 0;
        for row in rows {
            let shop: String = row.try_get(0)?;
            let generation: i64 = row.try_get(1)?;
            let access = reseal(sealer, row.try_get(2)?, &context("access_token", &shop))?;
            let refresh = reseal(sealer, row.try_get(3)?, &context("refresh_token", &shop))?;
            if access.is_none() && refresh.is_none() {
                continue;
            }
            let done = sqlx::query(
                "UPDATE shop_tokens SET access_token = COALESCE($1, access_token), \
                 refresh_token = COALESCE($2, refresh_token) \
                 WHERE shop = $3 AND generation = $4",
            )
            .bind(access)
            .bind(refresh)
            .bind(&shop)
            .bind(generation)
            .execute(&self.pool)
            .await?;
            changed += done.rows_affected();
        }
        Ok(changed)
    }
}

fn reseal(sealer: &Sealer, sealed: Option<String>, context: &str) -> Result<Option<String>> {
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    sealer
        .reseal(&sealed, context)
        .map_err(|source| Error::Sealed { source })
}

fn open(sealer: &Sealer, sealed: Option<String>, context: &str) -> Result<Option<String>> {
    sealed
        .map(|s| sealer.open_text(&s, context))
        .transpose()
        .map_err(|source| Error::Sealed { source })
}

fn decode(sealer: &Sealer, row: &AnyRow) -> Result<ShopTokens> {
    let shop: String = row.try_get(0)?;
    let state = TokenState::parse(&row.try_get::<String, _>(1)?)?;
    let access = open(sealer, row.try_get(2)?, &context("access_token", &shop))?;
    let refresh = open(sealer, row.try_get(4)?, &context("refresh_token", &shop))?;
    let time = |raw: Option<i64>| {
        raw.map(|t| time_from_db(t, "shop token expiry"))
            .transpose()
    };
    let pair = match access {
        Some(access_token) => Some(TokenPair {
            access_token,
            access_expires_at: time(row.try_get(3)?)?,
            refresh_token: refresh,
            refresh_expires_at: time(row.try_get(5)?)?,
            scopes: row.try_get(6)?,
        }),
        None => None,
    };
    Ok(ShopTokens {
        state,
        pair,
        generation: row.try_get(7)?,
        refused_reason: row.try_get(8)?,
        installed_at: time_from_db(row.try_get(9)?, "shop token install time")?,
        updated_at: time_from_db(row.try_get(10)?, "shop token update time")?,
        shop,
    })
}
