//! Where the Admin API access token of a shop comes from.
//!
//! [`AdminAccess`] is one shop's token source behind a cheap handle:
//! [`AdminClient`](crate::AdminClient)s built on clones of it share one
//! token, one refresh and one memory of a refusal. Each kind of grant is a
//! [`TokenSource`]: the legacy static token, the client credentials grant
//! (`client_credentials.rs`), and later the OAuth kinds, whose refresh
//! tokens must be stored by a crate that has the store; the trait is public
//! so such a source can live there.

mod client_credentials;
mod grant;
mod oauth;
mod pair;

pub use oauth::{
    OAUTH_REFRESH_MARGIN, OAuthApp, OAuthSource, TokenVault, VaultEntry, VaultFuture, VaultRead,
};
pub use pair::{GrantedPair, PairError, exchange_code, refresh_pair};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;

use crate::credentials::{Grant, ShopCredentials, graphql_endpoint};
use crate::error::AdminError;
use crate::settings::AdminSettings;

pub(crate) use client_credentials::ClientCredentialsSource;

/// A boxed future, so [`TokenSource`] stays object-safe.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AdminError>> + Send + 'a>>;

/// One way of obtaining a shop's access token.
pub trait TokenSource: fmt::Debug + Send + Sync {
    /// Which grant this is.
    fn kind(&self) -> AccessKind;
    /// A token to send now: the cached one while it is fresh, else a new
    /// one. Concurrent callers needing a new one share a single request.
    fn token(&self) -> TokenFuture<'_>;
    /// The Admin API answered 401 to `token`: forget it if it is still the
    /// current one. `true` when asking [`TokenSource::token`] again may give
    /// a different token (a static token cannot change).
    fn rejected(&self, token: &AccessToken) -> bool;
    /// What the source knows now, for status displays.
    fn state(&self) -> AccessState;
}

/// The kinds of grant (`shopify-apps.md` §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// A legacy admin-created custom app's `shpat_` token.
    StaticToken,
    /// A Dev Dashboard app of the store's own organization.
    ClientCredentials,
    /// An app installed from a link (authorization code grant), with an
    /// expiring offline token and a rotating refresh token in the store.
    OAuth,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::StaticToken => "static_token",
            AccessKind::ClientCredentials => "client_credentials",
            AccessKind::OAuth => "oauth",
        }
    }
}

/// A token source's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessState {
    pub kind: AccessKind,
    /// When the token in hand expires; `None` for none in hand or a token
    /// that never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The last refusal of the token endpoint, while it is remembered.
    pub refused: Option<String>,
}

/// An access token as the client sends it. `Debug` shows only its
/// generation, never the value.
#[derive(Clone)]
pub struct AccessToken {
    value: HeaderValue,
    generation: u64,
}

impl AccessToken {
    /// `generation` tells tokens of one source apart: a 401 for an older
    /// generation does not discard a newer token.
    pub fn new(value: &str, generation: u64) -> Result<Self, AdminError> {
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| AdminError::Settings("access token is not visible ASCII".to_owned()))?;
        value.set_sensitive(true);
        Ok(AccessToken { value, generation })
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn header(&self) -> HeaderValue {
        self.value.clone()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken(generation {}, ****)", self.generation)
    }
}

/// One shop's Admin API access: its address and its token source. Cheap to
/// clone; clones share the source.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    shop_domain: String,
    base: String,
    source: Arc<dyn TokenSource>,
}

impl AdminAccess {
    /// The source `credentials` call for, checked before any request.
    pub fn new(
        settings: &AdminSettings,
        credentials: &ShopCredentials,
    ) -> Result<Self, AdminError> {
        credentials.validate().map_err(AdminError::Settings)?;
        let source: Arc<dyn TokenSource> = match &credentials.grant {
            Grant::StaticToken(token) => {
                Arc::new(StaticToken(AccessToken::new(token.expose_secret(), 0)?))
            }
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => Arc::new(ClientCredentialsSource::new(
                settings,
                credentials,
                client_id,
                client_secret,
            )?),
        };
        Ok(Self::from_source(
            &credentials.shop_domain,
            &credentials.base(),
            source,
        ))
    }

    /// Any source, for kinds defined outside this crate.
    pub fn from_source(shop_domain: &str, base: &str, source: Arc<dyn TokenSource>) -> Self {
        AdminAccess {
            shop_domain: shop_domain.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            source,
        }
    }

    /// `{name}.myshopify.com`.
    pub fn shop_domain(&self) -> &str {
        &self.shop_domain
    }

    /// `{base}/admin/api/{version}/graphql.json`.
    pub fn endpoint(&self, api_version: &str) -> String {
        graphql_endpoint(&self.base, api_version)
    }

    pub fn kind(&self) -> AccessKind {
        self.source.kind()
    }

    pub fn state(&self) -> AccessState {
        self.source.state()
    }

    /// See [`TokenSource::token`].
    pub async fn token(&self) -> Result<AccessToken, AdminError> {
        self.source.token().await
    }

    /// See [`TokenSource::rejected`].
    pub fn rejected(&self, token: &AccessToken) -> bool {
        self.source.rejected(token)
    }
}

/// The legacy static token: always the same, never refreshed.
#[derive(Debug)]
struct StaticToken(AccessToken);

impl TokenSource for StaticToken {
    fn kind(&self) -> AccessKind {
        AccessKind::StaticToken
    }

    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn rejected(&self, _: &AccessToken) -> bool {
        false
    }

    fn state(&self) -> AccessState {
        AccessState {
            kind: AccessKind::StaticToken,
            expires_at: None,
            refused: None,
        }
    }
}
