//! Stage 1: from a delivery to the records it should produce.
//!
//! One file per entity ([`orders`], [`customers`], [`products`],
//! [`checkouts`]), plus privacy requests and the shop's lifecycle; what they
//! share: dedupe and freshness ([`dedupe`]), identity ([`identity`]) and
//! the subscribers-only filter ([`profile`]). A handler ends its event
//! early with `ControlFlow::Break(reason)`, a skip; `Err` is only for
//! failures.

mod checkouts;
mod consent;
mod customers;
mod dedupe;
pub(crate) mod due;
mod identity;
mod lifecycle;
mod orders;
mod privacy;
mod products;
mod profile;
mod properties;

pub(crate) use properties::buyer_of;

use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use so_domain::freshness::{DedupeWindow, LedgerLookup};
use so_domain::identity::{ContactRef, Namespace};
use so_domain::mapping::{self, MappedEntity, MappingContext};
use so_domain::ometria::PushRecord;
use so_domain::shopify::ShopifyPayload;
use so_domain::{EventMeta, ShopDomain, SkipReason};
use so_store::Store;

use crate::accounts::Account;
use crate::cache::Cache;
use crate::outcome::{Failure, Outcome};
use crate::pending::{Changes, Pending};
use crate::rules::{Rules, ShopRules};
use crate::screen::Screened;

/// What a handler decided: go on with a value, or end the event here as a
/// skip (its `cx.changes` are still committed); `Err` is a failure.
type Step<T> = Result<ControlFlow<SkipReason, T>, Failure>;

/// The value of a [`Step`] that went on; a skip ends the calling handler
/// with the same skip.
macro_rules! proceed {
    ($step:expr) => {
        match $step {
            std::ops::ControlFlow::Continue(v) => v,
            std::ops::ControlFlow::Break(skip) => return Ok(std::ops::ControlFlow::Break(skip)),
        }
    };
}
use proceed;

/// Turns deliveries into outcomes, reading the store through the batch
/// overlay.
pub(crate) struct Preparer {
    pub(crate) store: Store,
    pub(crate) window: DedupeWindow,
    pub(crate) rules: Arc<Rules>,
    /// How long a `customers/data_request` export is kept in the store.
    pub(crate) export_retention: chrono::TimeDelta,
    /// When a due abandonment check may decide.
    pub(crate) checks: due::CheckGate,
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
    pub(crate) async fn prepare(
        &self,
        meta: &EventMeta,
        screened: Screened,
        pending: &Pending,
        cache: &mut Cache,
    ) -> Outcome {
        match self.try_prepare(meta, screened, pending, cache).await {
            Ok(outcome) => outcome,
            Err(failure) => Outcome::Failed(failure),
        }
    }

    async fn try_prepare(
        &self,
        meta: &EventMeta,
        screened: Screened,
        pending: &Pending,
        cache: &mut Cache,
    ) -> Result<Outcome, Failure> {
        let shop = &meta.shop;
        let Screened {
            payload,
            rules,
            account,
            raw,
            abandonment_check,
            check_due,
        } = screened;
        let ledger = self.ledger(meta, pending, cache).await?;
        let event_time = meta.triggered_at.unwrap_or(meta.received_at);
        let ns = rules.ns.clone();
        let mut cx = Ctx {
            meta,
            cache,
            shop,
            mapping: rules.mapping_context(shop, event_time),
            ns,
            ledger,
            now: Utc::now(),
            changes: Changes::default(),
            rules,
            account: account.clone(),
            contact: None,
        };
        if let Some(reason) = self.lifecycle(&mut cx, &payload).await? {
            return Ok(Outcome::Park(reason));
        }
        if abandonment_check
            && cx.rules.settings.abandoned_checkouts.enabled
            && !self.check_ready(check_due).await?
        {
            return Ok(Outcome::Deferred);
        }
        let step = self
            .records(&mut cx, payload, raw, abandonment_check, pending)
            .await?;
        let changes = cx.changes;
        Ok(match step {
            ControlFlow::Continue(records) if !records.is_empty() => Outcome::Push {
                records,
                changes,
                account,
            },
            ControlFlow::Continue(_) => Outcome::Skipped {
                reason: SkipReason::NoRecords,
                changes,
            },
            ControlFlow::Break(reason) => Outcome::Skipped { reason, changes },
        })
    }

    /// Whether the delivery was seen: the batch's own first, then what the
    /// batch prefetched, then the store.
    async fn ledger(
        &self,
        meta: &EventMeta,
        pending: &Pending,
        cache: &Cache,
    ) -> Result<LedgerLookup, Failure> {
        let shop = &meta.shop;
        Ok(if pending.seen(shop, meta.webhook_id.as_str()) {
            LedgerLookup::SeenAt(Utc::now())
        } else {
            match cache.ledger(shop, meta.webhook_id.as_str()) {
                Some(Some(at)) => LedgerLookup::SeenAt(at),
                Some(None) => LedgerLookup::NotSeen,
                None => self.store.ledger_lookup(shop, &meta.webhook_id).await?,
            }
        })
    }

    /// The event's records, with the shop's extra fields and lists, through
    /// the profile filter.
    async fn records(
        &self,
        cx: &mut Ctx<'_>,
        payload: ShopifyPayload,
        raw: Option<serde_json::Value>,
        abandonment_check: bool,
        pending: &Pending,
    ) -> Step<Vec<PushRecord>> {
        let mut records = match (abandonment_check, payload) {
            // The scheduled copy of a checkout already processed: it has
            // its own idempotency (the notified version), not the ledger.
            (true, ShopifyPayload::Checkout(c)) => {
                proceed!(self.abandonment_check(cx, &c, pending).await?)
            }
            (_, payload) => {
                cx.changes.ledger = Some(so_store::LedgerEntry {
                    shop: cx.shop.clone(),
                    webhook_id: cx.meta.webhook_id.clone(),
                    topic: cx.meta.topic.clone(),
                    event_id: cx.meta.event_id.clone(),
                    seen_at: cx.now,
                });
                let entity = MappedEntity::of_payload(&payload);
                let mut records = proceed!(self.by_payload(cx, payload, pending).await?);
                if let (Some(entity), Some(raw)) = (entity, raw.as_ref()) {
                    mapping::apply_field_mappings(&cx.rules.mappings, entity, raw, &mut records);
                }
                records
            }
        };
        cx.rules.settings.lists.apply(&mut records);
        if let Some(raw) = &raw {
            so_domain::profile_send::apply(raw, &mut records);
        }
        self.complete_properties(cx, &mut records).await?;
        self.filter_profile(cx, pending, records).await
    }

    /// The topic handlers, by entity.
    async fn by_payload(
        &self,
        cx: &mut Ctx<'_>,
        payload: ShopifyPayload,
        pending: &Pending,
    ) -> Step<Vec<PushRecord>> {
        match payload {
            ShopifyPayload::Order(order) => self.order(cx, pending, &order).await,
            ShopifyPayload::Refund(refund) => self.refund(cx, pending, &refund).await,
            ShopifyPayload::OrderDelete(del) => self.order_delete(cx, pending, &del).await,
            ShopifyPayload::Customer(c) => self.customer(cx, pending, &c).await,
            ShopifyPayload::CustomerDelete(del) => self.customer_delete(cx, pending, &del).await,
            ShopifyPayload::CustomerMerge(merge) => self.customer_merge(cx, &merge).await,
            ShopifyPayload::EmailConsent(u) => self.email_consent(cx, pending, &u).await,
            ShopifyPayload::SmsConsent(u) => self.sms_consent(cx, pending, &u).await,
            ShopifyPayload::TagsAdded(e) | ShopifyPayload::TagsRemoved(e) => {
                self.tags(cx, pending, &e).await
            }
            ShopifyPayload::PurchasingSummary(s) => self.purchasing_summary(cx, pending, &s).await,
            ShopifyPayload::Product(p) => self.product(cx, pending, &p).await,
            ShopifyPayload::ProductDelete(del) => self.product_delete(cx, pending, &del).await,
            ShopifyPayload::Checkout(c) => self.checkout(cx, pending, &c).await,
            ShopifyPayload::CheckoutDelete(del) => self.checkout_delete(cx, pending, &del).await,
            ShopifyPayload::CustomerRedact(r) => self.customer_redact(cx, &r).await,
            ShopifyPayload::DataRequest(r) => self.data_request(cx, &r).await,
            ShopifyPayload::ShopRedact => self.shop_redact(cx).await,
            ShopifyPayload::AppUninstalled => self.app_uninstalled(cx).await,
            // Order edits and fulfilments arrive again as full orders/updated.
            ShopifyPayload::OrderEdited(_) | ShopifyPayload::NotMapped(_) => {
                proceed!(self.not_a_duplicate(cx));
                Ok(ControlFlow::Continue(Vec::new()))
            }
        }
    }
}
