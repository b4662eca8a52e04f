//! The client credentials grant's token source: a token cached for its
//! lifetime, renewed `token_refresh_margin` before it expires (or after a
//! 401), one request at a time for every caller, and a refusal remembered
//! for `token_refusal_backoff` instead of asked again.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::grant::{Exchange, Granted, Refusal, exchange};
use super::{AccessKind, AccessState, AccessToken, TokenFuture, TokenSource};
use crate::credentials::ShopCredentials;
use crate::error::AdminError;
use crate::retry::backoff;
use crate::settings::AdminSettings;

/// The documented lifetime, assumed if an answer ever lacks `expires_in`
/// (a 401 still renews the token if it ends sooner).
const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(86_399);

/// The time a token's age is measured in; tests move it forward by a day
/// without waiting for one.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub(crate) struct ClientCredentialsSource {
    shop: String,
    url: String,
    client_id: String,
    client_secret: SecretString,
    http: reqwest::Client,
    settings: AdminSettings,
    clock: Clock,
    slot: Mutex<Slot>,
    /// Held while a token is requested: callers that need one meanwhile
    /// wait for it and take its result (a single flight).
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Slot {
    held: Option<Held>,
    /// Generation of the newest token.
    generation: u64,
    /// The last refusal and until when it is answered without asking.
    refused: Option<(Refusal, Instant)>,
}

struct Held {
    token: AccessToken,
    /// From here on a caller renews it first.
    refresh_at: Instant,
    expires_at: Instant,
    expires_at_utc: chrono::DateTime<Utc>,
}

impl std::fmt::Debug for ClientCredentialsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentialsSource")
            .field("shop", &self.shop)
            .field("client_id", &self.client_id)
            .field("client_secret", &"****")
            .finish_non_exhaustive()
    }
}

impl ClientCredentialsSource {
    pub(crate) fn new(
        settings: &AdminSettings,
        credentials: &ShopCredentials,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<Self, AdminError> {
        let http = crate::client::api_http(settings)?;
        Ok(ClientCredentialsSource {
            shop: credentials.shop_domain.clone(),
            url: credentials.token_url(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.clone(),
            http,
            settings: settings.clone(),
            clock: Arc::new(Instant::now),
            slot: Mutex::new(Slot::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    #[cfg(test)]
    fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> Instant {
        (self.clock)()
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // Never held across an await.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer without a request: a fresh token, or a remembered
    /// refusal.
    fn ready(&self, now: Instant) -> Option<Result<AccessToken, AdminError>> {
        let slot = self.slot();
        if let Some((refusal, until)) = &slot.refused
            && now < *until
        {
            return Some(Err(self.error(refusal)));
        }
        let held = slot.held.as_ref().filter(|h| now < h.refresh_at)?;
        Some(Ok(held.token.clone()))
    }

    async fn get(&self) -> Result<AccessToken, AdminError> {
        if let Some(ready) = self.ready(self.now()) {
            return ready;
        }
        let _turn = self.fetching.lock().await;
        // Whoever held the turn before may have renewed it.
        if let Some(ready) = self.ready(self.now()) {
            return ready;
        }
        let sent_at = self.now();
        match self.fetch().await {
            Ok(granted) => self.keep(granted, sent_at),
            Err(Failed::Refused(refusal)) => Err(self.refused(refusal)),
            Err(Failed::Error(e)) => self.still_valid(e),
        }
    }

    /// Asks the endpoint, retrying transient failures within the call
    /// deadline.
    async fn fetch(&self) -> Result<Granted, Failed> {
        let started = Instant::now();
        let deadline = started + self.settings.deadline;
        let mut attempts = 0_u32;
        loop {
            attempts += 1;
            let answer = exchange(&self.http, &self.url, &self.client_id, &self.client_secret);
            match answer.await {
                Exchange::Granted(g) => return Ok(g),
                Exchange::Refused(r) => return Err(Failed::Refused(r)),
                Exchange::Unexpected(message) => {
                    return Err(Failed::Error(AdminError::decode(
                        "token endpoint answer",
                        message,
                    )));
                }
                Exchange::Transient { cause, wait_hint } => {
                    let s = &self.settings;
                    let pause = backoff(attempts, s.initial_backoff, s.max_backoff, s.jitter)
                        .max(wait_hint.unwrap_or_default());
                    if attempts > s.max_retries || Instant::now() + pause > deadline {
                        return Err(Failed::Error(AdminError::Transient {
                            attempts,
                            elapsed: started.elapsed(),
                            last: cause,
                        }));
                    }
                    tracing::debug!(shop = %self.shop, attempts, cause = %cause, "Retrying the Shopify token request.");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    fn keep(&self, granted: Granted, sent_at: Instant) -> Result<AccessToken, AdminError> {
        let lifetime = granted.lifetime.unwrap_or(DOCUMENTED_LIFETIME);
        let margin = self.settings.token_refresh_margin;
        // Counted from the request, not the answer: Shopify's clock started
        // before the answer arrived.
        let refresh_after = if lifetime > margin * 2 {
            lifetime - margin
        } else {
            lifetime / 2
        };
        let mut slot = self.slot();
        slot.generation += 1;
        let token = AccessToken::new(granted.token.expose_secret(), slot.generation)?;
        let expires_at = sent_at + lifetime;
        let left = expires_at.saturating_duration_since(self.now());
        slot.held = Some(Held {
            token: token.clone(),
            refresh_at: sent_at + refresh_after,
            expires_at,
            expires_at_utc: Utc::now() + chrono::Duration::from_std(left).unwrap_or_default(),
        });
        slot.refused = None;
        tracing::info!(
            shop = %self.shop,
            generation = slot.generation,
            expires_in_secs = lifetime.as_secs(),
            scope = granted.scope.as_deref().unwrap_or_default(),
            "Shopify Admin API token obtained (client credentials)."
        );
        Ok(token)
    }

    fn refused(&self, refusal: Refusal) -> AdminError {
        let error = self.error(&refusal);
        tracing::warn!(
            shop = %self.shop,
            error = %error,
            retry_in_secs = self.settings.token_refusal_backoff.as_secs(),
            "Shopify refused the client credentials; the shop's Admin API calls fail until the configuration is fixed."
        );
        let mut slot = self.slot();
        slot.held = None;
        slot.refused = Some((refusal, self.now() + self.settings.token_refusal_backoff));
        error
    }

    /// A renewal failed for a reason that may pass: the token in hand is
    /// used while it is valid, and renewing waits a little.
    fn still_valid(&self, e: AdminError) -> Result<AccessToken, AdminError> {
        let now = self.now();
        let mut slot = self.slot();
        let Some(held) = slot.held.as_mut().filter(|h| now < h.expires_at) else {
            return Err(e);
        };
        held.refresh_at = now + self.settings.max_backoff;
        tracing::warn!(shop = %self.shop, error = %e, "Renewing the Shopify Admin API token failed; the current token is used while it is valid.");
        Ok(held.token.clone())
    }

    fn error(&self, refusal: &Refusal) -> AdminError {
        let shop = self.shop.clone();
        match refusal {
            Refusal::NotPermitted => AdminError::ShopNotPermitted { shop },
            Refusal::Credentials { status, error } => AdminError::CredentialsRefused {
                shop,
                status: *status,
                error: error.clone(),
            },
        }
    }
}

/// Why a fetch gave no token.
enum Failed {
    Refused(Refusal),
    Error(AdminError),
}

impl TokenSource for ClientCredentialsSource {
    fn kind(&self) -> AccessKind {
        AccessKind::ClientCredentials
    }

    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.get())
    }

    fn rejected(&self, token: &AccessToken) -> bool {
        let mut slot = self.slot();
        if slot
            .held
            .as_ref()
            .is_some_and(|h| h.token.generation() == token.generation())
        {
            slot.held = None;
        }
        true
    }

    fn state(&self) -> AccessState {
        let now = self.now();
        let slot = self.slot();
        AccessState {
            kind: AccessKind::ClientCredentials,
            expires_at: slot
                .held
                .as_ref()
                .filter(|h| now < h.expires_at)
                .map(|h| h.expires_at_utc),
            refused: slot
                .refused
                .as_ref()
                .filter(|(_, until)| now < *until)
                .map(|(r, _)| self.error(r).to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
