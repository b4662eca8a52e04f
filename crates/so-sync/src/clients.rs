//! Admin API and Ometria clients for one shop, from the configuration.

use so_domain::ShopDomain;
use so_platform::Config;
use so_shopify_admin::AdminClient;

use crate::SyncError;

/// The shop's Admin API client, from `[shops.*.admin]`: a static token, or
/// a client id and secret whose tokens the client obtains and renews
/// itself. Clones share the token; a new client asks for a new one.
pub fn admin_client(config: &Config, shop: &ShopDomain) -> Result<AdminClient, SyncError> {
    admin_client_in(config, None, shop)
}

/// [`admin_client`], or for a shop without configured credentials its
/// OAuth install (`[shopify.app]`), whose tokens are in `store`.
pub fn admin_client_in(
    config: &Config,
    store: Option<&so_store::Store>,
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

/// Shops the Admin API jobs run for: configured ones with Admin API access
/// (their own credentials, or an OAuth install).
pub fn admin_shops(config: &Config) -> Vec<ShopDomain> {
    config
        .shops
        .iter()
        // With `[shopify.app]`, a shop without credentials may be an OAuth install.
        .filter(|(_, s)| s.enabled && (s.admin.has_access() || config.shopify.app.is_configured()))
        .filter_map(|(d, _)| ShopDomain::parse(d).ok())
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

pub fn consent_setup(config: &Config, shop: &ShopDomain) -> Result<ConsentSetup, SyncError> {
    consent_setup_with(config, shop, admin_client(config, shop)?)
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
