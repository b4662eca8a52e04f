//! Stage 1: from a delivery to the records it should produce.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use so_domain::freshness::{
    self, DedupeWindow, EntityKind, Freshness, Incoming, LedgerLookup, Watermark, WatermarkKey,
};
use so_domain::identity::{
    self, ContactRef, IdentityOutcome, IdentitySnapshot, Namespace, NormalisedEmail, Resolution,
};
use so_domain::mapping::{self, LegacyParts, MappingContext, MappingError, Part};
use so_domain::ometria::PushRecord;
use so_domain::shopify::{self, ShopifyId, ShopifyPayload};
use so_domain::{Disposition, EventMeta, ReasonCode, ShopDomain, Topic, TopicName};
use so_runtime::Config;
use so_store::Store;

use crate::cache::Cache;
use crate::pending::{Changes, Pending};
use crate::screen::Screened;

/// What to do with one event.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Push `records`; commit `changes` once all of them are accepted.
    Push {
        records: Vec<PushRecord>,
        changes: Changes,
    },
    /// Nothing to send (`outcome` says why); commit `changes` and ack.
    Skip {
        outcome: &'static str,
        changes: Changes,
    },
    /// Keep the message aside (paused shop, topic handled elsewhere).
    Park { reason: &'static str },
    Retry {
        reason: ReasonCode,
        detail: String,
        after: Option<Duration>,
    },
    DeadLetter {
        stage: &'static str,
        reason: ReasonCode,
        detail: String,
    },
}

/// A failure while preparing, already classified.
struct Stop(Plan);

impl From<so_store::Error> for Stop {
    fn from(e: so_store::Error) -> Stop {
        let detail = e.to_string();
        if e.is_transient() {
            Stop(Plan::Retry {
                reason: ReasonCode::StoreUnavailable,
                detail,
                after: None,
            })
        } else {
            Stop(Plan::DeadLetter {
                stage: "store",
                reason: ReasonCode::Internal,
                detail,
            })
        }
    }
}

impl From<MappingError> for Stop {
    fn from(e: MappingError) -> Stop {
        let detail = e.to_string();
        Stop(match e {
            // A refund can overtake its order (retries, backfills): wait for it.
            MappingError::OrderStateMissing { .. } => Plan::Retry {
                reason: ReasonCode::OrderNotYetSeen,
                detail,
                after: None,
            },
            MappingError::RecordTooLarge { .. } => Plan::DeadLetter {
                stage: "map",
                reason: ReasonCode::RecordTooLarge,
                detail,
            },
            _ => Plan::DeadLetter {
                stage: "map",
                reason: ReasonCode::InvalidPayload,
                detail,
            },
        })
    }
}

/// Turns deliveries into plans, reading the store through the batch overlay.
pub(crate) struct Preparer {
    pub(crate) store: Store,
    pub(crate) config: Arc<Config>,
    pub(crate) window: DedupeWindow,
    /// For merge-profile requests, which have their own slow lane.
    pub(crate) client: so_ometria::Client,
}

/// Per-event inputs shared by the topic handlers.
struct Ctx<'a> {
    meta: &'a EventMeta,
    cache: &'a mut Cache,
    shop: &'a ShopDomain,
    ns: Namespace,
    mapping: MappingContext,
    ledger: LedgerLookup,
    now: DateTime<Utc>,
    changes: Changes,
}

impl Preparer {
    /// Asks Ometria to merge the two customers' listings. Its lane allows one
    /// request a minute: a taken slot, a 429 or a transient failure sends the
    /// event to a broker retry tier (the redirect is already stored, so the
    /// retry only repeats this request); a permanent failure dead-letters it.
    async fn request_profile_merge(&self, m: &identity::ProfileMerge) -> Result<(), Stop> {
        match self
            .client
            .merge_profiles(&m.survivor_customer_id, &m.merged_customer_ids)
            .await
        {
            Ok(()) => Ok(()),
            Err(so_ometria::MergeError::Busy(wait)) => Err(Stop(Plan::Retry {
                reason: ReasonCode::OmetriaRateLimited,
                detail: "merge-profile allows one request per minute".to_owned(),
                after: Some(wait),
            })),
            Err(so_ometria::MergeError::Failed(e)) => {
                let detail = format!("merge-profile: {}", error_chain(&e));
                Err(Stop(match e.disposition() {
                    Disposition::Retry { after, reason, .. } => Plan::Retry {
                        reason,
                        detail,
                        after,
                    },
                    Disposition::DeadLetter { reason, .. } => Plan::DeadLetter {
                        stage: "push",
                        reason,
                        detail,
                    },
                    Disposition::Done => return Ok(()),
                }))
            }
        }
    }

    pub(crate) async fn prepare(
        &self,
        meta: &EventMeta,
        screened: Screened,
        pending: &Pending,
        cache: &mut Cache,
    ) -> Plan {
        match self.try_prepare(meta, screened, pending, cache).await {
            Ok(plan) | Err(Stop(plan)) => plan,
        }
    }

    async fn try_prepare(
        &self,
        meta: &EventMeta,
        screened: Screened,
        pending: &Pending,
        cache: &mut Cache,
    ) -> Result<Plan, Stop> {
        let shop = &meta.shop;
        let Screened { payload, ns } = screened;
        let ledger = if pending.seen(shop, meta.webhook_id.as_str()) {
            LedgerLookup::SeenAt(Utc::now())
        } else {
            match cache.ledger(shop, meta.webhook_id.as_str()) {
                Some(Some(at)) => LedgerLookup::SeenAt(at),
                Some(None) => LedgerLookup::NotSeen,
                None => self.store.ledger_lookup(shop, &meta.webhook_id).await?,
            }
        };
        let event_time = meta.triggered_at.unwrap_or(meta.received_at);
        let mut cx = Ctx {
            meta,
            cache,
            shop,
            mapping: MappingContext::new(shop, ns.clone(), event_time),
            ns,
            ledger,
            now: Utc::now(),
            changes: Changes::default(),
        };
        cx.changes.ledger = Some(so_store::LedgerEntry {
            shop: shop.clone(),
            webhook_id: meta.webhook_id.clone(),
            topic: meta.topic.clone(),
            event_id: meta.event_id.clone(),
            seen_at: cx.now,
        });
        let records = self.by_payload(&mut cx, payload, pending).await?;
        let changes = cx.changes;
        Ok(match records {
            Some(records) if !records.is_empty() => Plan::Push { records, changes },
            Some(_) => Plan::Skip {
                outcome: "no_records",
                changes,
            },
            None => Plan::Skip {
                outcome: "skipped",
                changes,
            },
        })
    }

    /// Freshness for one entity; `Err` carries the skip plan.
    async fn fresh(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        kind: EntityKind,
        id: String,
        version: Option<DateTime<FixedOffset>>,
    ) -> Result<(), Stop> {
        let key = WatermarkKey {
            shop: cx.shop.clone(),
            kind,
            id,
        };
        let applied = self.applied(cx, pending, &key).await?;
        let incoming = Incoming::new(cx.meta.webhook_id.clone(), kind, version);
        match freshness::decide(self.window, cx.now, cx.ledger, applied.as_ref(), &incoming) {
            Freshness::Apply { advance_to } => {
                if let Some(w) = advance_to {
                    cx.changes.watermarks.push((key, w));
                }
                Ok(())
            }
            Freshness::Duplicate { .. } => Err(Stop(Plan::Skip {
                outcome: "duplicate",
                changes: Changes::default(),
            })),
            Freshness::Stale { .. } => {
                let changes = Changes {
                    ledger: cx.changes.ledger.take(),
                    ..Changes::default()
                };
                Err(Stop(Plan::Skip {
                    outcome: "stale",
                    changes,
                }))
            }
        }
    }

    /// The last applied version of `key`: the batch's own changes first,
    /// then what the batch prefetched, then the store.
    async fn applied(
        &self,
        cx: &Ctx<'_>,
        pending: &Pending,
        key: &WatermarkKey,
    ) -> Result<Option<Watermark>, Stop> {
        if let Some(w) = pending.watermark(key) {
            return Ok(Some(w.clone()));
        }
        match cx.cache.watermark(key) {
            Some(w) => Ok(w.clone()),
            None => Ok(self.store.watermark(key).await?),
        }
    }

    /// The identity snapshot, reused within the batch until identity changes.
    async fn snapshot(
        &self,
        cx: &mut Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
    ) -> Result<IdentitySnapshot, Stop> {
        let key = (
            cx.shop.clone(),
            customer,
            email.map(|e| e.as_str().to_owned()),
        );
        if let Some(s) = cx.cache.snapshot(&key) {
            return Ok(s.clone());
        }
        let s = self
            .store
            .identity_snapshot(cx.shop, customer, email)
            .await?;
        cx.cache.remember_snapshot(key, s.clone());
        Ok(s)
    }

    /// Identity of a customer-keyed event; `None` when suppressed.
    async fn customer_contact(
        &self,
        cx: &mut Ctx<'_>,
        id: ShopifyId,
        email: Option<&str>,
    ) -> Result<Option<ContactRef>, Stop> {
        let email = email.and_then(identity::normalise_email);
        let mut snapshot = self.snapshot(cx, Some(id), email.as_ref()).await?;
        if let (Some(email), None) = (&email, &snapshot.guest) {
            // Claim the email for this customer (a guest row the identity
            // rules then link), so a later guest checkout with the same email
            // resolves to the account instead of starting a second person.
            let candidate = so_store::Store::new_guest_id();
            self.store
                .remember_guest_or_get(cx.shop, email, &candidate)
                .await?;
            cx.cache.forget_snapshots();
            snapshot = self.snapshot(cx, Some(id), Some(email)).await?;
        }
        let outcome = identity::resolve_customer(&cx.ns, &snapshot, id);
        Ok(self.apply(cx, outcome).await?.flatten())
    }

    /// Identity of an order or checkout: customer, else guest by email.
    async fn purchase_contact(
        &self,
        cx: &mut Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&str>,
    ) -> Result<Option<ContactRef>, Stop> {
        let email = email.and_then(identity::normalise_email);
        // Another worker may remember a guest for this email at the same
        // moment; the store keeps one and tells the loser, who decides again.
        for _ in 0..3 {
            let snapshot = self.snapshot(cx, customer, email.as_ref()).await?;
            let outcome = identity::resolve_purchase(
                &cx.ns,
                &snapshot,
                customer,
                email.as_ref(),
                so_store::Store::new_guest_id,
            );
            if let Some(contact) = self.apply(cx, outcome).await? {
                return Ok(contact);
            }
        }
        Err(Stop(Plan::Retry {
            reason: ReasonCode::StoreUnavailable,
            detail: "identity kept changing under concurrent updates".to_owned(),
            after: None,
        }))
    }

    /// Applies identity decisions. `Ok(None)`: lost a race, decide again.
    async fn apply(
        &self,
        cx: &mut Ctx<'_>,
        outcome: IdentityOutcome,
    ) -> Result<Option<Option<ContactRef>>, Stop> {
        if !outcome.decisions.is_empty() {
            let applied = self
                .store
                .apply_identity(cx.shop, &outcome.decisions)
                .await?;
            cx.cache.forget_snapshots();
            if let so_store::IdentityApplied::GuestTaken { .. } = applied {
                return Ok(None);
            }
        }
        Ok(Some(match outcome.resolution {
            Resolution::Contact(c) => Some(c),
            Resolution::Suppressed(_) | Resolution::NoContact => None,
        }))
    }

    /// The topic handlers. `Ok(None)` = nothing to do for this entity.
    async fn by_payload(
        &self,
        cx: &mut Ctx<'_>,
        payload: ShopifyPayload,
        pending: &Pending,
    ) -> Result<Option<Vec<PushRecord>>, Stop> {
        let shop = cx.shop.clone();
        match payload {
            ShopifyPayload::Order(order) => {
                self.fresh(
                    cx,
                    pending,
                    EntityKind::Order,
                    order.id.to_string(),
                    order.updated_at,
                )
                .await?;
                let customer = order.customer.as_ref().map(|c| c.id);
                let contact = self
                    .purchase_contact(cx, customer, order.buyer_email())
                    .await?;
                let stored = self.order_state(cx, order.id, pending).await?;
                let m = mapping::map_order(&cx.mapping, &order, contact.as_ref(), stored.as_ref())?;
                cx.changes.order_states.push((shop, m.state));
                Ok(Some(m.records))
            }
            ShopifyPayload::Refund(refund) => {
                self.fresh(
                    cx,
                    pending,
                    EntityKind::Order,
                    refund.order_id.to_string(),
                    None,
                )
                .await?;
                let stored = self.order_state(cx, refund.order_id, pending).await?;
                let m = mapping::map_refund(&cx.mapping, &refund, stored.as_ref())?;
                cx.changes.order_states.push((shop, m.state));
                Ok(Some(m.records))
            }
            ShopifyPayload::OrderDelete(del) => {
                self.fresh(cx, pending, EntityKind::Order, del.id.to_string(), None)
                    .await?;
                let stored = self.order_state(cx, del.id, pending).await?;
                let (state, records) =
                    mapping::map_order_delete(&cx.mapping, del.id, stored.as_ref())?;
                if let Some(state) = state {
                    cx.changes.order_states.push((shop, state));
                }
                Ok(Some(records))
            }
            ShopifyPayload::Customer(c) => {
                self.fresh(
                    cx,
                    pending,
                    EntityKind::Customer,
                    c.id.to_string(),
                    c.updated_at,
                )
                .await?;
                let Some(contact) = self.customer_contact(cx, c.id, c.email.as_deref()).await?
                else {
                    return Ok(None);
                };
                let legacy = self.legacy_parts(cx, &c, pending).await?;
                Ok(Some(mapping::map_customer(
                    &cx.mapping,
                    &contact,
                    &c,
                    legacy,
                )?))
            }
            ShopifyPayload::CustomerDelete(del) => {
                self.fresh(cx, pending, EntityKind::Customer, del.id.to_string(), None)
                    .await?;
                let snapshot = self.snapshot(cx, Some(del.id), None).await?;
                let outcome = identity::delete_customer(&cx.ns, &snapshot, del.id);
                let Some(contact) = self.apply(cx, outcome).await?.flatten() else {
                    return Ok(None);
                };
                Ok(Some(mapping::map_customer_delete(&cx.mapping, &contact)?))
            }
            ShopifyPayload::CustomerMerge(merge) => {
                if let Some(merged) = merge.completed() {
                    let (decision, profile_merge) = identity::merge_customers(&cx.ns, merged);
                    // The redirect first (idempotent): later events of the
                    // merged-away customer resolve to the survivor even while
                    // Ometria's merge waits for its slot.
                    let _applied = self.store.apply_identity(cx.shop, &[decision]).await?;
                    self.request_profile_merge(&profile_merge).await?;
                }
                Ok(None)
            }
            ShopifyPayload::EmailConsent(u) => {
                let version = u
                    .email_marketing_consent
                    .as_ref()
                    .and_then(|c| c.consent_updated_at);
                self.fresh(
                    cx,
                    pending,
                    EntityKind::EmailConsent,
                    u.customer_id.to_string(),
                    version,
                )
                .await?;
                let Some(contact) = self
                    .customer_contact(cx, u.customer_id, u.email_address.as_deref())
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(mapping::map_email_consent(&cx.mapping, &contact, &u)?))
            }
            ShopifyPayload::SmsConsent(u) => {
                let version = u
                    .sms_marketing_consent
                    .as_ref()
                    .and_then(|c| c.consent_updated_at);
                self.fresh(
                    cx,
                    pending,
                    EntityKind::SmsConsent,
                    u.id.to_string(),
                    version,
                )
                .await?;
                let Some(contact) = self.customer_contact(cx, u.id, None).await? else {
                    return Ok(None);
                };
                Ok(Some(mapping::map_sms_consent(&cx.mapping, &contact, &u)?))
            }
            ShopifyPayload::TagsAdded(e) | ShopifyPayload::TagsRemoved(e) => {
                let added = cx.meta.topic == TopicName::Known(Topic::CustomerTagsAdded);
                self.fresh(
                    cx,
                    pending,
                    EntityKind::CustomerTags,
                    e.customer_id.to_string(),
                    e.occurred_at,
                )
                .await?;
                let Some(contact) = self.customer_contact(cx, e.customer_id, None).await? else {
                    return Ok(None);
                };
                let current = match pending.tags(&shop, e.customer_id) {
                    Some(t) => t.clone(),
                    None => self.store.customer_tags(&shop, e.customer_id).await?,
                };
                let (plus, minus): (&[String], &[String]) = if added {
                    (&e.tags, &[])
                } else {
                    (&[], &e.tags)
                };
                let next = mapping::apply_tag_change(&current, plus, minus);
                let records = mapping::map_tags(&cx.mapping, &contact, &next)?;
                cx.changes.tags.push((shop, e.customer_id, next));
                Ok(Some(records))
            }
            ShopifyPayload::PurchasingSummary(s) => {
                self.fresh(
                    cx,
                    pending,
                    EntityKind::PurchasingSummary,
                    s.customer_id.to_string(),
                    s.occurred_at,
                )
                .await?;
                let Some(contact) = self.customer_contact(cx, s.customer_id, None).await? else {
                    return Ok(None);
                };
                Ok(Some(mapping::map_purchasing_summary(
                    &cx.mapping,
                    &contact,
                    &s,
                )?))
            }
            ShopifyPayload::Product(p) => {
                self.fresh(
                    cx,
                    pending,
                    EntityKind::Product,
                    p.id.to_string(),
                    p.updated_at,
                )
                .await?;
                let records = mapping::map_product(&cx.mapping, &p)?;
                let variants = p.variants.iter().map(|v| v.id).collect();
                cx.changes.variants.push((shop, p.id, variants));
                Ok(Some(records))
            }
            ShopifyPayload::ProductDelete(del) => {
                self.fresh(cx, pending, EntityKind::Product, del.id.to_string(), None)
                    .await?;
                let known = match pending.variants(&shop, del.id) {
                    Some(v) => v.clone(),
                    None => self.store.known_variants(&shop, del.id).await?,
                };
                Ok(Some(mapping::map_product_delete(
                    &cx.mapping,
                    del.id,
                    &known,
                )?))
            }
            // Abandoned checkouts become custom events with issue 6; order
            // edits and fulfilments arrive again as full orders/updated.
            ShopifyPayload::Checkout(_)
            | ShopifyPayload::CheckoutDelete(_)
            | ShopifyPayload::OrderEdited(_)
            | ShopifyPayload::NotMapped(_) => {
                let incoming =
                    Incoming::new(cx.meta.webhook_id.clone(), EntityKind::Checkout, None);
                if let Freshness::Duplicate { .. } =
                    freshness::decide(self.window, cx.now, cx.ledger, None, &incoming)
                {
                    return Err(Stop(Plan::Skip {
                        outcome: "duplicate",
                        changes: Changes::default(),
                    }));
                }
                Ok(Some(Vec::new()))
            }
        }
    }

    async fn order_state(
        &self,
        cx: &Ctx<'_>,
        id: ShopifyId,
        pending: &Pending,
    ) -> Result<Option<mapping::OrderState>, Stop> {
        if let Some(s) = pending.order(cx.shop, id) {
            return Ok(Some(s.clone()));
        }
        match cx.cache.order(cx.shop, id) {
            Some(s) => Ok(s.clone()),
            None => Ok(self.store.order_state(cx.shop, id).await?),
        }
    }

    /// Pre-2025-01 customer payloads carry consent: apply each part only if
    /// it is not older than what its own topic already applied.
    async fn legacy_parts(
        &self,
        cx: &Ctx<'_>,
        c: &shopify::Customer,
        pending: &Pending,
    ) -> Result<LegacyParts, Stop> {
        let mut parts = LegacyParts::ALL;
        for (kind, consent, part) in [
            (
                EntityKind::EmailConsent,
                c.email_marketing_consent.as_ref(),
                &mut parts.email_consent,
            ),
            (
                EntityKind::SmsConsent,
                c.sms_marketing_consent.as_ref(),
                &mut parts.sms_consent,
            ),
        ] {
            let Some(consent) = consent else { continue };
            let key = WatermarkKey {
                shop: cx.shop.clone(),
                kind,
                id: c.id.to_string(),
            };
            let applied = self.applied(cx, pending, &key).await?;
            let incoming = consent.consent_updated_at.map(|t| t.with_timezone(&Utc));
            if applied.is_some_and(|a| incoming.is_none_or(|t| t < a.version)) {
                *part = Part::Skip;
            }
        }
        Ok(parts)
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}
