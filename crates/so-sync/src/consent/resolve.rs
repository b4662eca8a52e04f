//! Which profile an unsubscribe concerns, and publishing a Shopify opt-in
//! again: the write-back's two look-ups beside the three conditions.

use so_ometria::{Profile, Unsubscribe};

use super::{ConsentSync, Reason, shopify_customer_id};
use crate::SyncError;

impl ConsentSync<'_> {
    /// Publishes a Shopify opt-in again (see [`super::Republish`]).
    pub(super) async fn republish(
        &self,
        opt_in: Option<&so_shopify_admin::Synthesized>,
    ) -> Result<(), SyncError> {
        if let (Some(event), Some(to)) = (opt_in, self.republish) {
            crate::publish::publish(to.publisher, self.shop, to.api_version, event).await?;
            tracing::debug!(
                shop = self.shop.as_str(),
                "A Shopify opt-in newer than an Ometria unsubscribe was published again."
            );
        }
        Ok(())
    }

    /// The profile an unsubscribe concerns: the one it names, else the one
    /// its email resolves to (`GET /v2/profiles?email=`) before it is
    /// skipped. Of several profiles with the email, the one whose
    /// `customer_id` is a customer of this shop; if none or several are,
    /// the unsubscribe is skipped as `profile_not_found` or
    /// `profile_ambiguous`.
    pub(super) async fn profile_of(
        &self,
        u: &Unsubscribe,
    ) -> Result<Result<Profile, Reason>, SyncError> {
        if let Some(id) = u.profile_id.as_deref().filter(|p| !p.trim().is_empty()) {
            return Ok(self
                .ometria
                .profile(id)
                .await?
                .ok_or(Reason::ProfileNotFound));
        }
        let Some(email) = u
            .email_address
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            return Ok(Err(Reason::ProfileNotFound));
        };
        let mut found = self.ometria.profiles_by_email(email).await?;
        if found.len() > 1 {
            found.retain(|p| shopify_customer_id(p.customer_id.as_deref(), self.namespace).is_ok());
        }
        Ok(match found.len() {
            0 => Err(Reason::ProfileNotFound),
            1 => Ok(found.remove(0)),
            _ => Err(Reason::ProfileAmbiguous),
        })
    }
}
