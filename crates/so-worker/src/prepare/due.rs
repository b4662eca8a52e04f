//! When a due abandonment check may decide: only once the worker has
//! settled every webhook received before the check fell due. Otherwise an
//! order that completed the checkout, still waiting in a lagging partition
//! or a retry tier, would leave the customer who bought an abandoned-cart
//! email. Bounded, so a stuck partition cannot hold the events forever.

use chrono::{DateTime, TimeDelta, Utc};
use so_domain::abandonment::{Readiness, readiness};
use so_platform::metrics;

use super::Preparer;
use crate::outcome::Failure;

/// What the rule needs to know of this worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckGate {
    /// Every work partition: all of them must have settled, whichever
    /// process consumes them.
    pub(crate) partitions: u16,
    /// `worker.abandonment_max_defer_secs`.
    pub(crate) max_defer: TimeDelta,
}

impl Preparer {
    /// Whether the check that fell due at `due` may decide now; `false`:
    /// defer it. A check without a due time (scheduled before the rule
    /// existed) decides as it always did.
    pub(super) async fn check_ready(&self, due: Option<DateTime<Utc>>) -> Result<bool, Failure> {
        let Some(due) = due else {
            return Ok(true);
        };
        let now = Utc::now();
        let gate = self.checks;
        let settled = self
            .store
            .settled_before(gate.partitions, now - gate.max_defer)
            .await?;
        Ok(match readiness(due, settled, now, gate.max_defer) {
            Readiness::Decide => true,
            Readiness::Defer => false,
            Readiness::Overdue => {
                metrics::abandonment_check_overdue();
                tracing::warn!(
                    %due,
                    settled_before = ?settled,
                    max_defer_secs = gate.max_defer.num_seconds(),
                    "Abandonment check decided although the webhooks received before it fell due are not all processed yet."
                );
                true
            }
        })
    }
}
