//! The per-shop leaky bucket of the GraphQL Admin API: a request is admitted
//! when its *requested* cost fits in what is available; the difference to
//! the *actual* cost is refunded afterwards.

use serde_json::{Value, json};
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Bucket {
    max: f64,
    rate: f64,
    available: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(max: f64, rate: f64) -> Self {
        Bucket {
            max,
            rate,
            available: max,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let gained = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.available = (self.available + gained).min(self.max);
        self.last = now;
    }

    pub(crate) fn available(&mut self) -> f64 {
        self.refill();
        self.available
    }

    /// Takes `cost` points if they are available.
    pub(crate) fn try_take(&mut self, cost: u64) -> bool {
        self.refill();
        let cost = cost as f64;
        if cost > self.available {
            return false;
        }
        self.available -= cost;
        true
    }

    pub(crate) fn refund(&mut self, points: u64) {
        self.refill();
        self.available = (self.available + points as f64).min(self.max);
    }

    /// New size and rate; the bucket starts full.
    pub(crate) fn set(&mut self, max: f64, rate: f64) {
        *self = Bucket::new(max, rate);
    }

    /// Empties the bucket down to `points` (as if another app or process of
    /// the same app spent the rest).
    pub(crate) fn set_available(&mut self, points: f64) {
        self.refill();
        self.available = points.clamp(0.0, self.max);
    }

    /// `throttleStatus`, as on every response.
    pub(crate) fn status(&mut self) -> Value {
        self.refill();
        json!({
            "maximumAvailable": self.max,
            "currentlyAvailable": self.available.floor(),
            "restoreRate": self.rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn admits_by_requested_cost_and_restores_at_rate() {
        let mut b = Bucket::new(100.0, 50.0);
        assert!(b.try_take(80));
        assert!(!b.try_take(30));
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(b.try_take(30));
        b.refund(20);
        assert_eq!(b.available(), 20.0);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.available(), 100.0);
    }
}
