//! The typed Data API client.

mod gdpr;
mod merge;
mod read;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret;
use so_domain::Disposition;
use so_domain::ometria::{MAX_RECORDS_PER_REQUEST, PushRecord, RecordType};

use crate::batch::{BatchPlan, Coalescing, plan_batches_with};
use crate::error::{Error, InvalidRequest};
use crate::limiter::RateLimiter;
use crate::retry::RetryPolicy;
use crate::settings::{OmetriaSettings, SettingsError};
use crate::wire::{self, AUTH_HEADER, PushError, PushResponse, QueueStatus, RawPushError};

pub use gdpr::{ErasureError, ErasureRequest};
pub use read::{MarketingOptin, Profile, ProfileIdentity, Unsubscribe};

/// Ometria Data API client. Cheap to clone; clones share one connection pool
/// and one [`RateLimiter`], so the request budget is per process, not per task.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    push_url: String,
    errors_url: String,
    merge_url: String,
    /// `api_url`, for the endpoints built per call (path segments encoded).
    base: reqwest::Url,
    /// Marked sensitive, so `Debug` prints `Sensitive` rather than the key.
    auth: HeaderValue,
    limiter: RateLimiter,
    /// `POST /v2/merge-profile` has its own budget: one request per minute.
    merge_limiter: RateLimiter,
    /// `POST /v2/data-deletion-requests` has its own budget too (GDPR API).
    erasure_limiter: RateLimiter,
    policy: RetryPolicy,
    batch_max_records: usize,
    rate_limit_pause: Duration,
}

/// What Ometria said about one accepted push request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// Ometria's id for the request (for support and `_errors` correlation).
    pub request_id: String,
    /// `"OK"` in practice; `"ERROR"` has been seen in third-party models.
    pub status: String,
    /// Records queued by Ometria. They are validated later: see
    /// [`Client::push_errors`].
    pub accepted: u32,
    /// Records refused at once (e.g. too large). Their reasons are in `_errors`.
    pub rejected: u32,
    /// Records in the request.
    pub records_sent: usize,
    /// Backlog headers of the final response.
    pub queue: Option<QueueStatus>,
    /// Time spent waiting on the client-side rate limiter, over all attempts.
    pub rate_limit_wait: Duration,
    /// HTTP attempts made (1 for [`Client::push`]).
    pub attempts: u32,
}

impl PushOutcome {
    /// True when Ometria took every record in the request.
    pub fn all_accepted(&self) -> bool {
        self.status == "OK" && self.rejected == 0
    }
}

/// Why a merge-profile request was not made or not accepted.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The lane's one request per minute is taken; free again after this.
    #[error("merge-profile allows one request per minute; next slot in {0:?}")]
    Busy(Duration),
    #[error("merge-profile failed")]
    Failed(#[source] Error),
}

/// A push that did not succeed within the in-process retry budget.
#[derive(Debug, thiserror::Error)]
#[error("push to Ometria failed after {attempts} attempt(s)")]
pub struct PushFailure {
    /// The final attempt's error.
    #[source]
    pub error: Error,
    /// HTTP attempts made (0 when the request was refused locally).
    pub attempts: u32,
    /// What the worker should do: re-queue to a broker retry tier, or
    /// dead-letter.
    pub disposition: Disposition,
    /// Time spent waiting on the client-side rate limiter.
    pub rate_limit_wait: Duration,
}

impl Client {
    /// Validates the settings and builds the client. Fails without an API key.
    pub fn new(settings: &OmetriaSettings) -> Result<Self, Error> {
        settings.validate().map_err(Error::Settings)?;
        let key = settings.api_key.as_ref().ok_or(Error::MissingApiKey)?;
        let mut auth = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
            Error::Settings(SettingsError {
                key: "ometria.api_key",
                rule: "visible ASCII".to_owned(),
            })
        })?;
        auth.set_sensitive(true);

        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            // Ometria does not redirect; following one would turn a POST into
            // a GET. A 3xx is surfaced and classified as misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shopify-ometria/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Build)?;
        let base = settings.api_url.trim_end_matches('/');
        let base_url = reqwest::Url::parse(base).map_err(|_| {
            Error::Settings(SettingsError {
                key: "ometria.api_url",
                rule: "an absolute http(s) URL".to_owned(),
            })
        })?;
        Ok(Client {
            http,
            push_url: format!("{base}/v2/push"),
            errors_url: format!("{base}/v2/push/_errors"),
            merge_url: format!("{base}/v2/merge-profile"),
            base: base_url,
            auth,
            limiter: RateLimiter::new(settings.requests_per_second, settings.queue_low_watermark),
            merge_limiter: RateLimiter::new(settings.merge_requests_per_minute / 60.0, 0),
            erasure_limiter: RateLimiter::new(settings.gdpr_requests_per_minute / 60.0, 0),
            policy: RetryPolicy::from_settings(&settings.retry),
            batch_max_records: settings.batch_max_records,
            rate_limit_pause: settings.rate_limit_pause,
        })
    }

    /// Replaces the retry schedule (e.g. without jitter in tests).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// A 429 is returned at once instead of retried in-process (see
    /// [`RetryPolicy::handing_off_rate_limits`]).
    pub fn handing_off_rate_limits(mut self) -> Self {
        self.policy = self.policy.handing_off_rate_limits();
        self
    }

    /// The limiter shared by all clones, for metrics and tests.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The GDPR lane's limiter (`POST /v2/data-deletion-requests`), shared
    /// by all clones.
    pub fn erasure_rate_limiter(&self) -> &RateLimiter {
        &self.erasure_limiter
    }

    /// [`crate::plan_batches`] with the configured `batch_max_records`.
    pub fn plan_batches(&self, records: Vec<PushRecord>) -> BatchPlan {
        self.plan_batches_with(records, Coalescing::ByKey)
    }

    /// [`crate::plan_batches_with`] with the configured `batch_max_records`.
    pub fn plan_batches_with(&self, records: Vec<PushRecord>, coalescing: Coalescing) -> BatchPlan {
        plan_batches_with(records, self.batch_max_records, coalescing)
    }

    /// One `POST /v2/push` attempt, no retries.
    pub async fn push(
        &self,
        record_type: RecordType,
        records: &[PushRecord],
    ) -> Result<PushOutcome, Error> {
        let body = encode(record_type, records)?;
        let (waited, result) = self.attempt(record_type, &body, records.len()).await;
        result.map(|o| PushOutcome {
            rate_limit_wait: waited,
            ..o
        })
    }

    /// Pushes with short in-process retries for transient failures. The
    /// failure carries the classified [`Disposition`] so the caller can hand
    /// longer waits to broker retry tiers or dead-letter at once.
    pub async fn push_with_retry(
        &self,
        record_type: RecordType,
        records: &[PushRecord],
    ) -> Result<PushOutcome, PushFailure> {
        self.push_with_retry_from(record_type, records, false).await
    }

    /// [`Client::push_with_retry`] for a caller that already waited on
    /// [`RateLimiter::acquire`] for the first attempt (it chose the records
    /// after the wait, so that they fill the request); retries wait again.
    pub async fn push_with_retry_permitted(
        &self,
        record_type: RecordType,
        records: &[PushRecord],
    ) -> Result<PushOutcome, PushFailure> {
        self.push_with_retry_from(record_type, records, true).await
    }

    async fn push_with_retry_from(
        &self,
        record_type: RecordType,
        records: &[PushRecord],
        first_permitted: bool,
    ) -> Result<PushOutcome, PushFailure> {
        let body = encode(record_type, records).map_err(|error| PushFailure {
            disposition: error.disposition(),
            error,
            attempts: 0,
            rate_limit_wait: Duration::ZERO,
        })?;
        let waited_nanos = AtomicU64::new(0);
        let attempted = self
            .policy
            .run(|attempt| {
                let (body, waited_nanos) = (&body, &waited_nanos);
                async move {
                    if attempt == 1 && first_permitted {
                        return self.send_push(record_type, body, records.len()).await;
                    }
                    let (waited, result) = self.attempt(record_type, body, records.len()).await;
                    waited_nanos.fetch_add(nanos(waited), Ordering::Relaxed);
                    result
                }
            })
            .await;
        let rate_limit_wait = Duration::from_nanos(waited_nanos.load(Ordering::Relaxed));
        let attempts = attempted.attempts;
        match attempted.result {
            Ok(outcome) => Ok(PushOutcome {
                attempts,
                rate_limit_wait,
                ..outcome
            }),
            Err(error) => {
                let disposition = error.disposition();
                tracing::debug!(
                    record_type = record_type.as_str(),
                    records = records.len(),
                    attempts,
                    reason = error.verdict().reason().as_str(),
                    "Ometria push gave up."
                );
                Err(PushFailure {
                    error,
                    attempts,
                    disposition,
                    rate_limit_wait,
                })
            }
        }
    }

    /// `GET /v2/push/_errors`: the 100 most recent asynchronous validation
    /// errors for the account.
    pub async fn push_errors(&self) -> Result<Vec<PushError>, Error> {
        self.limiter.acquire().await;
        self.fetch_push_errors().await
    }

    /// [`Client::push_errors`] for a background reader: it yields the
    /// account's budget to pushes and waits for a slot no push has booked,
    /// but no longer than `at_most` ([`RateLimiter::acquire_yielding`]).
    pub async fn push_errors_yielding(&self, at_most: Duration) -> Result<Vec<PushError>, Error> {
        self.limiter.acquire_yielding(at_most).await;
        self.fetch_push_errors().await
    }

    async fn fetch_push_errors(&self) -> Result<Vec<PushError>, Error> {
        let response = self
            .get(self.errors_url.clone())
            .send()
            .await
            .map_err(Error::from_send)?;
        let response = self.check_status(response, &self.limiter).await?;
        let raw: Vec<RawPushError> = response.json().await.map_err(Error::from_body)?;
        Ok(raw.into_iter().map(PushError::from).collect())
    }

    /// `api_url` plus these path segments, each percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One `GET` on the push lane's budget (Ometria's limit is per account):
    /// waits on the limiter, then any non-2xx is an error.
    async fn read(&self, url: reqwest::Url) -> Result<reqwest::Response, Error> {
        let response = self.send_read(url).await?;
        self.check_status(response, &self.limiter).await
    }

    /// [`Client::read`] where a 404 means "no such thing": `None`.
    async fn read_or_absent(&self, url: reqwest::Url) -> Result<Option<reqwest::Response>, Error> {
        let response = self.send_read(url).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.check_status(response, &self.limiter).await.map(Some)
    }

    async fn send_read(&self, url: reqwest::Url) -> Result<reqwest::Response, Error> {
        self.limiter.acquire().await;
        self.get(url).send().await.map_err(Error::from_send)
    }

    /// An authenticated `GET` asking for JSON; pacing is the caller's.
    fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .header(AUTH_HEADER, self.auth.clone())
            .header(ACCEPT, "application/json")
    }

    /// An authenticated JSON `POST` of `body`; pacing is the caller's.
    fn post_json(&self, url: impl reqwest::IntoUrl, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .header(AUTH_HEADER, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
    }

    async fn attempt(
        &self,
        record_type: RecordType,
        body: &[u8],
        count: usize,
    ) -> (Duration, Result<PushOutcome, Error>) {
        let waited = self.limiter.acquire().await;
        (waited, self.send_push(record_type, body, count).await)
    }

    async fn send_push(
        &self,
        record_type: RecordType,
        body: &[u8],
        count: usize,
    ) -> Result<PushOutcome, Error> {
        let response = self
            .post_json(self.push_url.clone(), body.to_vec())
            .send()
            .await
            .map_err(Error::from_send)?;
        let queue = QueueStatus::from_headers(response.headers());
        if let Some(remaining) = queue.and_then(|q| q.remaining) {
            self.limiter.observe_queue_remaining(remaining);
        }
        let response = self.check_status(response, &self.limiter).await?;
        let parsed: PushResponse = response.json().await.map_err(Error::from_body)?;
        tracing::debug!(
            record_type = record_type.as_str(),
            records = count,
            accepted = parsed.accepted,
            rejected = parsed.rejected,
            request_id = %parsed.request_id,
            "Ometria push answered."
        );
        Ok(PushOutcome {
            request_id: parsed.request_id,
            status: parsed.status,
            accepted: parsed.accepted,
            rejected: parsed.rejected,
            records_sent: count,
            queue,
            rate_limit_wait: Duration::ZERO,
            attempts: 1,
        })
    }

    /// Turns a non-2xx into [`Error::Status`]; a 429 also pauses every caller
    /// of `lane` (pushes, merge-profile and GDPR requests have budgets of
    /// their own).
    async fn check_status(
        &self,
        response: reqwest::Response,
        lane: &RateLimiter,
    ) -> Result<reqwest::Response, Error> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = wire::retry_after(response.headers());
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let pause = retry_after
                .map_or(self.rate_limit_pause, |d| d.min(self.policy.max_interval()))
                .max(self.rate_limit_pause);
            lane.pause(pause);
            tracing::debug!(
                pause_ms = nanos(pause) / 1_000_000,
                "Ometria rate limited us."
            );
        }
        // The error body is read only for Ometria's short message; a failure
        // to read it does not change the classification.
        let body = response.bytes().await.unwrap_or_default();
        Err(Error::Status {
            status: status.as_u16(),
            retry_after,
            message: wire::error_message(&body),
        })
    }
}

/// Checks Ometria's request rules locally and serializes the JSON array body.
fn encode(record_type: RecordType, records: &[PushRecord]) -> Result<Vec<u8>, Error> {
    if records.is_empty() {
        return Err(Error::InvalidRequest {
            reason: InvalidRequest::Empty,
        });
    }
    if records.len() > MAX_RECORDS_PER_REQUEST {
        return Err(Error::InvalidRequest {
            reason: InvalidRequest::TooManyRecords(records.len()),
        });
    }
    if let Some(stray) = records.iter().find(|r| r.record_type != record_type) {
        return Err(Error::mixed(record_type, stray.record_type));
    }
    let bodies: Vec<_> = records.iter().map(|r| &r.body).collect();
    serde_json::to_vec(&bodies).map_err(Error::Serialize)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
