//! The subscribers-only profile filter: records of a contact that is not an
//! email subscriber are held in the store, and sent, before the event's
//! own, the moment it subscribes.

use std::ops::ControlFlow;

use so_domain::SkipReason;
use so_domain::merchant::{self, ProfileFilter, ProfileGate};
use so_domain::ometria::{PushRecord, RecordType};
use so_store::HeldChange;

use super::{Ctx, Preparer, Step};
use crate::pending::Pending;

impl Preparer {
    /// Subscribers-only shops: a contact that is not an email subscriber
    /// gets nothing sent; its records are held, and sent, before the
    /// event's own, the moment it subscribes. An unsubscribe of a contact
    /// that was sent still goes out (Ometria must learn of it).
    pub(super) async fn filter_profile(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        records: Vec<PushRecord>,
    ) -> Step<Vec<PushRecord>> {
        if cx.rules.settings.profiles != ProfileFilter::Subscribers || records.is_empty() {
            return Ok(ControlFlow::Continue(records));
        }
        let Some(contact) = cx.contact.clone() else {
            return Ok(ControlFlow::Continue(records));
        };
        let shop = cx.shop.clone();
        let id = contact.ometria_id();
        let signal = merchant::subscription_signal(&records);
        let before = match pending.subscription(&shop, &id) {
            Some(s) => Some(s),
            None => self.store.subscription(&shop, &id).await?,
        };
        if let Some(now) = signal.filter(|s| Some(*s) != before) {
            cx.changes
                .subscriptions
                .push((shop.clone(), id.clone(), now));
        }
        match merchant::profile_gate(signal, before) {
            ProfileGate::Send => Ok(ControlFlow::Continue(records)),
            ProfileGate::ReleaseThenSend => {
                let mut held = match pending.held(&shop, &id) {
                    Some(h) if h.released => Vec::new(),
                    _ => self.store.held_records(&shop, &id).await?,
                };
                if let Some(h) = pending.held(&shop, &id) {
                    held.extend(h.records.iter().cloned());
                }
                cx.changes
                    .held
                    .push((shop, HeldChange::Release { contact: id }));
                held.extend(records);
                Ok(ControlFlow::Continue(held))
            }
            ProfileGate::Hold => {
                // Minimal products held with the order are not delivered
                // yet: the next order naming them sends them again.
                if records.iter().any(|r| r.record_type == RecordType::Product) {
                    cx.changes.products_known.clear();
                }
                for record in records
                    .into_iter()
                    .filter(|r| r.record_type != RecordType::CustomEvent)
                {
                    cx.changes.held.push((
                        shop.clone(),
                        HeldChange::Hold {
                            contact: id.clone(),
                            record,
                            at: cx.now,
                        },
                    ));
                }
                Ok(ControlFlow::Break(SkipReason::HeldNotSubscribed))
            }
        }
    }
}
