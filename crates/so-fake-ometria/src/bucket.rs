//! The fake's server-side token bucket.

use tokio::time::Instant;

use crate::config::RateLimit;

#[derive(Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            tokens: capacity(limit),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self) -> bool {
        let RateLimit::PerSecond { rate, .. } = self.limit else {
            return true;
        };
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(capacity(self.limit));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// A new limit starts with a full bucket.
    pub(crate) fn set(&mut self, limit: RateLimit) {
        *self = TokenBucket::new(limit);
    }
}

fn capacity(limit: RateLimit) -> f64 {
    match limit {
        RateLimit::Unlimited => f64::INFINITY,
        RateLimit::PerSecond { burst, .. } => f64::from(burst.max(1)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn admits_burst_then_refills_at_rate() {
        let mut b = TokenBucket::new(RateLimit::PerSecond {
            rate: 4.0,
            burst: 2,
        });
        assert!(b.try_take());
        assert!(b.try_take());
        assert!(!b.try_take());
        tokio::time::advance(Duration::from_millis(250)).await;
        assert!(b.try_take());
        assert!(!b.try_take());
    }

    #[test]
    fn unlimited_always_admits() {
        let mut b = TokenBucket::new(RateLimit::Unlimited);
        assert!((0..10_000).all(|_| b.try_take()));
    }
}
