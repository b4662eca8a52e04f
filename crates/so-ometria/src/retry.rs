//! *When* to retry: short in-process retries with exponential backoff.
//!
//! The only module that touches the `backoff` crate (unmaintained,
//! RUSTSEC-2025-0012), so replacing it with `backon` stays a one-file change.
//! Its footguns, and how each is defused here:
//! - `From<E>` makes every error transient: errors are never converted with
//!   `?`; each is classified and wrapped explicitly, permanent ones as
//!   `Error::permanent` so they return at once.
//! - `ExponentialBackoff::default()` retries for 15 minutes: every field is set
//!   from settings, including `max_elapsed_time`.
//! - `Error::retry_after` bypasses `max_elapsed_time`: the deadline is checked
//!   here before honouring a `Retry-After`, which is also capped at
//!   `max_interval`.
//! - No per-attempt timeout: the reqwest client's `timeout` bounds each attempt.
//! - Its clock is `std` time: a tokio clock is plugged in so paused-time tests
//!   see the same deadline the sleeps use.

use std::future::Future;
use std::time::Duration;

use backoff::exponential::ExponentialBackoff;
use tokio::time::Instant;

use crate::classify::{Verdict, classify};
use crate::error::Error;
use crate::settings::RetrySettings;

/// Default spread of each wait (±25 %) so callers that failed together do not
/// retry together.
const DEFAULT_JITTER: f64 = 0.25;

/// An explicit, finite retry schedule built from settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    initial_interval: Duration,
    max_interval: Duration,
    multiplier: f64,
    max_elapsed: Duration,
    jitter: f64,
    /// A 429 ends the in-process retries at once, and other transient
    /// failures after [`HAND_OFF_AFTER`] (the caller hands the work to a
    /// broker retry tier) instead of waiting out the trouble here.
    hand_off_rate_limits: bool,
}

/// How long a handing-off schedule retries a transient failure in-process:
/// long enough for a blip, short enough that one account's trouble holds
/// the other accounts' events of the same batch for about a second.
const HAND_OFF_AFTER: Duration = Duration::from_secs(1);

/// The result of the last attempt and how many attempts were made.
#[derive(Debug)]
pub struct Attempted<T> {
    /// Success, or the error of the final attempt (unclassified).
    pub result: Result<T, Error>,
    /// Attempts made, at least 1.
    pub attempts: u32,
}

impl RetryPolicy {
    /// The schedule from the `ometria.retry` settings.
    pub fn from_settings(s: &RetrySettings) -> Self {
        RetryPolicy {
            initial_interval: s.initial_interval,
            max_interval: s.max_interval,
            multiplier: s.multiplier,
            max_elapsed: s.max_elapsed,
            hand_off_rate_limits: false,
            jitter: DEFAULT_JITTER,
        }
    }

    /// Overrides the random spread (0.0 = deterministic waits, for tests).
    pub fn with_jitter(mut self, factor: f64) -> Self {
        self.jitter = factor.clamp(0.0, 1.0);
        self
    }

    /// Makes a 429 final for this schedule, and other transient failures
    /// final after [`HAND_OFF_AFTER`]: where one process pushes for several
    /// Ometria accounts, waiting out one account's pause or outage in the
    /// batch would hold up the other accounts' events in the same batch.
    pub fn handing_off_rate_limits(mut self) -> Self {
        self.hand_off_rate_limits = true;
        self
    }

    /// How long the schedule retries in-process.
    fn max_elapsed(&self) -> Duration {
        if self.hand_off_rate_limits {
            self.max_elapsed.min(HAND_OFF_AFTER)
        } else {
            self.max_elapsed
        }
    }

    /// Longest single wait, also the cap on a server's `Retry-After`.
    pub fn max_interval(&self) -> Duration {
        self.max_interval
    }

    /// Runs `op` (given the 1-based attempt number) until it succeeds, fails
    /// permanently, or the next wait would overrun `max_elapsed`.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Attempted<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let started = Instant::now();
        let mut attempts = 0_u32;
        let (max_interval, max_elapsed) = (self.max_interval, self.max_elapsed());
        let hand_off = self.hand_off_rate_limits;
        let operation = || {
            attempts += 1;
            let attempt = op(attempts);
            async move {
                attempt.await.map_err(|e| match classify(&e) {
                    Verdict::Permanent { .. } => backoff::Error::permanent(e),
                    _ if hand_off && matches!(e, Error::Status { status: 429, .. }) => {
                        backoff::Error::permanent(e)
                    }
                    Verdict::Transient { after: None, .. } => backoff::Error::transient(e),
                    Verdict::Transient {
                        after: Some(after), ..
                    } => {
                        let wait = after.min(max_interval);
                        if started.elapsed() + wait > max_elapsed {
                            backoff::Error::permanent(e)
                        } else {
                            backoff::Error::retry_after(e, wait)
                        }
                    }
                })
            }
        };
        let notify = |e: Error, wait: Duration| {
            tracing::debug!(
                reason = classify(&e).reason().as_str(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Retrying Ometria request."
            );
        };
        let result = backoff::future::retry_notify(self.backoff(), operation, notify).await;
        Attempted { result, attempts }
    }

    fn backoff(&self) -> ExponentialBackoff<TokioClock> {
        let clock = TokioClock;
        ExponentialBackoff {
            current_interval: self.initial_interval,
            initial_interval: self.initial_interval,
            randomization_factor: self.jitter,
            multiplier: self.multiplier,
            max_interval: self.max_interval,
            start_time: backoff::Clock::now(&clock),
            max_elapsed_time: Some(self.max_elapsed()),
            clock,
        }
    }
}

/// `backoff`'s clock backed by tokio's, which tests can pause.
#[derive(Debug, Clone, Copy)]
struct TokioClock;

impl backoff::Clock for TokioClock {
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::from_settings(&RetrySettings::default()).with_jitter(0.0)
    }

    fn status(code: u16, retry_after: Option<Duration>) -> Error {
        Error::Status {
            status: code,
            retry_after,
            message: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_error_returns_after_one_attempt() {
        let start = Instant::now();
        let out = policy()
            .run(|_| async { Err::<(), _>(status(400, None)) })
            .await;
        assert_eq!(out.attempts, 1);
        assert_eq!(out.result.unwrap_err().status(), Some(400));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_until_success() {
        let out = policy()
            .run(|n| async move { if n < 3 { Err(status(503, None)) } else { Ok(n) } })
            .await;
        assert_eq!(out.attempts, 3);
        assert_eq!(out.result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_transient_errors_stop_at_the_deadline() {
        let start = Instant::now();
        let out = policy()
            .run(|_| async { Err::<(), _>(status(500, None)) })
            .await;
        // Waits 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5 s (16.2 s); one more 5 s wait
        // would pass the 20 s budget, so attempt 8 is the last.
        assert_eq!(out.attempts, 8);
        assert_eq!(start.elapsed(), Duration::from_millis(16_200));
        assert_eq!(out.result.unwrap_err().status(), Some(500));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_capped_and_cannot_bypass_the_deadline() {
        let start = Instant::now();
        let hour = Some(Duration::from_secs(3_600));
        let out = policy()
            .run(|_| async move { Err::<(), _>(status(429, hour)) })
            .await;
        // Each wait is min(1 h, 5 s); attempts at 0, 5, 10, 15, 20 s.
        assert_eq!(out.attempts, 5);
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_handing_off_schedule_gives_up_on_an_outage_within_a_second() {
        let start = Instant::now();
        let out = policy()
            .handing_off_rate_limits()
            .run(|_| async { Err::<(), _>(status(503, None)) })
            .await;
        assert!(out.attempts > 1, "a blip is still retried");
        assert!(
            start.elapsed() <= Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        let out = policy()
            .run(|_| async { Err::<(), _>(status(503, None)) })
            .await;
        assert!(
            start.elapsed() > Duration::from_secs(2),
            "alone, it retries longer"
        );
        assert!(out.attempts > 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_handed_off_429_ends_at_once_but_other_failures_still_retry() {
        let start = Instant::now();
        let handing_off = policy().handing_off_rate_limits();
        let out = handing_off
            .run(|_| async { Err::<(), _>(status(429, None)) })
            .await;
        assert_eq!(out.attempts, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
        let out = handing_off
            .run(|n| async move { if n < 2 { Err(status(503, None)) } else { Ok(n) } })
            .await;
        assert_eq!(out.attempts, 2);
    }

    #[test]
    fn jitter_is_clamped() {
        assert_eq!(policy().with_jitter(7.0).jitter, 1.0);
        assert_eq!(policy().max_interval(), Duration::from_secs(5));
    }
}
