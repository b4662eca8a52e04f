//! Ometria unsubscribes written back to Shopify, under the rules of
//! Ometria's own Shopify write-back (ometria.md §4): an unsubscribe is sent
//! only if (1) the contact is still unsubscribed when it is sent, (2) its
//! profile has a `customer_id` that is a Shopify customer id of this shop
//! (the shop's namespace prefix stripped), and (3) the customer exists in
//! Shopify.
//!
//! One [`ConsentSync::run_once`] reads `GET /v2/unsubscribes` from the
//! shop's cursor to now, decides on every entry in timestamp order and
//! records each decision ([`so_store::ConsentDecision`] and the
//! [`DECISIONS_METRIC`] counter). The mutation
//! (`customerEmailMarketingConsentUpdate`, shopify.md §5) makes Shopify send
//! a consent webhook back; the worker pushes that opt-out to Ometria through
//! the API, and Ometria does not list API-originated unsubscribes, so the
//! round trip does not loop. Before sending, the customer's email-consent
//! watermark moves to the unsubscribe's time: the worker then drops any
//! Shopify consent event older than the unsubscribe as stale, so such an
//! event never re-subscribes the contact.
//!
//! A failure that retrying may fix (Shopify throttled past the deadline or
//! unavailable, Ometria or the store failing) stops the run with the error
//! and leaves the cursor at the unsubscribe in hand, so the next run reads
//! it again; decisions already made stay recorded. Re-deciding is safe: a
//! customer already unsubscribed in Shopify is skipped without a mutation.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use so_domain::freshness::{EntityKind, Watermark, WatermarkKey};
use so_domain::identity::Namespace;
use so_domain::{ShopDomain, ShopifyId, WebhookId};
use so_ometria::{Profile, Unsubscribe};
use so_shopify_admin::{AdminClient, AdminError, ConsentTarget, Customer, EmailMarketingState};
use so_store::{Commit, CommitOutcome, ConsentDecision, Store};

use crate::SyncError;

mod reason;
mod resolve;
mod resubscribe;

pub use reason::{Reason, decision_reasons};
pub use resubscribe::Republish;

/// The shop's sync value holding where the next run starts reading
/// unsubscribes (RFC 3339).
pub const CURSOR: &str = "consent_cursor";

/// Counter of decisions, labelled `decision` (`sent` or `skipped`) and
/// `reason` (one of [`decision_reasons`]).
pub const DECISIONS_METRIC: &str = so_platform::metrics::CONSENT_DECISIONS;

/// Prefix of the webhook id stored with the watermarks this job moves.
pub const WEBHOOK_ID_PREFIX: &str = "consent-sync:";

/// What one run did. Counts only: no emails, no ids.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentReport {
    /// Start of the window read (inclusive).
    pub since: DateTime<Utc>,
    /// End of the window read (exclusive); the next run starts here.
    pub until: DateTime<Utc>,
    /// Unsubscribes Ometria listed in the window.
    pub read: u64,
    /// Unsubscribes written to Shopify.
    pub sent: u64,
    /// Unsubscribes not written, by reason. `read = sent + Σ skipped`.
    pub skipped: BTreeMap<String, u64>,
}

/// One shop's consent write-back.
pub struct ConsentSync<'a> {
    pub ometria: &'a so_ometria::Client,
    pub admin: &'a AdminClient,
    pub store: &'a Store,
    pub shop: &'a ShopDomain,
    /// The shop's namespace (`shops.*.namespace`): the prefix of the
    /// `customer_id`s we push, stripped to get the Shopify id.
    pub namespace: &'a Namespace,
    /// Where the very first run starts reading (later runs use the cursor).
    pub first_start: DateTime<Utc>,
    /// Where a Shopify opt-in newer than the unsubscribe is published again
    /// for the worker to force ([`Republish`]); `None`: not done.
    pub republish: Option<Republish<'a>>,
}

/// A decision and the customer (and resolved profile) it concerns, when
/// known.
struct Decided {
    reason: Reason,
    customer: Option<u64>,
    profile_id: Option<String>,
    /// The Shopify opt-in to publish again (`shopify_consent_newer`).
    opt_in: Option<so_shopify_admin::Synthesized>,
}

impl Decided {
    fn new(reason: Reason, customer: Option<u64>) -> Self {
        Decided {
            reason,
            customer,
            profile_id: None,
            opt_in: None,
        }
    }
}

/// How far before the cursor each run reads again.
pub const OVERLAP: std::time::Duration = std::time::Duration::from_secs(3600);

impl ConsentSync<'_> {
    /// Reads the unsubscribes since the cursor, decides on each, writes the
    /// qualifying ones to Shopify and moves the cursor to the end of the
    /// window.
    pub async fn run_once(&self) -> Result<ConsentReport, SyncError> {
        let (since, resumed) = self.cursor().await?;
        // Ometria's query times have whole seconds: the cursor is the
        // `before` that was actually sent.
        let until = Utc::now().trunc_subsecs(0);
        let mut report = ConsentReport {
            since,
            until,
            read: 0,
            sent: 0,
            skipped: BTreeMap::new(),
        };
        // After the first run the window starts an hour before the cursor:
        // an unsubscribe Ometria lists only after a delay is still seen.
        // Those of the overlap that were decided on before are passed over.
        // (The first run starts exactly at the configured start.)
        let from = if resumed {
            since - chrono::Duration::from_std(OVERLAP).unwrap_or_default()
        } else {
            since
        };
        if until <= from {
            tracing::debug!(
                shop = self.shop.as_str(),
                %since,
                "Consent write-back: the cursor is not in the past yet."
            );
            return Ok(report);
        }
        let listed = self.ometria.unsubscribes(from, Some(until)).await?;
        let mut fresh = Vec::with_capacity(listed.len());
        for u in listed {
            let seen = match (u.timestamp < since, u.profile_id.as_deref()) {
                (true, Some(p)) => {
                    self.store
                        .consent_decided(self.shop, p, u.timestamp)
                        .await?
                }
                _ => false,
            };
            if !seen {
                fresh.push(u);
            }
        }
        let listed = fresh;
        report.read = listed.len() as u64;
        for (unsubscribe, early) in plan(listed) {
            let at = unsubscribe.timestamp;
            let decided = match early {
                Some(reason) => Ok(Decided::new(reason, None)),
                None => self.decide(&unsubscribe).await,
            };
            let recorded = match decided {
                Ok(d) => match self.record(&unsubscribe, &d, &mut report).await {
                    // Only once the decision is stored: the worker reads it
                    // to force the opt-in.
                    Ok(()) => self.republish(d.opt_in.as_ref()).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = recorded {
                self.stop_at(at, &e).await;
                return Err(e);
            }
        }
        self.store
            .set_sync_value(self.shop, CURSOR, &until.to_rfc3339())
            .await?;
        crate::shop_status::keep_consent_run(self.store, self.shop, &report).await?;
        tracing::info!(
            shop = self.shop.as_str(),
            %since,
            %until,
            read = report.read,
            sent = report.sent,
            skipped = report.read.saturating_sub(report.sent),
            reasons = ?report.skipped,
            "Consent write-back finished."
        );
        Ok(report)
    }

    /// The cursor, and whether an earlier run left it.
    async fn cursor(&self) -> Result<(DateTime<Utc>, bool), SyncError> {
        match self.store.sync_value(self.shop, CURSOR).await? {
            None => Ok((self.first_start, false)),
            Some(raw) => DateTime::parse_from_rfc3339(&raw)
                .map(|t| (t.with_timezone(&Utc), true))
                .map_err(|e| {
                    SyncError::Invalid(format!(
                        "sync value {CURSOR} of {} is not RFC 3339 ({e})",
                        self.shop.as_str()
                    ))
                }),
        }
    }

    /// Leaves the cursor at `at`, so the unsubscribe in hand (and any other
    /// of the same second) is read again by the next run.
    async fn stop_at(&self, at: DateTime<Utc>, error: &SyncError) {
        tracing::warn!(
            shop = self.shop.as_str(),
            resume_at = %at,
            error = %error,
            "Consent write-back stopped; the next run resumes at the unsubscribe in hand."
        );
        if let Err(e) = self
            .store
            .set_sync_value(self.shop, CURSOR, &at.to_rfc3339())
            .await
        {
            tracing::warn!(
                shop = self.shop.as_str(),
                error = %e,
                "Could not save the consent cursor; the next run re-reads from the previous one."
            );
        }
    }

    /// The three conditions, in order, then the mutation.
    async fn decide(&self, u: &Unsubscribe) -> Result<Decided, SyncError> {
        // Read now, not when it was listed: condition 1 is about send time.
        let profile = match self.profile_of(u).await? {
            Ok(profile) => profile,
            Err(reason) => return Ok(Decided::new(reason, None)),
        };
        let mut decided = self.decide_for(u, &profile).await?;
        decided.profile_id = Some(profile.id);
        Ok(decided)
    }

    /// [`Self::decide`] once the profile is known.
    async fn decide_for(&self, u: &Unsubscribe, profile: &Profile) -> Result<Decided, SyncError> {
        let profile_id = profile.id.as_str();
        let customer = shopify_customer_id(profile.customer_id.as_deref(), self.namespace);
        if !profile.is_opted_out() {
            return Ok(Decided::new(Reason::ResubscribedInOmetria, customer.ok()));
        }
        let id = match customer {
            Ok(id) => id,
            Err(reason) => return Ok(Decided::new(reason, None)),
        };
        let Some(customer) = self.admin.customer(id).await? else {
            return Ok(Decided::new(Reason::CustomerNotInShopify, Some(id)));
        };
        if let Some(reason) = shopify_side(&customer, u.timestamp) {
            if reason == Reason::AlreadyUnsubscribedInShopify {
                self.hold_back_older_consent(id, u.timestamp, profile_id)
                    .await?;
            }
            let mut decided = Decided::new(reason, Some(id));
            if reason == Reason::ShopifyConsentNewer {
                decided.opt_in = resubscribe::opt_in_event(id, &customer);
            }
            return Ok(decided);
        }
        // First the watermark: a delayed, older Shopify consent event the
        // worker handles while the mutation is in flight is already stale.
        self.hold_back_older_consent(id, u.timestamp, profile_id)
            .await?;
        match self
            .admin
            .update_email_consent(id, ConsentTarget::Unsubscribed, Some(u.timestamp))
            .await
        {
            Ok(_) => Ok(Decided::new(Reason::Sent, Some(id))),
            Err(AdminError::UserErrors(errors)) => {
                let codes: Vec<&str> = errors
                    .iter()
                    .map(|e| e.code.as_deref().unwrap_or("none"))
                    .collect();
                tracing::warn!(
                    shop = self.shop.as_str(),
                    customer_id = id,
                    codes = ?codes,
                    "Shopify refused an unsubscribe from Ometria."
                );
                Ok(Decided::new(Reason::ShopifyRefused, Some(id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the customer's email-consent watermark to the unsubscribe's
    /// time (only ever forward): Shopify consent events older than it are
    /// then stale for the worker.
    async fn hold_back_older_consent(
        &self,
        customer_id: u64,
        at: DateTime<Utc>,
        profile_id: &str,
    ) -> Result<(), SyncError> {
        let webhook_id = WebhookId::parse(&format!("{WEBHOOK_ID_PREFIX}{profile_id}"))
            .or_else(|_| WebhookId::parse(&format!("{WEBHOOK_ID_PREFIX}customer-{customer_id}")))
            .map_err(|_| SyncError::Invalid("consent write-back webhook id".to_owned()))?;
        let commit = Commit {
            watermarks: vec![(
                WatermarkKey {
                    shop: self.shop.clone(),
                    kind: EntityKind::EmailConsent,
                    id: customer_id.to_string(),
                },
                Watermark {
                    version: at,
                    webhook_id,
                },
            )],
            ..Commit::default()
        };
        match self.store.commit(&commit).await? {
            CommitOutcome::Committed => {}
            // A newer Shopify consent change was applied: it stays.
            CommitOutcome::Superseded { .. } => {
                tracing::debug!(
                    shop = self.shop.as_str(),
                    customer_id,
                    "The email-consent watermark is already newer than the unsubscribe."
                );
            }
        }
        Ok(())
    }

    async fn record(
        &self,
        u: &Unsubscribe,
        d: &Decided,
        report: &mut ConsentReport,
    ) -> Result<(), SyncError> {
        let (decision, reason) = (d.reason.decision(), d.reason.as_str());
        self.store
            .record_consent_decision(
                self.shop,
                &ConsentDecision {
                    profile_id: d
                        .profile_id
                        .clone()
                        .or_else(|| u.profile_id.clone())
                        .unwrap_or_default(),
                    customer_id: d.customer.map(ShopifyId::new),
                    decision: decision.to_owned(),
                    reason: reason.to_owned(),
                    decided_at: Utc::now(),
                    unsubscribed_at: Some(u.timestamp),
                },
            )
            .await?;
        so_platform::metrics::consent_decisions(decision, reason, 1);
        tracing::debug!(
            shop = self.shop.as_str(),
            customer_id = d.customer,
            decision,
            reason,
            "Consent write-back decision."
        );
        if d.reason == Reason::Sent {
            report.sent += 1;
        } else {
            *report.skipped.entry(reason.to_owned()).or_default() += 1;
        }
        Ok(())
    }
}

/// The listed unsubscribes in timestamp order, each with the reason it is
/// skipped without a look-up: SMS ones, and all but the latest of one
/// profile.
fn plan(mut listed: Vec<Unsubscribe>) -> Vec<(Unsubscribe, Option<Reason>)> {
    // Stable: entries of the same second keep Ometria's order.
    listed.sort_by_key(|u| u.timestamp);
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for (i, u) in listed.iter().enumerate() {
        if is_sms(u) {
            continue;
        }
        if let Some(p) = u.profile_id.as_deref().filter(|p| !p.trim().is_empty()) {
            latest.insert(p, i);
        }
    }
    let early: Vec<Option<Reason>> = listed
        .iter()
        .enumerate()
        .map(|(i, u)| {
            if is_sms(u) {
                return Some(Reason::SmsUnsubscribe);
            }
            let p = u.profile_id.as_deref()?;
            latest
                .get(p)
                .is_some_and(|&last| last != i)
                .then_some(Reason::DuplicateInWindow)
        })
        .collect();
    listed.into_iter().zip(early).collect()
}

/// SMS stop-word unsubscribes (`stopword_unsubscribe_TF`, `_DO`, ...).
fn is_sms(u: &Unsubscribe) -> bool {
    let kind = u.kind.trim().to_ascii_lowercase();
    kind.starts_with("stopword_unsubscribe") || kind.starts_with("sms")
}

/// The Shopify customer id in an Ometria `customer_id`: `<namespace><digits>`
/// with this shop's namespace.
pub fn shopify_customer_id(
    customer_id: Option<&str>,
    namespace: &Namespace,
) -> Result<u64, Reason> {
    let raw = customer_id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Reason::NoShopifyCustomerId)?;
    let (prefix, digits) = match raw.rfind(':') {
        Some(i) => raw.split_at(i + 1),
        None => ("", raw),
    };
    let id = Some(digits)
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .ok_or(Reason::NoShopifyCustomerId)?;
    if prefix == namespace.as_str() {
        Ok(id)
    } else {
        Err(Reason::OtherStoreNamespace)
    }
}

/// What Shopify's side says against sending: no email, already
/// unsubscribed, or a newer opt-in.
fn shopify_side(customer: &Customer, unsubscribed_at: DateTime<Utc>) -> Option<Reason> {
    if customer.email_address().is_none() {
        return Some(Reason::CustomerHasNoEmail);
    }
    let changed_at = customer.marketing_changed_at();
    match customer.marketing_state() {
        Some(EmailMarketingState::Unsubscribed) => Some(Reason::AlreadyUnsubscribedInShopify),
        Some(EmailMarketingState::Subscribed | EmailMarketingState::Pending)
            if changed_at.is_some_and(|t| t > unsubscribed_at) =>
        {
            Some(Reason::ShopifyConsentNewer)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
