//! How long a batch gathers events, and how many it takes.
//!
//! While an account's budget is the limit (its pusher has a full request
//! waiting, or had within half a second), records wait for a slot anyway:
//! a batch may then gather longer and take more, so more of one entity's
//! events (an order's lifecycle, a customer's changes) meet in one batch
//! and leave as one record. This is the in-flight window: a batch may take
//! everything the processor can hold (its partitions' share of
//! `worker.window_max_bytes`, which sets the consumers' prefetch; waiting
//! for more would only wait), for up to [`WIDEST_WINDOW`]; past the
//! configured window it goes on only while events keep arriving (a
//! straggler waits for nothing) and the next request is full without this
//! batch (otherwise its slot would wait for the batch). At low load nothing
//! changes: the configured window and size.

use std::time::Duration;

use so_ometria::Coalescing;

/// A batch gathers for at most this long under the budget. An entity's
/// events come seconds to minutes apart; the budget drains a backlog at
/// 400 records/s, so a record waits this long for a slot anyway once some
/// 8 000 are queued ahead of it, and a later version that comes meanwhile
/// leaves in the same record.
const WIDEST_WINDOW: Duration = Duration::from_secs(20);

/// The configured gathering of one processor.
#[derive(Debug, Clone)]
pub(crate) struct Gathering {
    /// `worker.batch_window_ms`.
    pub(crate) window: Duration,
    /// `worker.batch_max_events`.
    pub(crate) max_events: usize,
    /// The most deliveries the processor can hold unacked: its share of
    /// the partitions times their prefetch (the window's).
    pub(crate) held_at_most: usize,
    /// Off: never wider (the naive baseline).
    pub(crate) coalescing: Coalescing,
}

/// One batch's gathering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// After the batch's first event.
    pub(crate) window: Duration,
    pub(crate) max_events: usize,
}

impl Gathering {
    /// `partitions` and `processors` of this worker, `prefetch` per
    /// partition consumer.
    pub(crate) fn held_at_most(partitions: u16, processors: u16, prefetch: u16) -> usize {
        let per_processor = usize::from(partitions).div_ceil(usize::from(processors.max(1)));
        per_processor.max(1) * usize::from(prefetch)
    }

    /// The limits of a batch starting now; `budget_bound`: an account's
    /// budget is the limit.
    pub(crate) fn limits(&self, budget_bound: bool) -> Limits {
        let base = Limits {
            window: self.window,
            max_events: self.max_events,
        };
        if !budget_bound || self.coalescing == Coalescing::Off {
            return base;
        }
        Limits {
            window: WIDEST_WINDOW.max(self.window),
            max_events: self.held_at_most.max(self.max_events),
        }
    }
}

impl Gathering {
    /// Whether a batch that has gathered for `elapsed` under `limits`
    /// goes on: always within the configured window; beyond it, within the
    /// widened one, only while events keep `arriving` (some came in the
    /// last window) and `spoken_for` (a pusher has a full request waiting
    /// without this batch).
    pub(crate) fn goes_on(
        &self,
        elapsed: Duration,
        limits: Limits,
        arriving: bool,
        spoken_for: bool,
    ) -> bool {
        elapsed < self.window || (elapsed < limits.window && arriving && spoken_for)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use so_ometria::Coalescing;

    use super::{Gathering, Limits};

    fn gathering(coalescing: Coalescing) -> Gathering {
        Gathering {
            window: Duration::from_millis(250),
            max_events: 1_000,
            held_at_most: Gathering::held_at_most(16, 4, 500),
            coalescing,
        }
    }

    #[test]
    fn at_low_load_a_batch_gathers_as_configured_so_a_lone_event_waits_no_longer() {
        let configured = Limits {
            window: Duration::from_millis(250),
            max_events: 1_000,
        };
        assert_eq!(gathering(Coalescing::ByKey).limits(false), configured);
        assert_eq!(
            gathering(Coalescing::Off).limits(true),
            configured,
            "the naive baseline never widens"
        );
    }

    #[test]
    fn past_the_configured_window_a_batch_gathers_only_while_events_arrive_and_the_next_request_is_full_anyway()
     {
        let g = gathering(Coalescing::ByKey);
        let ms = Duration::from_millis;
        let low = g.limits(false);
        assert!(g.goes_on(ms(100), low, false, false));
        assert!(
            !g.goes_on(ms(250), low, true, true),
            "not widened: as configured"
        );
        let wide = g.limits(true);
        assert!(g.goes_on(ms(600), wide, true, true));
        assert!(
            !g.goes_on(ms(600), wide, true, false),
            "a slot would wait for it"
        );
        assert!(
            !g.goes_on(ms(600), wide, false, true),
            "nothing is coming: a straggler does not wait"
        );
        assert!(g.goes_on(ms(19_000), wide, true, true));
        assert!(
            !g.goes_on(ms(20_000), wide, true, true),
            "at most the widest window"
        );
    }

    #[test]
    fn under_the_budget_a_batch_takes_all_the_processor_can_hold() {
        let wide = gathering(Coalescing::ByKey).limits(true);
        assert_eq!(wide.window, Duration::from_secs(20));
        assert_eq!(wide.max_events, 2_000, "4 partitions x 500 can be held");
        let window = Gathering {
            held_at_most: Gathering::held_at_most(16, 4, 2_048),
            ..gathering(Coalescing::ByKey)
        };
        assert_eq!(
            window.limits(true).max_events,
            8_192,
            "4 partitions x the window's prefetch"
        );
        let tight = Gathering {
            held_at_most: Gathering::held_at_most(8, 4, 100),
            ..gathering(Coalescing::ByKey)
        };
        assert_eq!(
            tight.limits(true).max_events,
            1_000,
            "never fewer than configured"
        );
        let long = Gathering {
            window: Duration::from_secs(30),
            ..gathering(Coalescing::ByKey)
        };
        assert_eq!(
            long.limits(true).window,
            Duration::from_secs(30),
            "never shorter than configured"
        );
    }
}
