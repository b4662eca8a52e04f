//! `refunds/create` → the same Ometria order, re-sent with refunds applied.
//!
//! Ometria's recipe: keep the order id; a partial refund sets
//! `quantity_refunded`/`refunded` on the affected lines with status
//! `partial_refund` and `is_valid: true`; a full refund sends status
//! `refunded` and `is_valid: false`. The refund payload lacks the order, so
//! it is combined with the stored [`OrderState`].

use super::order::OrderMapping;
use super::order_state::OrderState;
use super::{MappingContext, MappingError};
use crate::shopify::Refund;

/// Applies `refund` to the stored order and re-sends the order. Applying
/// the same refund twice yields the same record (refunds are keyed by id).
pub fn map_refund(
    ctx: &MappingContext,
    refund: &Refund,
    stored: Option<&OrderState>,
) -> Result<OrderMapping, MappingError> {
    let stored = stored.ok_or(MappingError::OrderStateMissing {
        order_id: refund.order_id,
        refund_id: refund.id,
    })?;
    if stored.order_id != refund.order_id {
        return Err(MappingError::OrderMismatch {
            refund_id: refund.id,
            refund_order: refund.order_id,
            state_order: stored.order_id,
        });
    }
    let mut state = stored.clone();
    state.add_refund(refund);
    let record = state.core_record(ctx).finish()?;
    Ok(OrderMapping {
        state,
        records: vec![record],
    })
}
