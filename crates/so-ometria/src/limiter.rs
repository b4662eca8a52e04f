//! Client-side request pacing shared by every clone of one `Client`.
//!
//! A token bucket of capacity one, implemented as slot reservation: each
//! caller reserves the next free slot under a lock, then sleeps until it.
//! Capacity one (no burst) spaces requests evenly, which is what keeps us
//! inside Ometria's per-account 4 req/s whatever burst the server tolerates.
//! Reservation makes waiting FIFO and needs no polling loop.
//!
//! Two signals from Ometria slow everyone down:
//! - `X-QueueSize-Remaining` below the low watermark halves the rate, so the
//!   backlog drains before Ometria starts answering 429;
//! - a 429 pauses every caller until the pause ends, including those already
//!   asleep on a reservation (they re-check when they wake).
//!
//! Background reads (the `_errors` watcher) yield to pushes: they take a
//! slot only when it is free now, so none is booked ahead by a push, and
//! look again when the next slot comes (at most once per slot). A bound on
//! that wait keeps them from starving under a sustained backlog: past it
//! they book the next slot like a push.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// Shared pacing state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    interval: Duration,
    low_watermark: u64,
    state: Mutex<State>,
    waited_nanos: AtomicU64,
}

#[derive(Debug)]
struct State {
    next_free: Instant,
    paused_until: Option<Instant>,
    queue_remaining: Option<u64>,
    /// Processes sharing the account's budget (this one included).
    share: u32,
}

impl RateLimiter {
    /// `requests_per_second` must be positive (settings validation ensures it);
    /// anything else falls back to one request per second.
    pub fn new(requests_per_second: f64, low_watermark: u64) -> Self {
        let interval = Duration::try_from_secs_f64(1.0 / requests_per_second)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(1));
        RateLimiter {
            inner: Arc::new(Inner {
                interval,
                low_watermark,
                state: Mutex::new(State {
                    next_free: Instant::now(),
                    paused_until: None,
                    queue_remaining: None,
                    share: 1,
                }),
                waited_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Waits for permission to send one request; returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let waited = self.reserve().await;
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.inner.waited_nanos.fetch_add(nanos, Ordering::Relaxed);
        waited
    }

    /// Waits for a slot nobody else wants: one free now, so that no caller
    /// of [`RateLimiter::acquire`] has booked it. If none was for
    /// `at_most`, books the next slot as `acquire` does, so the caller is
    /// held back, never starved. Returns how long it waited. That wait is
    /// chosen, not imposed by the budget, so it is left out of
    /// [`RateLimiter::total_wait`].
    pub async fn acquire_yielding(&self, at_most: Duration) -> Duration {
        let started = Instant::now();
        let give_up = started + at_most;
        loop {
            let free_at = match self.try_acquire() {
                Ok(()) => return started.elapsed(),
                Err(wait) => Instant::now() + wait,
            };
            if free_at >= give_up {
                sleep_until(give_up).await;
                break;
            }
            // Whoever booked slots before then goes first; look again when
            // the last of them is taken.
            sleep_until(free_at).await;
        }
        self.reserve().await;
        started.elapsed()
    }

    /// Books the next slot and sleeps until it (again after a pause that
    /// began meanwhile); returns how long that took.
    async fn reserve(&self) -> Duration {
        let started = Instant::now();
        loop {
            let slot = {
                let mut s = self.lock();
                let mut at = s.next_free.max(Instant::now());
                if let Some(p) = s.paused_until {
                    at = at.max(p);
                }
                s.next_free = at + self.current_interval(&s);
                at
            };
            sleep_until(slot).await;
            // A 429 seen by another caller while we slept applies to us too.
            if !self.is_paused() {
                break;
            }
        }
        started.elapsed()
    }

    /// Takes the next slot only if it is free now; otherwise says how long
    /// until it is (for lanes that hand the wait to a broker retry tier
    /// rather than sleep, like merge-profile's one request per minute).
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut s = self.lock();
        let mut at = s.next_free.max(now);
        if let Some(p) = s.paused_until {
            at = at.max(p);
        }
        if at > now {
            return Err(at - now);
        }
        s.next_free = now + self.current_interval(&s);
        Ok(())
    }

    /// Records the latest `X-QueueSize-Remaining` Ometria reported.
    pub fn observe_queue_remaining(&self, remaining: u64) {
        self.lock().queue_remaining = Some(remaining);
    }

    /// Pauses every caller for `duration` from now (never shortens a pause).
    pub fn pause(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut s = self.lock();
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    /// True while the backlog signal has halved the rate.
    pub fn is_slowed(&self) -> bool {
        let s = self.lock();
        self.slowed(&s)
    }

    /// True while a 429 pause is in force.
    pub fn is_paused(&self) -> bool {
        self.lock().paused_until.is_some_and(|p| p > Instant::now())
    }

    /// How much longer a pause after a 429 lasts, if one is on.
    pub fn paused_for(&self) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .paused_until
            .filter(|p| *p > now)
            .map(|p| p - now)
    }

    /// Total time all callers have spent waiting here, for a metric.
    pub fn total_wait(&self) -> Duration {
        Duration::from_nanos(self.inner.waited_nanos.load(Ordering::Relaxed))
    }

    fn slowed(&self, s: &State) -> bool {
        s.queue_remaining
            .is_some_and(|r| r < self.inner.low_watermark)
    }

    fn current_interval(&self, s: &State) -> Duration {
        let interval = self.inner.interval * s.share.max(1);
        if self.slowed(s) {
            interval * 2
        } else {
            interval
        }
    }

    /// The account's budget is split between `processes` that push to it
    /// (worker processes sharing the partitions): each gets its share.
    pub fn set_share(&self, processes: u32) {
        self.lock().share = processes.max(1);
    }

    /// The spacing between slots now (this process's share, halved rate
    /// included): a granted slot may be held this long at most without
    /// delaying the next one, which is booked already.
    pub fn interval(&self) -> Duration {
        let s = self.lock();
        self.current_interval(&s)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update
        // is a single assignment.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUARTER: Duration = Duration::from_millis(250);

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_at_the_configured_rate() {
        let limiter = RateLimiter::new(4.0, 0);
        let start = Instant::now();
        for _ in 0..9 {
            limiter.acquire().await;
        }
        // The first request goes at once, the other eight one quarter apart.
        assert_eq!(start.elapsed(), 8 * QUARTER);
        assert_eq!(limiter.total_wait(), 8 * QUARTER);
    }

    #[tokio::test(start_paused = true)]
    async fn processes_sharing_the_account_split_its_budget() {
        let limiter = RateLimiter::new(4.0, 0);
        limiter.set_share(2);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            4 * QUARTER,
            "2 req/s each for two processes"
        );
        limiter.set_share(0);
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(
            start.elapsed(),
            3 * QUARTER,
            "the slot booked at 2 req/s, then 4 req/s"
        );
    }

    #[test]
    fn the_interval_follows_the_share_and_the_slowdown() {
        let limiter = RateLimiter::new(4.0, 100);
        assert_eq!(limiter.interval(), QUARTER);
        limiter.set_share(2);
        assert_eq!(limiter.interval(), 2 * QUARTER);
        limiter.observe_queue_remaining(10);
        assert_eq!(
            limiter.interval(),
            4 * QUARTER,
            "halved while Ometria is full"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_budget() {
        let limiter = RateLimiter::new(4.0, 0);
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        times.sort();
        assert_eq!(times, [Duration::ZERO, QUARTER, 2 * QUARTER, 3 * QUARTER]);
    }

    #[tokio::test(start_paused = true)]
    async fn low_queue_remaining_halves_the_rate() {
        let limiter = RateLimiter::new(4.0, 5_000);
        limiter.observe_queue_remaining(4_999);
        assert!(limiter.is_slowed());
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), 4 * QUARTER);

        limiter.observe_queue_remaining(5_000);
        assert!(!limiter.is_slowed());
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_back_callers_already_waiting() {
        let limiter = RateLimiter::new(4.0, 0);
        limiter.acquire().await;
        let waiter = {
            let l = limiter.clone();
            tokio::spawn(async move { l.acquire().await })
        };
        tokio::task::yield_now().await;
        let start = Instant::now();
        limiter.pause(Duration::from_secs(2));
        assert!(limiter.is_paused());
        waiter.await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(2));
        assert!(!limiter.is_paused());
    }

    /// A pusher that always has a request waiting: books the next slot as
    /// soon as it has its last one, `slots` times; returns when each came.
    fn saturating_pusher(
        limiter: &RateLimiter,
        slots: usize,
    ) -> tokio::task::JoinHandle<Vec<Duration>> {
        let (l, start) = (limiter.clone(), Instant::now());
        tokio::spawn(async move {
            let mut at = Vec::new();
            for _ in 0..slots {
                l.acquire().await;
                at.push(start.elapsed());
            }
            at
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_yielding_read_waits_while_pushes_are_queued_until_its_bound() {
        let limiter = RateLimiter::new(4.0, 0);
        let pushes = saturating_pusher(&limiter, 20);
        tokio::task::yield_now().await;
        let start = Instant::now();
        let read = {
            let l = limiter.clone();
            tokio::spawn(async move {
                l.acquire_yielding(Duration::from_secs(2)).await;
                start.elapsed()
            })
        };
        let read_at = read.await.unwrap();
        let pushed = pushes.await.unwrap();
        assert!(
            read_at >= Duration::from_secs(2) && read_at <= Duration::from_secs(2) + QUARTER,
            "the read went ahead at its bound, not before: {read_at:?}"
        );
        let before_bound = pushed
            .iter()
            .filter(|t| **t < Duration::from_secs(2))
            .count();
        assert_eq!(
            before_bound, 8,
            "every slot before the read's bound went to a push: {pushed:?}"
        );
        let mut slots: Vec<Duration> = pushed.clone();
        slots.push(read_at);
        slots.sort();
        for pair in slots.windows(2) {
            assert!(
                pair[1] - pair[0] >= QUARTER,
                "the read kept the rate: {slots:?}"
            );
        }
        // Each push waited from the previous one's slot to its own.
        assert_eq!(
            limiter.total_wait(),
            pushed[pushed.len() - 1],
            "the pushes' waits are counted, the read's chosen wait is not"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_yielding_read_takes_a_free_slot_at_once_or_when_pushes_stop() {
        let limiter = RateLimiter::new(4.0, 0);
        let waited = limiter.acquire_yielding(Duration::from_secs(30)).await;
        assert_eq!(waited, Duration::ZERO, "nothing was waiting");
        let pushes = saturating_pusher(&limiter, 4);
        tokio::task::yield_now().await;
        let waited = limiter.acquire_yielding(Duration::from_secs(30)).await;
        let pushed = pushes.await.unwrap();
        assert_eq!(
            pushed,
            [QUARTER, 2 * QUARTER, 3 * QUARTER, 4 * QUARTER],
            "the pushes went first"
        );
        assert_eq!(waited, 5 * QUARTER, "the first slot nobody booked");
    }

    #[tokio::test(start_paused = true)]
    async fn shorter_pause_never_shortens_a_longer_one() {
        let limiter = RateLimiter::new(100.0, 0);
        limiter.pause(Duration::from_secs(3));
        limiter.pause(Duration::from_secs(1));
        let waited = limiter.acquire().await;
        assert_eq!(waited, Duration::from_secs(3));
    }
}
