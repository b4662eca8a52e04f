//! A client-side model of the shop's leaky bucket, so the client waits
//! *before* sending instead of being answered THROTTLED.
//!
//! Every response carries `throttleStatus{maximumAvailable,
//! currentlyAvailable, restoreRate}`; between responses the model restores
//! at `restoreRate`. A call reserves its estimated cost before it is sent;
//! when its answer arrives the reservation is released and the server's
//! figure adopted, less what other calls still have in flight. With other
//! calls in flight the lower of model and report wins, since reports of
//! concurrent calls can arrive out of order.
//!
//! Before the first answer nothing is known: one call goes at once and the
//! others wait for its answer, which teaches the bucket. A document whose cost is unknown (and not
//! estimated by the caller) is assumed to cost 1000, the most any query may
//! request, clamped to the bucket size; the `requestedQueryCost` of every
//! answer, THROTTLED ones included, is remembered per document and `first`.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

/// The most a single query may request (shopify.md §5).
pub const MAX_QUERY_COST: u64 = 1000;

/// `extensions.cost` of a response.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    /// Cost computed from the document before running it.
    pub requested_query_cost: Option<f64>,
    /// What was charged (absent on THROTTLED answers).
    pub actual_query_cost: Option<f64>,
    /// The bucket after the call.
    pub throttle_status: ThrottleStatus,
}

/// `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// Bucket size.
    pub maximum_available: f64,
    /// Points available now.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// Cost-budget figures of one client since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetStats {
    /// HTTP attempts.
    pub requests: u64,
    /// Successful calls.
    pub succeeded: u64,
    /// Sum of `requestedQueryCost` of successful calls.
    pub points_requested: u64,
    /// Sum of `actualQueryCost`: what the bucket was charged.
    pub points_used: u64,
    /// Sum of the deficits the client waited to be restored before sending.
    pub points_waited_for: f64,
    /// Time spent waiting for budget before sending (THROTTLED waits
    /// included).
    pub budget_wait: Duration,
    /// THROTTLED answers (HTTP 200 or 429).
    pub throttled: u64,
    /// Retries after 5xx or connection failures.
    pub retries: u64,
    /// The last `throttleStatus` seen.
    pub last_status: Option<ThrottleStatus>,
}

impl BudgetStats {
    /// Share of the cost budget used over `elapsed`: points charged divided
    /// by what the bucket could supply in that time (a full bucket plus
    /// `restoreRate × elapsed`). `None` before any answer.
    pub fn share_of_budget(&self, elapsed: Duration) -> Option<f64> {
        let s = self.last_status?;
        let supply = s.maximum_available + s.restore_rate * elapsed.as_secs_f64();
        (supply > 0.0).then(|| self.points_used as f64 / supply)
    }
}

#[derive(Debug, Clone, Copy)]
struct Known {
    max: f64,
    rate: f64,
    available: f64,
    at: Instant,
}

impl Known {
    fn available_at(&self, now: Instant) -> f64 {
        let restored = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        (self.available + restored).min(self.max)
    }
}

/// The model, one per client (so per app and shop).
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    known: Option<Known>,
    in_flight: f64,
    estimates: HashMap<u64, u64>,
    pub(crate) stats: BudgetStats,
}

/// What a call must wait for before it may be sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Wait {
    pub(crate) duration: Duration,
    pub(crate) deficit: f64,
}

impl Bucket {
    /// Reserves `cost` if the model has it (plus `reserve` for others, as far
    /// as the bucket size allows); otherwise says how long to wait.
    pub(crate) fn try_reserve(
        &mut self,
        cost: u64,
        reserve: u32,
        now: Instant,
    ) -> Result<(), Wait> {
        let cost = cost as f64;
        let Some(k) = self.known.as_mut() else {
            // Nothing known yet: one call goes and learns the bucket; the
            // others wait for its answer.
            if self.in_flight > 0.0 {
                return Err(Wait {
                    duration: Duration::from_millis(20),
                    deficit: 0.0,
                });
            }
            self.in_flight += cost;
            return Ok(());
        };
        let need = (cost + f64::from(reserve)).min(k.max);
        let available = k.available_at(now);
        if available + 1e-9 >= need {
            k.available = available - cost;
            k.at = now;
            self.in_flight += cost;
            return Ok(());
        }
        let deficit = need - available;
        let secs = if k.rate > 0.0 { deficit / k.rate } else { 1.0 };
        Err(Wait {
            // A little slack so the server, whose clock runs slightly behind
            // ours for this request, has restored the points too.
            duration: Duration::from_secs_f64(secs) + Duration::from_millis(5),
            deficit,
        })
    }

    /// An answer arrived for a call that had reserved `reserved`.
    pub(crate) fn observe(&mut self, reserved: u64, status: ThrottleStatus, now: Instant) {
        self.in_flight = (self.in_flight - reserved as f64).max(0.0);
        let reported = status.currently_available - self.in_flight;
        let available = match self.known {
            Some(k) if self.in_flight > 0.0 => reported.min(k.available_at(now)),
            _ => reported,
        };
        self.known = Some(Known {
            max: status.maximum_available,
            rate: status.restore_rate,
            available,
            at: now,
        });
        self.stats.last_status = Some(status);
    }

    /// A call ended without a bucket report (transport error, 5xx): its
    /// reservation ends, but the model keeps the deduction, as the server
    /// may have charged it.
    pub(crate) fn release(&mut self, reserved: u64) {
        self.in_flight = (self.in_flight - reserved as f64).max(0.0);
    }

    /// What `key` requested last time, if it ran before.
    pub(crate) fn learned(&self, key: u64) -> Option<u64> {
        self.estimates.get(&key).copied()
    }

    pub(crate) fn learn(&mut self, key: u64, requested: u64) {
        self.estimates.insert(key, requested);
    }
}

/// Key of a document for cost estimates: its text, its `first`, and the
/// length of `ids` — the variables that change the requested cost of a
/// document (page size, batch size).
pub(crate) fn estimate_key(query: &str, variables: &serde_json::Value) -> u64 {
    let mut h = DefaultHasher::new();
    query.hash(&mut h);
    variables.get("first").map(ToString::to_string).hash(&mut h);
    variables
        .get("ids")
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(max: f64, available: f64, rate: f64) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: max,
            currently_available: available,
            restore_rate: rate,
        }
    }

    #[test]
    fn unknown_bucket_lets_one_call_go_until_it_answers() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        assert!(b.try_reserve(1000, 50, t0).is_ok());
        assert!(b.try_reserve(10, 0, t0).is_err());
        b.observe(1000, status(2000.0, 1000.0, 100.0), t0);
        assert!(b.try_reserve(10, 0, t0).is_ok());
    }

    #[test]
    fn a_call_without_a_report_frees_the_way_for_the_next() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        assert!(b.try_reserve(10, 0, t0).is_ok());
        b.release(10);
        assert!(b.try_reserve(10, 0, t0).is_ok());
    }

    #[test]
    fn waits_deficit_over_restore_rate() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        b.observe(0, status(1000.0, 100.0, 50.0), t0);
        // 300 needed, 100 there: 200 points at 50/s = 4 s.
        let w = b.try_reserve(300, 0, t0).unwrap_err();
        assert!((w.deficit - 200.0).abs() < 1e-6);
        assert!(w.duration >= Duration::from_secs(4) && w.duration < Duration::from_millis(4100));
        // After 4 s the model has restored enough.
        assert!(b.try_reserve(300, 0, t0 + Duration::from_secs(4)).is_ok());
        // And the reservation is spent: nothing left for another 300.
        assert!(b.try_reserve(300, 0, t0 + Duration::from_secs(4)).is_err());
    }

    #[test]
    fn reserve_is_kept_but_never_exceeds_the_bucket() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        b.observe(0, status(100.0, 100.0, 10.0), t0);
        // 60 + 50 reserve > 100 available: clamped to the bucket size, so a
        // full bucket always admits.
        assert!(b.try_reserve(60, 50, t0).is_ok());
        b.observe(60, status(100.0, 40.0, 10.0), t0);
        let w = b.try_reserve(30, 20, t0).unwrap_err();
        assert!((w.deficit - 10.0).abs() < 1e-6);
    }

    #[test]
    fn restores_up_to_the_maximum_only() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        b.observe(0, status(100.0, 0.0, 1000.0), t0);
        let later = t0 + Duration::from_secs(60);
        assert!(b.try_reserve(100, 0, later).is_ok());
        assert!(b.try_reserve(1, 0, later).is_err());
    }

    #[test]
    fn concurrent_reservations_are_subtracted_from_reports() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        b.observe(0, status(100.0, 100.0, 1.0), t0);
        assert!(b.try_reserve(40, 0, t0).is_ok());
        assert!(b.try_reserve(40, 0, t0).is_ok());
        // The first call's answer says 60 left, but the second call's 40 are
        // still in flight: only 20 may be planned with.
        b.observe(40, status(100.0, 60.0, 1.0), t0);
        assert!(b.try_reserve(21, 0, t0).is_err());
        assert!(b.try_reserve(20, 0, t0).is_ok());
    }

    #[test]
    fn sequential_reports_are_adopted_including_refunds() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        b.observe(0, status(100.0, 100.0, 1.0), t0);
        assert!(b.try_reserve(90, 0, t0).is_ok());
        // Requested 90, actual 10: the server refunded 80.
        b.observe(90, status(100.0, 90.0, 1.0), t0);
        assert!(b.try_reserve(90, 0, t0).is_ok());
    }

    #[test]
    fn estimates_are_learned_per_document_and_page_size() {
        let mut b = Bucket::default();
        let q = "{ customers(first: $first) { nodes { id } } }";
        let k10 = estimate_key(q, &serde_json::json!({"first": 10}));
        let k20 = estimate_key(q, &serde_json::json!({"first": 20, "after": "x"}));
        assert_eq!(b.learned(k10), None);
        b.learn(k10, 12);
        assert_eq!(b.learned(k10), Some(12));
        assert_eq!(b.learned(k20), None);
        assert_eq!(
            k10,
            estimate_key(q, &serde_json::json!({"first": 10, "after": "c"}))
        );
    }

    #[test]
    fn share_of_budget() {
        let s = BudgetStats {
            points_used: 1500,
            last_status: Some(status(1000.0, 0.0, 100.0)),
            ..BudgetStats::default()
        };
        let share = s.share_of_budget(Duration::from_secs(20)).unwrap();
        assert!((share - 0.5).abs() < 1e-9);
    }
}
