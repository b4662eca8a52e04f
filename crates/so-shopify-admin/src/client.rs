//! The GraphQL client: one call = budget wait, send, classify, and maybe
//! wait and send again, all within one deadline.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::access::{AccessToken, AdminAccess};
use crate::budget::{Bucket, BudgetStats, MAX_QUERY_COST, QueryCost, estimate_key};
use crate::credentials::ShopCredentials;
use crate::error::{AdminError, TransientCause};
use crate::retry::{Envelope, StatusClass, backoff, classify_status, retry_after};
use crate::settings::AdminSettings;

/// Header carrying the access token.
pub const ACCESS_TOKEN_HEADER: &str = "x-shopify-access-token";

/// A successful call: the typed `data` and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    pub data: T,
    /// `extensions.cost`, when Shopify sent it (always, in practice).
    pub cost: Option<QueryCost>,
    /// `extensions.search` warnings (ignored search terms), if any.
    pub search_warnings: Option<Value>,
}

/// GraphQL Admin API client for one shop. Cheap to clone; clones share the
/// connection pool, the bucket model and the token source, so every task of
/// the process that talks to this shop should use clones of one client.
#[derive(Debug, Clone)]
pub struct AdminClient {
    pub(crate) http: reqwest::Client,
    /// For bulk result files: no whole-request timeout, only per read.
    pub(crate) download: reqwest::Client,
    endpoint: String,
    access: AdminAccess,
    pub(crate) settings: AdminSettings,
    bucket: Arc<Mutex<Bucket>>,
}

/// How one attempt ended.
enum Attempt {
    Done(Result<Envelope, AdminError>),
    Throttled {
        wait_hint: Option<Duration>,
    },
    Transient(TransientCause),
    /// 401: the token is not (or no longer) valid.
    Unauthorized(AdminError),
}

/// The HTTP client for Shopify's API calls (GraphQL and the token
/// endpoint): whole-request timeout, and no redirects, since a redirect (a
/// custom domain, a login page) would turn a POST into a GET; it is
/// surfaced instead.
pub(crate) fn api_http(settings: &AdminSettings) -> Result<reqwest::Client, AdminError> {
    reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopify-ometria/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(AdminError::Build)
}

impl AdminClient {
    /// Validates settings and credentials and builds the client with a
    /// token source of its own.
    pub fn new(
        settings: &AdminSettings,
        credentials: &ShopCredentials,
    ) -> Result<Self, AdminError> {
        settings.validate().map_err(AdminError::Settings)?;
        Self::with_access(settings, AdminAccess::new(settings, credentials)?)
    }

    /// A client on a token source shared with other clients of the shop
    /// (one token, one refresh for all).
    pub fn with_access(settings: &AdminSettings, access: AdminAccess) -> Result<Self, AdminError> {
        settings.validate().map_err(AdminError::Settings)?;
        let user_agent = concat!("shopify-ometria/", env!("CARGO_PKG_VERSION"));
        let http = api_http(settings)?;
        let download = reqwest::Client::builder()
            .connect_timeout(settings.request_timeout)
            .read_timeout(settings.request_timeout)
            .user_agent(user_agent)
            .build()
            .map_err(AdminError::Build)?;
        Ok(AdminClient {
            http,
            download,
            endpoint: access.endpoint(&settings.api_version),
            access,
            settings: settings.clone(),
            bucket: Arc::new(Mutex::new(Bucket::default())),
        })
    }

    /// `{name}.myshopify.com`.
    pub fn shop_domain(&self) -> &str {
        self.access.shop_domain()
    }

    /// The shop's token source, to build further clients on.
    pub fn access(&self) -> &AdminAccess {
        &self.access
    }

    /// The GraphQL URL, version included.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Cost-budget figures since the client was built (shared by clones).
    pub fn budget(&self) -> BudgetStats {
        self.lock().stats
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        // Never held across an await; a panic elsewhere leaves the model usable.
        self.bucket.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `query` with `variables` and decodes `data` as `T`. The cost is
    /// estimated from what the same document (and `first`) requested last
    /// time, or assumed to be the 1000-point maximum.
    pub async fn query<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Response<T>, AdminError> {
        self.run(query, variables, None).await
    }

    /// [`AdminClient::query`] with a known cost estimate, for documents whose
    /// cost the caller computed (see [`crate::connection_cost`]).
    pub async fn query_with_cost<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        estimated_cost: u64,
    ) -> Result<Response<T>, AdminError> {
        self.run(query, variables, Some(estimated_cost)).await
    }

    async fn run<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        explicit: Option<u64>,
    ) -> Result<Response<T>, AdminError> {
        let key = estimate_key(query, &variables);
        let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
            .map_err(|e| AdminError::decode("request", e))?;
        let started = Instant::now();
        let deadline = started + self.settings.deadline;
        let (mut attempts, mut retries, mut throttled) = (0_u32, 0_u32, 0_u32);
        let mut waited = Duration::ZERO;
        let mut renewed = false;
        loop {
            let token = self.access.token().await?;
            // What the server last requested for this document beats the
            // caller's estimate, which beats the worst case.
            let estimate = self
                .lock()
                .learned(key)
                .or(explicit)
                .unwrap_or(MAX_QUERY_COST);
            // Wait until the model has the points.
            loop {
                let now = Instant::now();
                let outcome = self
                    .lock()
                    .try_reserve(estimate, self.settings.min_available, now);
                let Err(wait) = outcome else { break };
                if now + wait.duration > deadline {
                    return Err(AdminError::ThrottledTooLong { waited, throttled });
                }
                {
                    let mut b = self.lock();
                    b.stats.points_waited_for += wait.deficit;
                    b.stats.budget_wait += wait.duration;
                }
                waited += wait.duration;
                tracing::debug!(shop = %self.shop_domain(), wait_ms = wait.duration.as_millis() as u64, "Waiting for GraphQL cost budget.");
                tokio::time::sleep(wait.duration).await;
            }
            attempts += 1;
            self.lock().stats.requests += 1;
            match self.attempt(&body, key, estimate, &token).await {
                Attempt::Done(Err(e)) => return Err(e),
                Attempt::Unauthorized(e) => {
                    // Once per call: a token refused right after renewal is
                    // not a matter of age.
                    if renewed || !self.access.rejected(&token) {
                        return Err(e);
                    }
                    renewed = true;
                    tracing::info!(shop = %self.shop_domain(), "Shopify refused the Admin API token (HTTP 401); renewing it.");
                }
                Attempt::Done(Ok(envelope)) => {
                    return self.finish(envelope);
                }
                Attempt::Throttled { wait_hint } => {
                    throttled += 1;
                    self.lock().stats.throttled += 1;
                    tracing::debug!(shop = %self.shop_domain(), throttled, "Shopify answered THROTTLED.");
                    // With a bucket report the model now knows the deficit
                    // and the next reservation waits for it; without one,
                    // pause as told (or a second).
                    if let Some(pause) = wait_hint {
                        if Instant::now() + pause > deadline {
                            return Err(AdminError::ThrottledTooLong { waited, throttled });
                        }
                        self.lock().stats.budget_wait += pause;
                        waited += pause;
                        tokio::time::sleep(pause).await;
                    }
                }
                Attempt::Transient(cause) => {
                    retries += 1;
                    let pause = backoff(
                        retries,
                        self.settings.initial_backoff,
                        self.settings.max_backoff,
                        self.settings.jitter,
                    );
                    if retries > self.settings.max_retries || Instant::now() + pause > deadline {
                        return Err(AdminError::Transient {
                            attempts,
                            elapsed: started.elapsed(),
                            last: cause,
                        });
                    }
                    self.lock().stats.retries += 1;
                    tracing::debug!(shop = %self.shop_domain(), retries, cause = %cause, "Retrying Shopify call.");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn attempt(&self, body: &[u8], key: u64, reserved: u64, token: &AccessToken) -> Attempt {
        let sent = self
            .http
            .post(&self.endpoint)
            .header(ACCESS_TOKEN_HEADER, token.header())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.lock().release(reserved);
                return Attempt::Transient(transient(e));
            }
        };
        let status = response.status().as_u16();
        let hint = retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.lock().release(reserved);
                return Attempt::Transient(transient(e));
            }
        };
        let envelope = Envelope::parse(&bytes);
        {
            let mut b = self.lock();
            match envelope.cost {
                Some(cost) => {
                    b.observe(reserved, cost.throttle_status, Instant::now());
                    // Throttled answers report the requested cost too: the
                    // retry then waits for the right amount.
                    if let Some(requested) = cost.requested_query_cost {
                        b.learn(key, requested.ceil() as u64);
                    }
                }
                None => b.release(reserved),
            }
        }
        let class = classify_status(status);
        if class == StatusClass::Throttled
            || (class == StatusClass::Success && envelope.throttled())
        {
            let wait_hint = match envelope.cost {
                Some(_) => None,
                None => Some(hint.unwrap_or(Duration::from_secs(1))),
            };
            return Attempt::Throttled { wait_hint };
        }
        match class {
            StatusClass::Transient => Attempt::Transient(TransientCause::Status(status)),
            StatusClass::Permanent | StatusClass::Throttled => {
                let message = envelope
                    .error_text
                    .or_else(|| envelope.errors.first().map(|e| e.message.clone()))
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
                let error = AdminError::Permanent { status, message };
                if status == 401 {
                    Attempt::Unauthorized(error)
                } else {
                    Attempt::Done(Err(error))
                }
            }
            StatusClass::Success => Attempt::Done(Ok(envelope)),
        }
    }

    fn finish<T: DeserializeOwned>(&self, envelope: Envelope) -> Result<Response<T>, AdminError> {
        if !envelope.errors.is_empty() {
            return Err(AdminError::GraphQl(envelope.errors));
        }
        let Some(data) = envelope.data else {
            return Err(AdminError::decode(
                "GraphQL answer",
                envelope
                    .error_text
                    .unwrap_or_else(|| "no data and no errors".to_owned()),
            ));
        };
        {
            let mut b = self.lock();
            b.stats.succeeded += 1;
            if let Some(cost) = envelope.cost {
                if let Some(requested) = cost.requested_query_cost {
                    b.stats.points_requested += requested.ceil() as u64;
                }
                if let Some(actual) = cost.actual_query_cost {
                    b.stats.points_used += actual.ceil() as u64;
                }
            }
        }
        let search_warnings = envelope.search;
        let data =
            serde_json::from_value(data).map_err(|e| AdminError::decode("GraphQL data", e))?;
        Ok(Response {
            data,
            cost: envelope.cost,
            search_warnings,
        })
    }
}

fn transient(e: reqwest::Error) -> TransientCause {
    if e.is_timeout() {
        TransientCause::Timeout(e)
    } else {
        TransientCause::Transport(e)
    }
}
