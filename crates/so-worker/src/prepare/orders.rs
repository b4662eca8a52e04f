//! Orders, refunds and order deletions: the order's state is kept so that
//! later events (refunds, deletes) can build full records.

use std::ops::ControlFlow;

use so_domain::freshness::EntityKind;
use so_domain::mapping;
use so_domain::ometria::PushRecord;
use so_domain::shopify::{self, ShopifyId};
use so_store::CheckoutChange;

use super::{Ctx, Preparer, Step, proceed};
use crate::outcome::Failure;
use crate::pending::Pending;

impl Preparer {
    /// `orders/create|updated|paid|cancelled|...`.
    pub(super) async fn order(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        order: &shopify::Order,
    ) -> Step<Vec<PushRecord>> {
        let shop = cx.shop.clone();
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::Order,
                order.id.to_string(),
                order.updated_at,
            )
            .await?
        );
        let customer = order.customer.as_ref().map(|c| c.id);
        let contact = self
            .purchase_contact(cx, customer, order.buyer_email())
            .await?;
        let stored = self.order_state(cx, order.id, pending).await?;
        let m = mapping::map_order(&cx.mapping, order, contact.as_ref(), stored.as_ref())?;
        if let (true, Some(token)) = (
            cx.rules.settings.abandoned_checkouts.enabled,
            order.checkout_token.as_deref().filter(|t| !t.is_empty()),
        ) {
            let token = token.to_owned();
            cx.changes
                .checkouts
                .push((shop.clone(), CheckoutChange::Completed { token }));
        }
        let mut records = self.line_products(cx, pending, order).await?;
        records.extend(m.records);
        mark_behaviour(cx, stored.as_ref(), &m.state);
        cx.changes.order_states.push((shop, m.state));
        Ok(ControlFlow::Continue(records))
    }

    /// Minimal product records for the products the order's lines name and
    /// Ometria never received (from `products/*` or an earlier order),
    /// remembered once accepted so the next order does not send them again.
    /// They travel ahead of the order (the deliverer pushes products first).
    async fn line_products(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        order: &shopify::Order,
    ) -> Result<Vec<PushRecord>, Failure> {
        let keys = mapping::line_product_keys(order);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let known = match cx.cache.known_products(cx.shop, &keys) {
            Some(known) => known,
            None => self.store.known_product_records(cx.shop, &keys).await?,
        };
        let missing: Vec<_> = keys
            .into_iter()
            .filter(|k| !known.contains(k) && !pending.product_known(cx.shop, k))
            .collect();
        let records = mapping::map_line_products(&cx.mapping, order, &missing)?;
        let shop = cx.shop.clone();
        cx.changes
            .products_known
            .extend(missing.into_iter().map(|k| (shop.clone(), k)));
        Ok(records)
    }

    /// `refunds/create`.
    pub(super) async fn refund(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        refund: &shopify::Refund,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::Order,
                refund.order_id.to_string(),
                None,
            )
            .await?
        );
        let stored = self.order_state(cx, refund.order_id, pending).await?;
        let m = mapping::map_refund(&cx.mapping, refund, stored.as_ref())?;
        mark_behaviour(cx, stored.as_ref(), &m.state);
        cx.changes.order_states.push((cx.shop.clone(), m.state));
        Ok(ControlFlow::Continue(m.records))
    }

    /// `orders/delete`.
    pub(super) async fn order_delete(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        del: &shopify::OrderDelete,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(cx, pending, EntityKind::Order, del.id.to_string(), None)
                .await?
        );
        let stored = self.order_state(cx, del.id, pending).await?;
        let (state, records) = mapping::map_order_delete(&cx.mapping, stored.as_ref())?;
        if let Some(state) = state {
            mark_behaviour(cx, stored.as_ref(), &state);
            cx.changes.order_states.push((cx.shop.clone(), state));
        }
        Ok(ControlFlow::Continue(records))
    }

    async fn order_state(
        &self,
        cx: &Ctx<'_>,
        id: ShopifyId,
        pending: &Pending,
    ) -> Result<Option<mapping::OrderState>, Failure> {
        if let Some(s) = pending.order(cx.shop, id) {
            return Ok(Some(s.clone()));
        }
        match cx.cache.order(cx.shop, id) {
            Some(s) => Ok(s.clone()),
            None => Ok(self.store.order_state(cx.shop, id).await?),
        }
    }
}

/// The contacts whose behavioural attributes this order change affects
/// (its buyer, and a previous buyer it moved from) go into the outbox that
/// [`crate::attributes`] drains from committed state.
fn mark_behaviour(
    cx: &mut Ctx<'_>,
    before: Option<&mapping::OrderState>,
    after: &mapping::OrderState,
) {
    if !cx.rules.settings.behaviour.any() {
        return;
    }
    let previous = before.and_then(|b| b.buyer.as_ref());
    for buyer in after.buyer.iter().chain(previous) {
        if !cx.changes.behaviour_dirty.iter().any(|(_, b)| b == buyer) {
            cx.changes
                .behaviour_dirty
                .push((cx.shop.clone(), buyer.clone()));
        }
    }
}
