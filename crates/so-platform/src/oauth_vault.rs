//! Where an OAuth-installed shop's tokens live: the store, sealed. This is the
//! one place that sees both the Admin API adapter (its [`TokenVault`] seam)
//! and the store, so services build a shop's [`AdminAccess`] here.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use so_domain::ShopDomain;
use so_shopify_admin::{
    AdminAccess, AdminError, AdminSettings, GrantedPair, OAuthApp, OAuthSource, TokenVault,
    VaultEntry, VaultFuture, VaultRead,
};
use so_store::{Sealer, Store, TokenPair, TokenState};

use crate::Config;

/// One shop's row of `shop_tokens`, as the OAuth token source's vault.
#[derive(Debug)]
pub struct StoreVault {
    store: Store,
    sealer: Sealer,
    shop: String,
    /// This process's name in the refresh lease.
    holder: String,
}

impl StoreVault {
    pub fn new(store: Store, sealer: Sealer, shop: &str) -> Self {
        StoreVault {
            store,
            sealer,
            shop: shop.to_owned(),
            holder: format!("{}-{}", std::process::id(), uuid_like()),
        }
    }
}

/// Distinguishes vaults of one process (each source leases for itself).
fn uuid_like() -> String {
    let n: u64 = rand_u64();
    format!("{n:016x}")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn err(e: so_store::Error) -> String {
    // The store's messages hold no stored value; the source chain names the cause.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The store's form of a granted pair.
pub fn token_pair(pair: &GrantedPair) -> TokenPair {
    TokenPair {
        access_token: pair.access_token.expose_secret().to_owned(),
        access_expires_at: pair.access_expires_at,
        refresh_token: pair
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        refresh_expires_at: pair.refresh_expires_at,
        scopes: pair.scope.clone(),
    }
}

impl TokenVault for StoreVault {
    fn read(&self) -> VaultFuture<'_, VaultRead> {
        Box::pin(async move {
            let row = self
                .store
                .shop_tokens(&self.sealer, &self.shop)
                .await
                .map_err(err)?;
            Ok(match row {
                None => VaultRead::Missing,
                Some(row) => match (row.state, row.pair) {
                    (TokenState::Connected, Some(pair)) => VaultRead::Connected(VaultEntry {
                        generation: row.generation,
                        access_token: SecretString::from(pair.access_token),
                        access_expires_at: pair.access_expires_at,
                        refresh_token: pair.refresh_token.map(SecretString::from),
                    }),
                    (TokenState::Refused, _) => {
                        VaultRead::Refused(row.refused_reason.unwrap_or_default())
                    }
                    _ => VaultRead::Uninstalled,
                },
            })
        })
    }

    fn lease(&self, generation: i64, for_how_long: Duration) -> VaultFuture<'_, bool> {
        Box::pin(async move {
            let now = Utc::now();
            let until = now + chrono::Duration::from_std(for_how_long).unwrap_or_default();
            self.store
                .lease_shop_refresh(&self.shop, generation, &self.holder, now, until)
                .await
                .map_err(err)
        })
    }

    fn replace(&self, generation: i64, pair: GrantedPair) -> VaultFuture<'_, Option<i64>> {
        Box::pin(async move {
            self.store
                .replace_shop_tokens(
                    &self.sealer,
                    &self.shop,
                    generation,
                    &token_pair(&pair),
                    Utc::now(),
                )
                .await
                .map_err(err)
        })
    }

    fn release(&self) -> VaultFuture<'_, ()> {
        Box::pin(async move {
            self.store
                .release_shop_refresh(&self.shop, &self.holder)
                .await
                .map_err(err)
        })
    }

    fn refuse(&self, generation: i64, reason: String) -> VaultFuture<'_, bool> {
        Box::pin(async move {
            self.store
                .refuse_shop_tokens(&self.shop, generation, &reason, Utc::now())
                .await
                .map_err(err)
        })
    }
}

/// `shop`'s Admin API access: its configured credentials (static token or
/// client credentials), else its OAuth install when `[shopify.app]` is
/// configured; `None` when neither applies.
pub fn admin_access(
    config: &Config,
    settings: &AdminSettings,
    store: &Store,
    shop: &ShopDomain,
) -> Result<Option<AdminAccess>, AdminError> {
    if let Some(credentials) = config.shop(shop).admin.credentials(shop) {
        return AdminAccess::new(settings, &credentials).map(Some);
    }
    let app = &config.shopify.app;
    let (Some(client_id), Some(secret)) = (&app.client_id, &app.client_secret) else {
        return Ok(None);
    };
    let sealer = config
        .database
        .sealer()
        .map_err(AdminError::Settings)?
        .ok_or_else(|| AdminError::Settings("database.secrets_key is not set".to_owned()))?;
    let base = app.shop_base(shop.as_str());
    let source = OAuthSource::new(
        settings,
        shop.as_str(),
        &format!("{base}/admin/oauth/access_token"),
        OAuthApp {
            client_id: client_id.clone(),
            client_secret: secret.clone(),
        },
        Box::new(StoreVault::new(store.clone(), sealer, shop.as_str())),
    )?;
    Ok(Some(AdminAccess::from_source(
        shop.as_str(),
        &base,
        Arc::new(source),
    )))
}
