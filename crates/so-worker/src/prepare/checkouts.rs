//! Checkouts: each version schedules its abandonment check on the broker;
//! the check, when it comes back, sends the abandonment event if the
//! checkout is still abandoned.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use so_domain::SkipReason;
use so_domain::abandonment::{self, checkout_email, checkout_version};
use so_domain::freshness::EntityKind;
use so_domain::ometria::PushRecord;
use so_domain::shopify;
use so_store::CheckoutChange;

use super::{Ctx, Preparer, Step, proceed};
use crate::pending::{Changes, Pending};

impl Preparer {
    /// `checkouts/create|update`: remember the version and schedule its
    /// abandonment check on the broker (the disposer publishes it before
    /// the ack). Nothing is pushed now.
    pub(super) async fn checkout(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        c: &shopify::Checkout,
    ) -> Step<Vec<PushRecord>> {
        let nothing = Ok(ControlFlow::Continue(Vec::new()));
        let Some(token) = c.key().map(str::to_owned) else {
            proceed!(self.not_a_duplicate(cx));
            return nothing;
        };
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::Checkout,
                token.clone(),
                c.updated_at,
            )
            .await?
        );
        let settings = cx.rules.settings.abandoned_checkouts.clone();
        if !settings.enabled {
            return nothing;
        }
        let shop = cx.shop.clone();
        if c.completed_at.is_some() {
            cx.changes
                .checkouts
                .push((shop, CheckoutChange::Completed { token }));
            return nothing;
        }
        let customer = c.customer.as_ref().map(|c| c.id);
        let email = checkout_email(c);
        if customer.is_none() && email.is_none() {
            // Nobody to remind.
            return nothing;
        }
        let Some(contact) = self.purchase_contact(cx, customer, email).await? else {
            return nothing;
        };
        cx.changes.checkouts.push((
            shop,
            CheckoutChange::Seen {
                token,
                cart_token: c.cart_token.clone().filter(|t| !t.is_empty()),
                version: checkout_version(c, cx.now),
                contact: Some(contact.ometria_id()),
            },
        ));
        cx.changes.check_after_secs = Some(settings.delay_secs);
        nothing
    }

    /// `checkouts/delete`: a deleted checkout is never abandoned. It is
    /// matched by `token`, the key `checkouts/create|update` are stored
    /// under; a delete that carries only the cart token (Shopify's samples
    /// still do) completes the checkouts stored with that cart token, and
    /// the one keyed by it (a checkout that itself had no token).
    pub(super) async fn checkout_delete(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        del: &shopify::CheckoutDelete,
    ) -> Step<Vec<PushRecord>> {
        proceed!(self.not_a_duplicate(cx));
        let present = |t: &Option<String>| t.clone().filter(|t| !t.is_empty());
        let tokens = match (present(&del.token), present(&del.cart_token)) {
            (Some(token), _) => vec![token],
            (None, Some(cart)) => {
                let mut tokens = self.store.checkout_tokens_by_cart(cx.shop, &cart).await?;
                tokens.extend(pending.checkout_tokens_by_cart(cx.shop, &cart));
                tokens.push(cart);
                tokens.sort_unstable();
                tokens.dedup();
                tokens
            }
            (None, None) => Vec::new(),
        };
        for token in tokens {
            cx.changes
                .checkouts
                .push((cx.shop.clone(), CheckoutChange::Completed { token }));
        }
        Ok(ControlFlow::Continue(Vec::new()))
    }

    /// The scheduled check of one checkout version: its custom event if it
    /// was abandoned, else a skip saying why not.
    pub(super) async fn abandonment_check(
        &self,
        cx: &mut Ctx<'_>,
        c: &shopify::Checkout,
        pending: &Pending,
    ) -> Step<Vec<PushRecord>> {
        let settings = cx.rules.settings.abandoned_checkouts.clone();
        let Some(token) = c.key().map(str::to_owned) else {
            return Ok(ControlFlow::Continue(Vec::new()));
        };
        if !settings.enabled {
            cx.changes = Changes::default();
            return Ok(ControlFlow::Break(SkipReason::CheckoutEventsOff));
        }
        let shop = cx.shop.clone();
        let scheduled = checkout_version(c, cx.now);
        let facts = self.due_facts(&shop, &token, scheduled, pending).await?;
        if let Err(why) = abandonment::decide(&facts) {
            cx.changes = Changes::default();
            return Ok(ControlFlow::Break(SkipReason::NotAbandoned(why)));
        }
        let customer = c.customer.as_ref().map(|c| c.id);
        let Some(contact) = self
            .purchase_contact(cx, customer, checkout_email(c))
            .await?
        else {
            return Ok(ControlFlow::Break(SkipReason::NothingToSend));
        };
        let record = abandonment::custom_event(&cx.mapping, &contact, c, &settings.event_type)?;
        cx.changes.checkouts.push((
            shop,
            CheckoutChange::Notified {
                token,
                version: scheduled,
            },
        ));
        Ok(ControlFlow::Continue(vec![record]))
    }

    /// What the store (and the batch) knows of the checkout `token` when
    /// its check for version `scheduled` comes due.
    async fn due_facts(
        &self,
        shop: &so_domain::ShopDomain,
        token: &str,
        scheduled: DateTime<Utc>,
        pending: &Pending,
    ) -> Result<abandonment::DueFacts, crate::outcome::Failure> {
        let mut row = self.store.checkout(shop, token).await?;
        for change in pending.checkout_changes(shop, token) {
            apply_checkout_change(&mut row, change);
        }
        let contact_id = row.as_ref().and_then(|r| r.contact.clone());
        let (newer, last_order_at) = match &contact_id {
            Some(id) => {
                let newer = self
                    .store
                    .newer_checkout_of_contact(shop, id, token, scheduled)
                    .await?;
                let mut orders = self.store.orders_of_contact(shop, id).await?;
                orders.extend(pending.orders_of(shop, id).into_iter().cloned());
                let last = orders.iter().map(|o| o.timestamp.with_timezone(&Utc)).max();
                (newer, last)
            }
            None => (false, None),
        };
        Ok(abandonment::DueFacts {
            scheduled,
            stored_version: row.as_ref().map(|r| r.version),
            completed: row.as_ref().is_some_and(|r| r.completed),
            notified_version: row.as_ref().and_then(|r| r.notified_version),
            contact_has_newer_checkout: newer,
            last_order_at,
        })
    }
}

/// Overlays a pending change of this batch on the stored checkout row.
fn apply_checkout_change(row: &mut Option<so_store::CheckoutRow>, change: &CheckoutChange) {
    match change {
        CheckoutChange::Seen {
            version, contact, ..
        } => match row {
            Some(r) if r.version > *version => {}
            Some(r) => {
                r.version = *version;
                r.contact.clone_from(contact);
            }
            None => {
                *row = Some(so_store::CheckoutRow {
                    version: *version,
                    contact: contact.clone(),
                    completed: false,
                    notified_version: None,
                });
            }
        },
        CheckoutChange::Completed { .. } => match row {
            Some(r) => r.completed = true,
            None => {
                *row = Some(so_store::CheckoutRow {
                    version: DateTime::<Utc>::UNIX_EPOCH,
                    contact: None,
                    completed: true,
                    notified_version: None,
                });
            }
        },
        CheckoutChange::Notified { version, .. } => {
            if let Some(r) = row {
                r.notified_version = Some(r.notified_version.map_or(*version, |n| n.max(*version)));
            }
        }
    }
}
