//! OAuth install (`shared/reference/shopify-apps.md` §3): `GET /shopify/install` redirects
//! to the shop's authorize page with a single-use `state` kept in the store (so any ingress
//! process can take the callback); `GET /shopify/callback` checks the shop hostname, the query
//! HMAC, the timestamp and the state, in that order (a forged callback never uses up a state),
//! then exchanges the code for an expiring offline token and stores it sealed. A refused
//! callback stores nothing. No token, code or secret is ever logged.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use so_domain::ShopDomain;
use so_platform::config::ShopifyApp;
use so_shopify_admin::install::{authorize_url, valid_shop_hostname, verify_query_hmac};
use so_shopify_admin::{AdminSettings, PairError, exchange_code};
use so_store::{Sealer, ShopSource, ShopWriter, StateCheck, Store};

use crate::error::InstallError;

/// What the install routes need; present only when `[shopify.app]` is configured.
#[derive(Debug, Clone)]
pub struct Install {
    pub store: Store,
    pub sealer: Sealer,
    pub app: ShopifyApp,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `<public_url>/shopify/callback`.
    pub redirect_uri: String,
    pub admin: AdminSettings,
    /// Called with the shop's domain once it is connected (the binary runs the shop's webhook
    /// subscription sync there); `None`: nothing more.
    pub on_connected: Option<Connected>,
}

/// What runs after a shop connects; it must not block (spawn the work).
#[derive(Clone)]
pub struct Connected(pub Arc<dyn Fn(ShopDomain) + Send + Sync>);

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connected(..)")
    }
}

type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub(crate) async fn install(
    State(install): State<Arc<Install>>,
    Query(params): Query<Params>,
) -> Result<Response, InstallError> {
    let shop = checked_shop(&params)?;
    // A hit from Shopify's admin is signed; a merchant's own link is not.
    if param(&params, "hmac").is_some() {
        verify(&install, &params, Utc::now())?;
    }
    let nonce = nonce();
    let now = Utc::now();
    let lifetime = chrono::Duration::seconds(to_i64(install.app.state_lifetime_secs));
    install
        .store
        .put_oauth_state(&nonce, &shop, now + lifetime, now)
        .await
        .map_err(|e| InstallError::Store(e.to_string()))?;
    let url = authorize_url(
        &install.app.shop_base(&shop),
        &install.client_id,
        &install.app.scopes,
        &install.redirect_uri,
        &nonce,
    );
    tracing::info!(shop = %shop, "OAuth install started; redirecting to Shopify's authorize page.");
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

pub(crate) async fn callback(
    State(install): State<Arc<Install>>,
    Query(params): Query<Params>,
) -> Result<Response, InstallError> {
    let now = Utc::now();
    let shop = checked_shop(&params)?;
    verify(&install, &params, now)?;
    let state = param(&params, "state").ok_or(InstallError::Missing("state"))?;
    let code = param(&params, "code").ok_or(InstallError::Missing("code"))?;
    match install.store.take_oauth_state(state, &shop, now).await {
        Ok(StateCheck::Valid) => {}
        Ok(StateCheck::Unknown) => return Err(InstallError::UnknownState),
        Ok(StateCheck::Expired) => return Err(InstallError::ExpiredState),
        Ok(StateCheck::OtherShop) => return Err(InstallError::StateShopMismatch),
        Err(e) => return Err(InstallError::Store(e.to_string())),
    }
    let token_url = format!("{}/admin/oauth/access_token", install.app.shop_base(&shop));
    let code = code.to_owned();
    let pair = exchange_code(
        &install.admin,
        &token_url,
        &install.client_id,
        &install.client_secret,
        &code,
    )
    .await
    .map_err(|e| match e {
        PairError::Refused { .. } => InstallError::CodeRefused(e.reason()),
        PairError::Failed(_) => InstallError::TokenEndpoint(e.reason()),
    })?;
    let stored = so_platform::oauth_vault::token_pair(&pair);
    install
        .store
        .install_shop_tokens(&install.sealer, &shop, &stored, now)
        .await
        .map_err(|e| InstallError::Store(e.to_string()))?;
    so_platform::metrics::shop_access_refused(&shop, "oauth", false);
    let domain = register(&install.store, &shop, now).await?;
    tracing::info!(shop = %shop, scopes = %pair.scope, expiring = pair.refresh_token.is_some(), "Shop connected through OAuth install.");
    if let Some(Connected(hook)) = &install.on_connected {
        hook(domain);
    }
    let body = serde_json::json!({"shop": shop, "state": "connected", "scopes": pair.scope});
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// A shop the store does not hold yet is written there with the default settings (actor
/// `oauth:install`), so every process serves it within a refresh; a shop it holds (listed in
/// the file, or managed through the API) keeps its settings.
async fn register(
    store: &Store,
    shop: &str,
    now: DateTime<Utc>,
) -> Result<ShopDomain, InstallError> {
    let domain = ShopDomain::parse(shop).map_err(|_| InstallError::InvalidShop)?;
    let known = store
        .stored_shop(&domain)
        .await
        .map_err(|e| InstallError::Store(e.to_string()))?;
    if known.is_none() {
        let settings = so_platform::shops_live::to_stored(&so_platform::ShopSettings::default());
        let by = ShopWriter {
            actor: "oauth:install",
            now,
        };
        store
            .put_shop_settings(&domain, &settings, ShopSource::Store, by)
            .await
            .map_err(|e| InstallError::Store(e.to_string()))?;
    }
    Ok(domain)
}

fn checked_shop(params: &Params) -> Result<String, InstallError> {
    let raw = param(params, "shop").ok_or(InstallError::Missing("shop"))?;
    valid_shop_hostname(raw).ok_or(InstallError::InvalidShop)
}

/// The HMAC under the app's secret, then the timestamp's freshness.
fn verify(install: &Install, params: &Params, now: DateTime<Utc>) -> Result<(), InstallError> {
    use secrecy::ExposeSecret;
    if param(params, "hmac").is_none() {
        return Err(InstallError::Missing("hmac"));
    }
    if !verify_query_hmac(params, install.client_secret.expose_secret()) {
        return Err(InstallError::InvalidHmac);
    }
    let timestamp = param(params, "timestamp").ok_or(InstallError::Missing("timestamp"))?;
    let at: i64 = timestamp
        .parse()
        .map_err(|_| InstallError::StaleTimestamp)?;
    let max_age = to_i64(install.app.callback_max_age_secs);
    if (now.timestamp() - at).abs() > max_age {
        return Err(InstallError::StaleTimestamp);
    }
    Ok(())
}

fn to_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// 256 random bits, hex.
fn nonce() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
