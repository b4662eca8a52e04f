//! Customers and what hangs off them: deletes, merges, email and SMS
//! consent, tags and the purchasing summary.

use std::ops::ControlFlow;

use chrono::Utc;
use so_domain::freshness::{EntityKind, Watermark, WatermarkKey};
use so_domain::identity;
use so_domain::mapping::{self, LegacyParts, Part};
use so_domain::ometria::PushRecord;
use so_domain::shopify;
use so_domain::{SkipReason, Topic, TopicName, behaviour};

use super::{Ctx, Preparer, Step, proceed};
use crate::accounts::Account;
use crate::outcome::Failure;
use crate::pending::Pending;

/// The end of an event about a contact that identity suppressed (or never
/// found): nothing to send.
const NO_CONTACT: ControlFlow<SkipReason, Vec<PushRecord>> =
    ControlFlow::Break(SkipReason::NothingToSend);

impl Preparer {
    /// `customers/create|update`.
    pub(super) async fn customer(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        c: &shopify::Customer,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::Customer,
                c.id.to_string(),
                c.updated_at,
            )
            .await?
        );
        let Some(contact) = self.customer_contact(cx, c.id, c.email.as_deref()).await? else {
            return Ok(NO_CONTACT);
        };
        let legacy = self.legacy_parts(cx, c, pending).await?;
        let mut records = mapping::map_customer(&cx.mapping, &contact, c, legacy)?;
        let consent = c
            .email_marketing_consent
            .as_ref()
            .filter(|_| legacy.email_consent == Part::Apply);
        self.settle_consent(cx, pending, c.id, &contact, consent, &mut records)
            .await?;
        Ok(ControlFlow::Continue(records))
    }

    /// `customers/delete`.
    pub(super) async fn customer_delete(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        del: &shopify::CustomerDelete,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(cx, pending, EntityKind::Customer, del.id.to_string(), None)
                .await?
        );
        let snapshot = self.snapshot(cx, Some(del.id), None).await?;
        let outcome = identity::delete_customer(&cx.ns, &snapshot, del.id);
        let Some(contact) = self.apply(cx, outcome).await?.flatten() else {
            return Ok(NO_CONTACT);
        };
        cx.contact = Some(contact.clone());
        Ok(ControlFlow::Continue(mapping::map_customer_delete(
            &cx.mapping,
            &contact,
        )?))
    }

    /// `customers/merge`: nothing is pushed; Ometria merges the listings on
    /// its own request.
    pub(super) async fn customer_merge(
        &self,
        cx: &mut Ctx<'_>,
        merge: &shopify::CustomerMerge,
    ) -> Step<Vec<PushRecord>> {
        if let Some(merged) = merge.completed() {
            let (decision, profile_merge) = identity::merge_customers(&cx.ns, merged);
            // The redirect first (idempotent): later events of the
            // merged-away customer resolve to the survivor even while
            // Ometria's merge waits for its slot.
            let _applied = self.store.apply_identity(cx.shop, &[decision]).await?;
            self.request_profile_merge(&cx.account, &profile_merge)
                .await?;
        }
        Ok(NO_CONTACT)
    }

    /// Asks Ometria to merge the two customers' listings. Its lane allows one
    /// request a minute: a taken slot, a 429 or a transient failure sends the
    /// event to a broker retry tier (the redirect is already stored, so the
    /// retry only repeats this request); a permanent failure dead-letters it.
    async fn request_profile_merge(
        &self,
        account: &Account,
        m: &identity::ProfileMerge,
    ) -> Result<(), Failure> {
        super::privacy::merge_outcome(
            account
                .client
                .merge_profiles(&m.survivor_customer_id, &m.merged_customer_ids)
                .await,
        )
    }

    /// `customers/email_marketing_consent_update`.
    pub(super) async fn email_consent(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        u: &shopify::EmailConsentUpdate,
    ) -> Step<Vec<PushRecord>> {
        let version = u
            .email_marketing_consent
            .as_ref()
            .and_then(|c| c.consent_updated_at);
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::EmailConsent,
                u.customer_id.to_string(),
                version,
            )
            .await?
        );
        let Some(contact) = self
            .customer_contact(cx, u.customer_id, u.email_address.as_deref())
            .await?
        else {
            return Ok(NO_CONTACT);
        };
        let mut records = mapping::map_email_consent(&cx.mapping, &contact, u)?;
        let consent = u.email_marketing_consent.as_ref();
        self.settle_consent(cx, pending, u.customer_id, &contact, consent, &mut records)
            .await?;
        Ok(ControlFlow::Continue(records))
    }

    /// `customers/marketing_consent_update` (SMS).
    pub(super) async fn sms_consent(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        u: &shopify::SmsConsentUpdate,
    ) -> Step<Vec<PushRecord>> {
        let version = u
            .sms_marketing_consent
            .as_ref()
            .and_then(|c| c.consent_updated_at);
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::SmsConsent,
                u.id.to_string(),
                version,
            )
            .await?
        );
        let Some(contact) = self.customer_contact(cx, u.id, None).await? else {
            return Ok(NO_CONTACT);
        };
        Ok(ControlFlow::Continue(mapping::map_sms_consent(
            &cx.mapping,
            &contact,
            u,
        )?))
    }

    /// `customer.tags_added|tags_removed`: the whole tag set is sent.
    pub(super) async fn tags(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        e: &shopify::CustomerTagsEvent,
    ) -> Step<Vec<PushRecord>> {
        let shop = cx.shop.clone();
        let added = cx.meta.topic == TopicName::Known(Topic::CustomerTagsAdded);
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::CustomerTags,
                e.customer_id.to_string(),
                e.occurred_at,
            )
            .await?
        );
        let Some(contact) = self.customer_contact(cx, e.customer_id, None).await? else {
            return Ok(NO_CONTACT);
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
        Ok(ControlFlow::Continue(records))
    }

    /// `customer.purchasing_summary`.
    pub(super) async fn purchasing_summary(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        s: &shopify::PurchasingSummary,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::PurchasingSummary,
                s.customer_id.to_string(),
                s.occurred_at,
            )
            .await?
        );
        let Some(contact) = self.customer_contact(cx, s.customer_id, None).await? else {
            return Ok(NO_CONTACT);
        };
        let mut records = mapping::map_purchasing_summary(&cx.mapping, &contact, s)?;
        behaviour::shape_summary(&mut records, cx.rules.settings.behaviour, s);
        Ok(ControlFlow::Continue(records))
    }

    /// Pre-2025-01 customer payloads carry consent: apply each part only if
    /// it is not older than what its own topic already applied.
    async fn legacy_parts(
        &self,
        cx: &mut Ctx<'_>,
        c: &shopify::Customer,
        pending: &Pending,
    ) -> Result<LegacyParts, Failure> {
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
