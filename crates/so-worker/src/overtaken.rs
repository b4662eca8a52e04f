//! A refund that overtook its order (issue 15).
//!
//! A refund is the stored order with the refund applied, so it needs the
//! order's state. The webhooks of one order share a partition, and a
//! processor prepares, pushes and commits one batch before it takes the
//! next, so an order this process handled earlier is always in the store
//! or in the batch's overlay by the time its refund is prepared, even while
//! its records still wait for a slot of Ometria's budget. What does happen
//! is a refund queued *ahead* of its order: Shopify does not promise the
//! order of webhooks, and publishers with several channels (the ingress,
//! a preload) can swap messages sent close together. Preparing such a
//! refund in queue order finds no order and sends it through a retry tier
//! (at least 5 s), even when its order is a few messages behind it in the
//! same batch. So a refund that finds no order is decided again once the
//! rest of the batch has been prepared: if the batch brought its order, the
//! refund is applied to that state, after it (its state is the batch's
//! last for the order, and its record is coalesced last, so Ometria and
//! the store end with the order and the refund). The order's events come
//! later in the queue than the refund, so applying the refund after them
//! is what the retry tier would have done, only without the round trip. A
//! refund whose order is not in the batch either retries as before.

use so_domain::{EventMeta, ReasonCode};
use so_queue::Delivery;
use tracing::Instrument;

use crate::cache::Cache;
use crate::outcome::{Failure, Outcome};
use crate::pending::Pending;
use crate::processor::Processor;
use crate::screen::screen;

/// Whether `outcome` is an event that found no state of its order (a
/// refund) and may find it once the rest of its batch is prepared.
pub(crate) fn waits_for_its_order(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Failed(Failure::Retry {
            reason: ReasonCode::OrderNotYetSeen,
            ..
        })
    )
}

impl Processor {
    /// Prepares `d` again, through `pending` (now holding the rest of the
    /// batch), from the message itself: screening is a pure function of
    /// it, and the first attempt changed nothing (its changes were never
    /// absorbed).
    pub(crate) async fn prepare_overtaken(
        &self,
        d: &Delivery,
        meta: &EventMeta,
        pending: &Pending,
        cache: &mut Cache,
    ) -> Outcome {
        let screened = screen(
            &self.preparer.rules,
            &self.accounts,
            meta,
            d.headers(),
            &d.body,
        );
        let screened = match screened {
            std::ops::ControlFlow::Continue(s) => s,
            std::ops::ControlFlow::Break(outcome) => return outcome,
        };
        let span = tracing::info_span!(
            "process",
            webhook_id = meta.webhook_id.as_str(),
            topic = meta.topic.as_str(),
            shop = meta.shop.as_str(),
            overtaken = true,
        );
        self.preparer
            .prepare(meta, screened, pending, cache)
            .instrument(span)
            .await
    }
}
