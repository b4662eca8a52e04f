//! Privacy requests: `customers/redact` and `customers/data_request`, and
//! the slow Ometria lanes (data deletion, profile merge) they and merges
//! wait on.

use std::ops::ControlFlow;
use std::time::Duration;

use so_domain::identity;
use so_domain::ometria::PushRecord;
use so_domain::shopify;
use so_domain::{ReasonCode, SkipReason, Stage, error_chain};

use super::{Ctx, Preparer, Step, proceed};
use crate::outcome::Failure;

impl Preparer {
    /// `customers/redact`.
    pub(super) async fn customer_redact(
        &self,
        cx: &mut Ctx<'_>,
        r: &shopify::CustomerRedact,
    ) -> Step<Vec<PushRecord>> {
        proceed!(self.not_a_duplicate(cx));
        self.redact(cx, r).await?;
        Ok(ControlFlow::Break(SkipReason::Redacted))
    }

    /// `customers/data_request`.
    pub(super) async fn data_request(
        &self,
        cx: &mut Ctx<'_>,
        r: &shopify::DataRequest,
    ) -> Step<Vec<PushRecord>> {
        proceed!(self.not_a_duplicate(cx));
        self.export(cx, r).await?;
        Ok(ControlFlow::Break(SkipReason::Exported))
    }

    /// `customers/redact`: erase the person here, suppress them, and ask
    /// Ometria to erase them too (its own slow lane, 6 a minute). The
    /// erasure here comes first and is idempotent, so a retry (slot taken,
    /// Ometria down) only repeats the Ometria request.
    async fn redact(&self, cx: &mut Ctx<'_>, r: &shopify::CustomerRedact) -> Result<(), Failure> {
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
            so_platform::metrics::privacy_request("customer_redact");
            return Ok(());
        };
        match cx.account.client.request_erasure(email.as_str()).await {
            Ok(request) => {
                self.store
                    .record_erasure(&shop, &fingerprint, customer, Some(&request.id), cx.now)
                    .await?;
                so_platform::metrics::privacy_request("customer_redact");
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
    async fn export(&self, cx: &mut Ctx<'_>, r: &shopify::DataRequest) -> Result<(), Failure> {
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
        so_platform::metrics::privacy_request("data_request");
        tracing::info!(export_id = %id, request = %request, "Data request exported.");
        Ok(())
    }
}

/// A slow Ometria lane (merge-profile, data deletion) whose slot is taken:
/// the event waits on the broker for the next one.
pub(super) fn lane_busy(detail: &str, wait: Duration) -> Failure {
    Failure::Retry {
        reason: ReasonCode::OmetriaRateLimited,
        detail: detail.to_owned(),
        after: Some(wait),
    }
}

/// A failed request on a slow Ometria lane, retried through the broker or
/// dead-lettered as the classifier says.
pub(super) fn lane_failure(what: &str, e: &so_ometria::Error) -> Result<(), Failure> {
    let detail = format!("{what}: {}", error_chain(e));
    match Failure::from_disposition(e.disposition(), Stage::Push) {
        Some(failure) => Err(failure.with_detail(detail)),
        None => Ok(()),
    }
}

/// What a merge-profile request (one a minute, never waited for) means for
/// the event that asked for it.
pub(super) fn merge_outcome(result: Result<(), so_ometria::MergeError>) -> Result<(), Failure> {
    match result {
        Ok(()) => Ok(()),
        Err(so_ometria::MergeError::Busy(wait)) => Err(lane_busy(
            "merge-profile allows one request per minute",
            wait,
        )),
        Err(so_ometria::MergeError::Failed(e)) => lane_failure("merge-profile", &e),
    }
}
