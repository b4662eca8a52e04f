//! Admin API and Ometria clients for one shop, from the configuration.

use so_domain::ShopDomain;
use so_platform::Config;
use so_shopify_admin::AdminClient;

use crate::SyncError;

/// The shop's Admin API client: its own credentials (`[shops.*.admin]`, a
/// static token or a client id and secret whose tokens the client obtains and
/// renews itself), else its OAuth install (`[shopify.app]`), whose tokens are
/// in `store`. The one way to build one, so every job reaches a shop however
/// it was connected. `config` should hold the shops as served now (see
/// [`so_platform::shops_live::effective_config`]). Clones share the token; a
/// new client asks for a new one.
pub fn admin_client(
    config: &Config,
    store: &so_store::Store,
    shop: &ShopDomain,
) -> Result<AdminClient, SyncError> {
    let settings = &config.shopify_admin;
    let access = so_platform::oauth_vault::admin_access(config, settings, store, shop)?
        .ok_or_else(|| SyncError::NoAdminAccess(shop.as_str().to_owned()))?;
    Ok(AdminClient::with_access(settings, access)?)
}

/// The shop's Ometria client (its own account or `[ometria]`).
pub fn ometria_client(config: &Config, shop: &ShopDomain) -> Result<so_ometria::Client, SyncError> {
    let settings = config.ometria_for(shop);
    if settings.api_key.is_none() {
        return Err(SyncError::NoOmetriaAccount(shop.as_str().to_owned()));
    }
    Ok(so_ometria::Client::new(&settings)?)
}

/// Shops the Admin API jobs run for: served shops (TOML or store) with Admin
/// API access (their own credentials, or an OAuth install), paused ones left
/// out. `config` holds the shops as served now.
pub fn admin_shops(config: &Config) -> Vec<ShopDomain> {
    job_shops(config)
        .into_iter()
        .filter_map(|(shop, skipped)| skipped.is_none().then_some(shop))
        .collect()
}

/// Every served shop, each with why the Admin API jobs skip it (`None`: they run).
pub fn job_shops(config: &Config) -> Vec<(ShopDomain, Option<&'static str>)> {
    config
        .shops
        .iter()
        .filter_map(|(d, s)| {
            let shop = ShopDomain::parse(d).ok()?;
            let skipped = if !s.enabled {
                Some("paused")
            // With `[shopify.app]`, a shop without credentials may be an OAuth install.
            } else if !s.admin.has_access() && !config.shopify.app.is_configured() {
                Some("no Admin API access")
            } else {
                None
            };
            Some((shop, skipped))
        })
        .collect()
}

/// What a consent write-back of one shop needs from the configuration.
pub struct ConsentSetup {
    pub admin: AdminClient,
    pub ometria: so_ometria::Client,
    pub namespace: so_domain::identity::Namespace,
    /// Where the shop's first run starts (`shops."<domain>".sync.consent_start`,
    /// else `sync.consent_start`, else a day ago).
    pub first_start: chrono::DateTime<chrono::Utc>,
}

pub fn consent_setup(
    config: &Config,
    store: &so_store::Store,
    shop: &ShopDomain,
) -> Result<ConsentSetup, SyncError> {
    consent_setup_with(config, shop, admin_client(config, store, shop)?)
}

/// [`consent_setup`] with a client the caller keeps (and its token).
pub fn consent_setup_with(
    config: &Config,
    shop: &ShopDomain,
    admin: AdminClient,
) -> Result<ConsentSetup, SyncError> {
    let namespace = so_domain::identity::Namespace::parse(&config.shop(shop).namespace)
        .map_err(|e| SyncError::Invalid(format!("shops.\"{shop}\".namespace: {e}")))?;
    let first_start = config
        .consent_start_for(shop)
        .map_err(SyncError::Invalid)?
        .unwrap_or_else(|| chrono::Utc::now() - chrono::Duration::days(1));
    Ok(ConsentSetup {
        admin,
        ometria: ometria_client(config, shop)?,
        namespace,
        first_start,
    })
}

impl ConsentSetup {
    pub fn sync<'a>(
        &'a self,
        store: &'a so_store::Store,
        shop: &'a ShopDomain,
    ) -> crate::consent::ConsentSync<'a> {
        crate::consent::ConsentSync {
            ometria: &self.ometria,
            admin: &self.admin,
            store,
            shop,
            namespace: &self.namespace,
            first_start: self.first_start,
            republish: None,
        }
    }
}
