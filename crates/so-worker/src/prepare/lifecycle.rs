//! The shop's lifecycle: `app/uninstalled` and `shop/redact`, and parking
//! the events of a shop that is uninstalled or erased.

use std::ops::ControlFlow;

use so_domain::ometria::PushRecord;
use so_domain::shopify::ShopifyPayload;
use so_domain::{ParkReason, SkipReason};

use super::{Ctx, Preparer, Step, proceed};
use crate::outcome::Failure;

impl Preparer {
    /// An uninstalled or redacted shop's events are parked (kept). An event
    /// triggered after the uninstall means the app is back: processing
    /// resumes (the parked ones are replayed by the operator).
    pub(super) async fn lifecycle(
        &self,
        cx: &mut Ctx<'_>,
        payload: &ShopifyPayload,
    ) -> Result<Option<ParkReason>, Failure> {
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
            so_store::ShopStatus::Uninstalled => Ok(Some(ParkReason::ShopUninstalled)),
            so_store::ShopStatus::Redacted => Ok(Some(ParkReason::ShopRedacted)),
        }
    }

    /// `shop/redact`: everything held for the shop is deleted.
    pub(super) async fn shop_redact(&self, cx: &mut Ctx<'_>) -> Step<Vec<PushRecord>> {
        proceed!(self.not_a_duplicate(cx));
        let shop = cx.shop.clone();
        self.store.redact_shop(&shop, cx.now).await?;
        cx.cache
            .set_shop_state(&shop, Some((so_store::ShopStatus::Redacted, cx.now)));
        tracing::warn!("shop/redact: everything held for the shop was deleted.");
        so_platform::metrics::privacy_request("shop_redact");
        Ok(ControlFlow::Break(SkipReason::ShopRedacted))
    }

    /// `app/uninstalled`: the shop's later events are parked until it is
    /// installed again.
    pub(super) async fn app_uninstalled(&self, cx: &mut Ctx<'_>) -> Step<Vec<PushRecord>> {
        proceed!(self.not_a_duplicate(cx));
        let shop = cx.shop.clone();
        let at = cx.meta.triggered_at.unwrap_or(cx.meta.received_at);
        self.store
            .set_shop_status(&shop, Some(so_store::ShopStatus::Uninstalled), at)
            .await?;
        // Its OAuth tokens are revoked already (shopify-apps.md §9): deleted here, unless the
        // shop installed again after this event was triggered.
        if self
            .store
            .uninstall_shop_tokens(shop.as_str(), at, cx.now)
            .await?
        {
            so_platform::metrics::shop_access_refused(shop.as_str(), "oauth", false);
            tracing::warn!("App uninstalled: the shop's OAuth tokens were deleted.");
        }
        cx.cache
            .set_shop_state(&shop, Some((so_store::ShopStatus::Uninstalled, at)));
        tracing::warn!(
            "App uninstalled: the shop's events are parked until it is installed again."
        );
        Ok(ControlFlow::Break(SkipReason::Uninstalled))
    }
}
