//! The authorization code grant's token source: the shop's expiring offline token read from a
//! [`TokenVault`] (the store, sealed; implemented where the store is visible), refreshed
//! [`OAUTH_REFRESH_MARGIN`] before it expires or after a 401. One refresh at a time per shop:
//! in this process behind a mutex, across processes behind the vault's lease; the rotated
//! refresh token is written with the new access token by one compare-and-swap, and a process
//! that loses re-reads the winner's pair. A refusal marks the shop in the vault and is
//! remembered for `token_refusal_backoff`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::pair::{GrantedPair, PairError, refresh_pair};
use super::{AccessKind, AccessState, AccessToken, TokenFuture, TokenSource};
use crate::error::AdminError;
use crate::settings::AdminSettings;

/// Shopify's access tokens live 60 minutes; a new one is fetched when 5 are left.
pub const OAUTH_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How long a process may hold the refresh lease (a refresh is one request with retries).
const LEASE: Duration = Duration::from_secs(60);
/// How often a process waiting for another's refresh re-reads the vault.
const LEASE_POLL: Duration = Duration::from_millis(200);

/// A boxed vault future; errors are descriptions without any secret.
pub type VaultFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// One shop's stored pair and the generation it was read at.
#[derive(Clone)]
pub struct VaultEntry {
    pub generation: i64,
    pub access_token: SecretString,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<SecretString>,
}

/// What the vault holds for the shop.
#[derive(Clone)]
pub enum VaultRead {
    Connected(VaultEntry),
    /// Marked refused, with the reason.
    Refused(String),
    Uninstalled,
    /// Never installed.
    Missing,
}

/// Where one shop's OAuth tokens are kept (the store, sealed). Implemented outside this crate.
pub trait TokenVault: fmt::Debug + Send + Sync {
    fn read(&self) -> VaultFuture<'_, VaultRead>;
    /// Takes the refresh lease for the pair at `generation`; `false` while another holds it or
    /// when the pair changed.
    fn lease(&self, generation: i64, for_how_long: Duration) -> VaultFuture<'_, bool>;
    /// Writes the refreshed pair if the row is still at `generation`; `None` if it moved on.
    fn replace(&self, generation: i64, pair: GrantedPair) -> VaultFuture<'_, Option<i64>>;
    /// Ends this process's lease without a new pair.
    fn release(&self) -> VaultFuture<'_, ()>;
    /// Marks the pair at `generation` refused.
    fn refuse(&self, generation: i64, reason: String) -> VaultFuture<'_, bool>;
}

/// The app's client, which refreshes every shop's pair.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"****")
            .finish()
    }
}

pub struct OAuthSource {
    shop: String,
    token_url: String,
    app: OAuthApp,
    http: reqwest::Client,
    settings: AdminSettings,
    vault: Box<dyn TokenVault>,
    slot: Mutex<Slot>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Slot {
    held: Option<(AccessToken, Option<DateTime<Utc>>)>,
    /// A generation the Admin API answered 401 for: refreshed even if it looks fresh.
    rejected: Option<i64>,
    refused: Option<(String, Instant)>,
}

impl fmt::Debug for OAuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSource")
            .field("shop", &self.shop)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

enum Step {
    Done(Result<AccessToken, AdminError>),
    /// Another process is refreshing, or won: read again.
    ReadAgain,
}

impl OAuthSource {
    /// `token_url` is `{base}/admin/oauth/access_token` of the shop.
    pub fn new(
        settings: &AdminSettings,
        shop: &str,
        token_url: &str,
        app: OAuthApp,
        vault: Box<dyn TokenVault>,
    ) -> Result<Self, AdminError> {
        Ok(OAuthSource {
            shop: shop.to_owned(),
            token_url: token_url.to_owned(),
            app,
            http: crate::client::api_http(settings)?,
            settings: settings.clone(),
            vault,
            slot: Mutex::new(Slot::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ready(&self) -> Option<Result<AccessToken, AdminError>> {
        let slot = self.slot();
        if let Some((reason, until)) = &slot.refused
            && Instant::now() < *until
        {
            return Some(Err(self.not_connected(reason)));
        }
        let (token, expires) = slot.held.as_ref()?;
        fresh(*expires).then(|| Ok(token.clone()))
    }

    async fn get(&self) -> Result<AccessToken, AdminError> {
        if let Some(ready) = self.ready() {
            return ready;
        }
        let _turn = self.fetching.lock().await;
        if let Some(ready) = self.ready() {
            return ready;
        }
        let waited_since = Instant::now();
        loop {
            match self.step().await {
                Step::Done(result) => return result,
                Step::ReadAgain if waited_since.elapsed() > LEASE * 2 => {
                    return Err(self.vault_error("another process held the refresh too long"));
                }
                // Across processes there is no event to wait on: the vault is polled.
                Step::ReadAgain => tokio::time::sleep(LEASE_POLL).await,
            }
        }
    }

    async fn step(&self) -> Step {
        let read = match self.vault.read().await {
            Ok(r) => r,
            Err(e) => return Step::Done(Err(self.vault_error(&e))),
        };
        let entry = match read {
            VaultRead::Connected(entry) => entry,
            VaultRead::Refused(reason) => {
                return Step::Done(Err(self.remember_refusal(format!("refused: {reason}"))));
            }
            VaultRead::Uninstalled => return Step::Done(Err(self.not_connected("uninstalled"))),
            VaultRead::Missing => return Step::Done(Err(self.not_connected("not installed"))),
        };
        let rejected = self.slot().rejected == Some(entry.generation);
        if !rejected && fresh(entry.access_expires_at) {
            return Step::Done(self.keep(&entry));
        }
        let Some(refresh_token) = entry.refresh_token.clone() else {
            // A non-expiring token cannot be refreshed: a 401 means it was revoked.
            return Step::Done(if rejected {
                Err(self.not_connected("token revoked"))
            } else {
                self.keep(&entry)
            });
        };
        match self.vault.lease(entry.generation, LEASE).await {
            Ok(true) => Step::Done(self.refresh(&entry, &refresh_token).await),
            Ok(false) => Step::ReadAgain,
            Err(e) => Step::Done(Err(self.vault_error(&e))),
        }
    }

    async fn refresh(
        &self,
        entry: &VaultEntry,
        refresh_token: &SecretString,
    ) -> Result<AccessToken, AdminError> {
        let answer = refresh_pair(
            &self.settings,
            &self.http,
            &self.token_url,
            &self.app.client_id,
            &self.app.client_secret,
            refresh_token,
        )
        .await;
        match answer {
            Ok(pair) => self.store(entry, pair).await,
            Err(PairError::Refused { status, error }) => {
                let reason = PairError::Refused { status, error }.reason();
                if let Err(e) = self.vault.refuse(entry.generation, reason.clone()).await {
                    tracing::warn!(shop = %self.shop, error = %e, "Could not mark the shop's OAuth tokens refused.");
                }
                tracing::warn!(shop = %self.shop, reason = %reason, "Shopify refused the shop's refresh token; the shop must install the app again.");
                Err(self.remember_refusal(format!("refused: {reason}")))
            }
            Err(PairError::Failed(e)) => {
                if let Err(e) = self.vault.release().await {
                    tracing::debug!(shop = %self.shop, error = %e, "Releasing the refresh lease failed; it runs out.");
                }
                tracing::warn!(shop = %self.shop, error = %e, "Refreshing the shop's OAuth token failed; the current token is used while it is valid.");
                match entry.access_expires_at {
                    Some(at) if Utc::now() < at => self.keep(entry),
                    _ => Err(e),
                }
            }
        }
    }

    async fn store(
        &self,
        entry: &VaultEntry,
        pair: GrantedPair,
    ) -> Result<AccessToken, AdminError> {
        let expires = pair.access_expires_at;
        let access = pair.access_token.clone();
        match self.vault.replace(entry.generation, pair).await {
            Ok(Some(generation)) => {
                tracing::info!(shop = %self.shop, generation, "Shopify OAuth token refreshed (refresh token rotated).");
                self.hold(&access, expires, generation)
            }
            // Lost the row (the lease ran out and another process refreshed): the pair just
            // obtained is dropped; the winner's is read next time.
            Ok(None) => Err(self.vault_error("the refreshed pair lost a race and was discarded")),
            Err(e) => Err(self.vault_error(&e)),
        }
    }

    fn keep(&self, entry: &VaultEntry) -> Result<AccessToken, AdminError> {
        self.hold(
            &entry.access_token,
            entry.access_expires_at,
            entry.generation,
        )
    }

    fn hold(
        &self,
        access: &SecretString,
        expires: Option<DateTime<Utc>>,
        generation: i64,
    ) -> Result<AccessToken, AdminError> {
        let token = AccessToken::new(
            access.expose_secret(),
            u64::try_from(generation).unwrap_or(0),
        )?;
        let mut slot = self.slot();
        slot.held = Some((token.clone(), expires));
        slot.refused = None;
        Ok(token)
    }

    fn remember_refusal(&self, reason: String) -> AdminError {
        let error = self.not_connected(&reason);
        let mut slot = self.slot();
        slot.held = None;
        slot.refused = Some((reason, Instant::now() + self.settings.token_refusal_backoff));
        error
    }

    fn not_connected(&self, reason: &str) -> AdminError {
        AdminError::NotConnected {
            shop: self.shop.clone(),
            reason: reason.to_owned(),
        }
    }

    fn vault_error(&self, detail: &str) -> AdminError {
        AdminError::Vault {
            shop: self.shop.clone(),
            detail: detail.to_owned(),
        }
    }
}

/// Whether a token expiring at `expires` is still good for more than the margin.
fn fresh(expires: Option<DateTime<Utc>>) -> bool {
    let margin = chrono::Duration::from_std(OAUTH_REFRESH_MARGIN).unwrap_or_default();
    expires.is_none_or(|at| Utc::now() + margin < at)
}

impl TokenSource for OAuthSource {
    fn kind(&self) -> AccessKind {
        AccessKind::OAuth
    }

    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.get())
    }

    fn rejected(&self, token: &AccessToken) -> bool {
        let mut slot = self.slot();
        if slot
            .held
            .as_ref()
            .is_some_and(|(t, _)| t.generation() == token.generation())
        {
            slot.held = None;
        }
        slot.rejected = i64::try_from(token.generation()).ok();
        true
    }

    fn state(&self) -> AccessState {
        let slot = self.slot();
        AccessState {
            kind: AccessKind::OAuth,
            expires_at: slot.held.as_ref().and_then(|(_, e)| *e),
            refused: slot
                .refused
                .as_ref()
                .filter(|(_, until)| Instant::now() < *until)
                .map(|(r, _)| r.clone()),
        }
    }
}
