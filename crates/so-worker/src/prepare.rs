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
use so_domain::mapping::{self, LegacyParts, MappedEntity, MappingContext, MappingError, Part};
use so_domain::merchant::{self, ProfileFilter};
use so_domain::ometria::{PushRecord, RecordType};
use so_domain::shopify::{self, ShopifyId, ShopifyPayload};
use so_domain::{Disposition, EventMeta, ReasonCode, ShopDomain, Topic, TopicName};
use so_domain::{abandonment, behaviour};
use so_store::Store;
use so_store::{CheckoutChange, HeldChange};

use crate::accounts::Account;
use crate::cache::Cache;
use crate::pending::{Changes, Pending};
use crate::rules::{Rules, ShopRules};
use crate::screen::Screened;

/// What to do with one event.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Push `records` to `account`; commit `changes` once all of them are
    /// accepted.
    Push {
        records: Vec<PushRecord>,
        changes: Changes,
        account: Arc<Account>,
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
    pub(crate) window: DedupeWindow,
    pub(crate) rules: Arc<Rules>,
    /// How long a `customers/data_request` export is kept in the store.
    pub(crate) export_retention: chrono::TimeDelta,
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
    rules: Arc<ShopRules>,
    account: Arc<Account>,
    /// The contact the event is about, once identity resolved it.
    contact: Option<ContactRef>,
}

impl Preparer {
    /// Asks Ometria to merge the two customers' listings. Its lane allows one
    /// request a minute: a taken slot, a 429 or a transient failure sends the
    /// event to a broker retry tier (the redirect is already stored, so the
    /// retry only repeats this request); a permanent failure dead-letters it.
    async fn request_profile_merge(
        &self,
        account: &Account,
        m: &identity::ProfileMerge,
    ) -> Result<(), Stop> {
        match account
            .client
            .merge_profiles(&m.survivor_customer_id, &m.merged_customer_ids)
            .await
        {
            Ok(()) => Ok(()),
            Err(so_ometria::MergeError::Busy(wait)) => Err(lane_busy(
                "merge-profile allows one request per minute",
                wait,
            )),
            Err(so_ometria::MergeError::Failed(e)) => lane_failure("merge-profile", &e),
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
        let Screened {
            payload,
            rules,
            account,
            raw,
            abandonment_check,
        } = screened;
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
        let ns = rules.ns.clone();
        let mut cx = Ctx {
            meta,
            cache,
            shop,
            mapping: MappingContext::new(shop, ns.clone(), event_time),
            ns,
            ledger,
            now: Utc::now(),
            changes: Changes::default(),
            rules,
            account: account.clone(),
            contact: None,
        };
        if let Some(plan) = self.lifecycle(&mut cx, &payload).await? {
            return Ok(plan);
        }
        let records = match (abandonment_check, payload) {
            // The scheduled copy of a checkout already processed: it has
            // its own idempotency (the notified version), not the ledger.
            (true, ShopifyPayload::Checkout(c)) => {
                self.abandonment_check(&mut cx, &c, pending).await?
            }
            (_, payload) => {
                cx.changes.ledger = Some(so_store::LedgerEntry {
                    shop: shop.clone(),
                    webhook_id: meta.webhook_id.clone(),
                    topic: meta.topic.clone(),
                    event_id: meta.event_id.clone(),
                    seen_at: cx.now,
                });
                let entity = mapped_entity(&payload);
                let records = self.by_payload(&mut cx, payload, pending).await?;
                match (records, entity, raw) {
                    (Some(mut records), Some(entity), Some(raw)) => {
                        apply_mappings(&cx.rules, entity, &raw, &mut records);
                        Some(records)
                    }
                    (records, _, _) => records,
                }
            }
        };
        let records = match records {
            Some(mut records) => {
                cx.rules.settings.lists.apply(&mut records);
                Some(self.filter_profile(&mut cx, pending, records).await?)
            }
            None => None,
        };
        let changes = cx.changes;
        Ok(match records {
            Some(records) if !records.is_empty() => Plan::Push {
                records,
                changes,
                account,
            },
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
        // Only a live customer claims its email; a redacted person's email
        // is never remembered again.
        let may_claim =
            snapshot.customer == identity::CustomerStatus::Active && !snapshot.email_suppressed;
        if let (Some(email), None, true) = (&email, &snapshot.guest, may_claim) {
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
        let contact = self.apply(cx, outcome).await?.flatten();
        cx.contact.clone_from(&contact);
        Ok(contact)
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
                cx.contact.clone_from(&contact);
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
                if let (true, Some(token)) = (
                    cx.rules.settings.abandoned_checkouts.enabled,
                    order.checkout_token.as_deref().filter(|t| !t.is_empty()),
                ) {
                    let token = token.to_owned();
                    cx.changes
                        .checkouts
                        .push((shop.clone(), CheckoutChange::Completed { token }));
                }
                mark_behaviour(cx, stored.as_ref(), &m.state);
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
                mark_behaviour(cx, stored.as_ref(), &m.state);
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
                    mark_behaviour(cx, stored.as_ref(), &state);
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
                cx.contact = Some(contact.clone());
                Ok(Some(mapping::map_customer_delete(&cx.mapping, &contact)?))
            }
            ShopifyPayload::CustomerMerge(merge) => {
                if let Some(merged) = merge.completed() {
                    let (decision, profile_merge) = identity::merge_customers(&cx.ns, merged);
                    // The redirect first (idempotent): later events of the
                    // merged-away customer resolve to the survivor even while
                    // Ometria's merge waits for its slot.
                    let _applied = self.store.apply_identity(cx.shop, &[decision]).await?;
                    self.request_profile_merge(&cx.account, &profile_merge)
                        .await?;
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
                let mut records = mapping::map_purchasing_summary(&cx.mapping, &contact, &s)?;
                let on = cx.rules.settings.behaviour;
                for r in &mut records {
                    if let Some(serde_json::Value::Object(p)) = r.body.get_mut("properties") {
                        // The summary owns count and total: the average follows from them.
                        if let (true, Some(count), Some(spent)) = (
                            on.average_order_value,
                            s.number_of_orders.map(|c| c.0).filter(|c| *c > 0),
                            s.amount_spent.as_ref().map(|a| a.amount),
                        ) {
                            let avg = behaviour::Behaviour {
                                orders_count: count,
                                total_spent: spent,
                                ..behaviour::Behaviour::default()
                            }
                            .average_order_value();
                            if let Some(avg) = avg {
                                p.insert(behaviour::AVERAGE_ORDER_VALUE.to_owned(), avg.to_json());
                            }
                        }
                        if !on.orders_count {
                            p.remove(behaviour::ORDERS_COUNT);
                        }
                        if !on.total_spent {
                            p.remove(behaviour::TOTAL_SPENT);
                            p.remove("shopify_total_spent_currency");
                        }
                    }
                }
                Ok(Some(records))
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
            ShopifyPayload::Checkout(c) => self.checkout(cx, pending, &c).await.map(Some),
            ShopifyPayload::CheckoutDelete(del) => {
                self.not_a_duplicate(cx)?;
                if let Some(token) = [del.token.as_deref(), del.cart_token.as_deref()]
                    .into_iter()
                    .flatten()
                    .find(|t| !t.is_empty())
                {
                    let token = token.to_owned();
                    cx.changes
                        .checkouts
                        .push((shop, CheckoutChange::Completed { token }));
                }
                Ok(Some(Vec::new()))
            }
            ShopifyPayload::CustomerRedact(r) => {
                self.not_a_duplicate(cx)?;
                self.redact(cx, &r).await?;
                Err(done(cx, "redacted"))
            }
            ShopifyPayload::DataRequest(r) => {
                self.not_a_duplicate(cx)?;
                self.export(cx, &r).await?;
                Err(done(cx, "exported"))
            }
            ShopifyPayload::ShopRedact => {
                self.not_a_duplicate(cx)?;
                self.store.redact_shop(&shop, cx.now).await?;
                cx.cache
                    .set_shop_state(&shop, Some((so_store::ShopStatus::Redacted, cx.now)));
                tracing::warn!("shop/redact: everything held for the shop was deleted.");
                so_runtime::metrics::privacy_request("shop_redact");
                Err(done(cx, "shop_redacted"))
            }
            ShopifyPayload::AppUninstalled => {
                self.not_a_duplicate(cx)?;
                let at = cx.meta.triggered_at.unwrap_or(cx.meta.received_at);
                self.store
                    .set_shop_status(&shop, Some(so_store::ShopStatus::Uninstalled), at)
                    .await?;
                cx.cache
                    .set_shop_state(&shop, Some((so_store::ShopStatus::Uninstalled, at)));
                tracing::warn!(
                    "App uninstalled: the shop's events are parked until it is installed again."
                );
                Err(done(cx, "uninstalled"))
            }
            // Order edits and fulfilments arrive again as full orders/updated.
            ShopifyPayload::OrderEdited(_) | ShopifyPayload::NotMapped(_) => {
                self.not_a_duplicate(cx)?;
                Ok(Some(Vec::new()))
            }
        }
    }

    /// An uninstalled or redacted shop's events are parked (kept). An event
    /// triggered after the uninstall means the app is back: processing
    /// resumes (the parked ones are replayed by the operator).
    async fn lifecycle(
        &self,
        cx: &mut Ctx<'_>,
        payload: &ShopifyPayload,
    ) -> Result<Option<Plan>, Stop> {
        let Some((status, since)) = cx.cache.shop_state(cx.shop) else {
            return Ok(None);
        };
        if matches!(
            payload,
            ShopifyPayload::AppUninstalled
                | ShopifyPayload::ShopRedact
                | ShopifyPayload::CustomerRedact(_)
                | ShopifyPayload::DataRequest(_)
        ) {
            return Ok(None);
        }
        let triggered = cx.meta.triggered_at.unwrap_or(cx.meta.received_at);
        match status {
            so_store::ShopStatus::Uninstalled if triggered > since => {
                self.store.set_shop_status(cx.shop, None, cx.now).await?;
                cx.cache.set_shop_state(cx.shop, None);
                tracing::info!(
                    "An event from after the uninstall: the app is back, processing resumes."
                );
                Ok(None)
            }
            so_store::ShopStatus::Uninstalled => Ok(Some(Plan::Park {
                reason: "shop_uninstalled",
            })),
            so_store::ShopStatus::Redacted => Ok(Some(Plan::Park {
                reason: "shop_redacted",
            })),
        }
    }

    /// `customers/redact`: erase the person here, suppress them, and ask
    /// Ometria to erase them too (its own slow lane, 6 a minute). The
    /// erasure here comes first and is idempotent, so a retry (slot taken,
    /// Ometria down) only repeats the Ometria request.
    async fn redact(&self, cx: &mut Ctx<'_>, r: &shopify::CustomerRedact) -> Result<(), Stop> {
        let shop = cx.shop.clone();
        let email = r
            .customer
            .email
            .as_deref()
            .and_then(identity::normalise_email);
        let customer = r.customer.id;
        let contacts = self.contacts_of(cx, customer, email.as_ref()).await?;
        self.store
            .redact_person(&shop, customer, email.as_ref(), &contacts, cx.now)
            .await?;
        cx.cache.forget_snapshots();
        let fingerprint = match (&email, customer) {
            (Some(e), _) => so_store::email_fingerprint(e),
            (None, Some(id)) => format!("customer:{id}"),
            (None, None) => return Ok(()),
        };
        if self.store.erasure(&shop, &fingerprint).await?.is_some() {
            return Ok(());
        }
        let Some(email) = email else {
            // Nothing identifies the person to Ometria's erasure API.
            self.store
                .record_erasure(&shop, &fingerprint, customer, None, cx.now)
                .await?;
            so_runtime::metrics::privacy_request("customer_redact");
            return Ok(());
        };
        match cx.account.client.request_erasure(email.as_str()).await {
            Ok(request) => {
                self.store
                    .record_erasure(&shop, &fingerprint, customer, Some(&request.id), cx.now)
                    .await?;
                so_runtime::metrics::privacy_request("customer_redact");
                tracing::info!(ometria_request = %request.id, "Customer redacted; Ometria erasure requested.");
                Ok(())
            }
            Err(so_ometria::ErasureError::Busy(wait)) => {
                Err(lane_busy("data-deletion requests allow six a minute", wait))
            }
            Err(so_ometria::ErasureError::Failed(e)) => lane_failure("data-deletion request", &e),
        }
    }

    /// `customers/data_request`: everything held about the person, kept in
    /// the store (served by `/admin/exports`) for the merchant to hand over.
    /// Written once per request: a redelivery keeps the first export.
    async fn export(&self, cx: &mut Ctx<'_>, r: &shopify::DataRequest) -> Result<(), Stop> {
        let shop = cx.shop.clone();
        let email = r
            .customer
            .email
            .as_deref()
            .and_then(identity::normalise_email);
        let contacts = self.contacts_of(cx, r.customer.id, email.as_ref()).await?;
        let export = self
            .store
            .export_person(&shop, r.customer.id, email.as_ref(), &contacts)
            .await?;
        let request = r.data_request.as_ref().map_or_else(
            || cx.meta.webhook_id.as_str().to_owned(),
            |d| d.id.to_string(),
        );
        let id = self
            .store
            .save_export(
                &shop,
                &request,
                r.customer.id,
                &export,
                cx.now,
                cx.now + self.export_retention,
            )
            .await?;
        so_runtime::metrics::privacy_request("data_request");
        tracing::info!(export_id = %id, request = %request, "Data request exported.");
        Ok(())
    }

    /// The Ometria contact ids of a person: the customer's and the guest's
    /// that holds their email.
    async fn contacts_of(
        &self,
        cx: &Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
    ) -> Result<Vec<String>, Stop> {
        let mut contacts = Vec::new();
        if let Some(id) = customer {
            contacts.push(ContactRef::customer(&cx.ns, id).ometria_id());
        }
        if let Some(e) = email
            && let Some(g) = self.store.guest_for_email(cx.shop, e).await?
        {
            contacts.push(ContactRef::guest(&cx.ns, g).ometria_id());
        }
        Ok(contacts)
    }

    /// For topics without a version: only the ledger says it was seen.
    fn not_a_duplicate(&self, cx: &Ctx<'_>) -> Result<(), Stop> {
        let incoming = Incoming::new(cx.meta.webhook_id.clone(), EntityKind::Checkout, None);
        match freshness::decide(self.window, cx.now, cx.ledger, None, &incoming) {
            Freshness::Duplicate { .. } => Err(Stop(Plan::Skip {
                outcome: "duplicate",
                changes: Changes::default(),
            })),
            _ => Ok(()),
        }
    }

    /// `checkouts/create|update`: remember the version and schedule its
    /// abandonment check on the broker (the disposer publishes it before
    /// the ack). Nothing is pushed now.
    async fn checkout(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        c: &shopify::Checkout,
    ) -> Result<Vec<PushRecord>, Stop> {
        let Some(token) = c.key().map(str::to_owned) else {
            self.not_a_duplicate(cx)?;
            return Ok(Vec::new());
        };
        self.fresh(
            cx,
            pending,
            EntityKind::Checkout,
            token.clone(),
            c.updated_at,
        )
        .await?;
        let settings = cx.rules.settings.abandoned_checkouts.clone();
        if !settings.enabled {
            return Ok(Vec::new());
        }
        let shop = cx.shop.clone();
        if c.completed_at.is_some() {
            cx.changes
                .checkouts
                .push((shop, CheckoutChange::Completed { token }));
            return Ok(Vec::new());
        }
        let customer = c.customer.as_ref().map(|c| c.id);
        let email = checkout_email(c);
        if customer.is_none() && email.is_none() {
            // Nobody to remind.
            return Ok(Vec::new());
        }
        let Some(contact) = self.purchase_contact(cx, customer, email).await? else {
            return Ok(Vec::new());
        };
        cx.changes.checkouts.push((
            shop,
            CheckoutChange::Seen {
                token,
                version: checkout_version(c, cx.now),
                contact: Some(contact.ometria_id()),
            },
        ));
        cx.changes.check_after_secs = Some(settings.delay_secs);
        Ok(Vec::new())
    }

    /// The scheduled check of one checkout version: its custom event if it
    /// was abandoned, else a skip saying why not.
    async fn abandonment_check(
        &self,
        cx: &mut Ctx<'_>,
        c: &shopify::Checkout,
        pending: &Pending,
    ) -> Result<Option<Vec<PushRecord>>, Stop> {
        let settings = cx.rules.settings.abandoned_checkouts.clone();
        let Some(token) = c.key().map(str::to_owned) else {
            return Ok(Some(Vec::new()));
        };
        if !settings.enabled {
            return Err(Stop(Plan::Skip {
                outcome: "checkout_events_off",
                changes: Changes::default(),
            }));
        }
        let shop = cx.shop.clone();
        let scheduled = checkout_version(c, cx.now);
        let mut row = self.store.checkout(&shop, &token).await?;
        for change in pending.checkout_changes(&shop, &token) {
            apply_checkout_change(&mut row, change);
        }
        let contact_id = row.as_ref().and_then(|r| r.contact.clone());
        let (newer, last_order_at) = match &contact_id {
            Some(id) => {
                let newer = self
                    .store
                    .newer_checkout_of_contact(&shop, id, &token, scheduled)
                    .await?;
                let mut orders = self.store.orders_of_contact(&shop, id).await?;
                orders.extend(pending.orders_of(&shop, id).into_iter().cloned());
                let last = orders.iter().map(|o| o.timestamp.with_timezone(&Utc)).max();
                (newer, last)
            }
            None => (false, None),
        };
        let facts = abandonment::DueFacts {
            scheduled,
            stored_version: row.as_ref().map(|r| r.version),
            completed: row.as_ref().is_some_and(|r| r.completed),
            notified_version: row.as_ref().and_then(|r| r.notified_version),
            contact_has_newer_checkout: newer,
            last_order_at,
        };
        if let Err(why) = abandonment::decide(&facts) {
            return Err(Stop(Plan::Skip {
                outcome: why.as_str(),
                changes: Changes::default(),
            }));
        }
        let customer = c.customer.as_ref().map(|c| c.id);
        let Some(contact) = self
            .purchase_contact(cx, customer, checkout_email(c))
            .await?
        else {
            return Ok(None);
        };
        let record = abandonment::custom_event(&cx.mapping, &contact, c, &settings.event_type)?;
        cx.changes.checkouts.push((
            shop,
            CheckoutChange::Notified {
                token,
                version: scheduled,
            },
        ));
        Ok(Some(vec![record]))
    }

    /// Subscribers-only shops: a contact that is not an email subscriber
    /// gets nothing sent; its records are held, and sent, before the
    /// event's own, the moment it subscribes. An unsubscribe of a contact
    /// that was sent still goes out (Ometria must learn of it).
    async fn filter_profile(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        records: Vec<PushRecord>,
    ) -> Result<Vec<PushRecord>, Stop> {
        if cx.rules.settings.profiles != ProfileFilter::Subscribers || records.is_empty() {
            return Ok(records);
        }
        let Some(contact) = cx.contact.clone() else {
            return Ok(records);
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
        let subscribed = signal.or(before).unwrap_or(false);
        if subscribed {
            if before == Some(true) {
                return Ok(records);
            }
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
            return Ok(held);
        }
        if before == Some(true) {
            return Ok(records);
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
        Err(Stop(Plan::Skip {
            outcome: "held_not_subscribed",
            changes: std::mem::take(&mut cx.changes),
        }))
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
        cx: &mut Ctx<'_>,
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
            if applied
                .as_ref()
                .is_some_and(|a| incoming.is_none_or(|t| t < a.version))
            {
                *part = Part::Skip;
            } else if let Some(version) = incoming {
                // Applied: the consent's own topic now sees this version, so
                // an older consent event cannot undo it.
                cx.changes.watermarks.push((
                    key,
                    Watermark {
                        version,
                        webhook_id: cx.meta.webhook_id.clone(),
                    },
                ));
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

fn checkout_email(c: &shopify::Checkout) -> Option<&str> {
    c.email
        .as_deref()
        .or_else(|| c.customer.as_ref().and_then(|c| c.email.as_deref()))
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// A checkout's version: `updated_at`, else `created_at`, else now.
fn checkout_version(c: &shopify::Checkout, now: DateTime<Utc>) -> DateTime<Utc> {
    c.updated_at
        .or(c.created_at)
        .map_or(now, |t| t.with_timezone(&Utc))
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

/// Which configured field mappings apply to a payload.
fn mapped_entity(payload: &ShopifyPayload) -> Option<MappedEntity> {
    match payload {
        ShopifyPayload::Customer(_) => Some(MappedEntity::Contact),
        ShopifyPayload::Order(_) => Some(MappedEntity::Order),
        ShopifyPayload::Product(_) => Some(MappedEntity::Product),
        _ => None,
    }
}

/// The shop's extra fields into the `properties` of the entity's records.
fn apply_mappings(
    rules: &ShopRules,
    entity: MappedEntity,
    raw: &serde_json::Value,
    records: &mut [PushRecord],
) {
    let record_type = match entity {
        MappedEntity::Contact => RecordType::Contact,
        MappedEntity::Order => RecordType::Order,
        MappedEntity::Product => RecordType::Product,
    };
    for r in records.iter_mut().filter(|r| r.record_type == record_type) {
        let properties = r
            .body
            .entry("properties")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(p) = properties {
            rules.mappings.apply(entity, raw, p);
            if p.is_empty() {
                r.body.remove("properties");
            }
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

/// Ends an event that needed no push: its ledger entry is still committed.
fn done(cx: &mut Ctx<'_>, outcome: &'static str) -> Stop {
    Stop(Plan::Skip {
        outcome,
        changes: std::mem::take(&mut cx.changes),
    })
}

/// A slow Ometria lane (merge-profile, data deletion) whose slot is taken:
/// the event waits on the broker for the next one.
fn lane_busy(detail: &str, wait: Duration) -> Stop {
    Stop(Plan::Retry {
        reason: ReasonCode::OmetriaRateLimited,
        detail: detail.to_owned(),
        after: Some(wait),
    })
}

/// A failed request on a slow Ometria lane, retried through the broker or
/// dead-lettered as the classifier says.
fn lane_failure(what: &str, e: &so_ometria::Error) -> Result<(), Stop> {
    let detail = format!("{what}: {}", error_chain(e));
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
