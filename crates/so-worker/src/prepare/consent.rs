//! Email consent against the contact's history: whether a `NOT_SPECIFIED`
//! may be sent (only over a value we set ourselves) and whether an opt-in
//! is forced (only when newer than an unsubscribe made in Ometria, which
//! the consent write-back recorded). The decision is the mapping's
//! ([`mapping::settle_email_consent`]); this reads the history for it.

use so_domain::identity::ContactRef;
use so_domain::mapping::{self, ConsentEffect, ConsentHistory, MarketingOptIn};
use so_domain::ometria::PushRecord;
use so_domain::shopify::{MarketingConsent, ShopifyId};

use super::{Ctx, Preparer};
use crate::outcome::Failure;
use crate::pending::Pending;

impl Preparer {
    /// Settles the email consent the contact `records` carry (`consent`,
    /// of the Shopify customer `customer_id`) and remembers an explicit one.
    pub(super) async fn settle_consent(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        customer_id: ShopifyId,
        contact: &ContactRef,
        consent: Option<&MarketingConsent>,
        records: &mut [PushRecord],
    ) -> Result<(), Failure> {
        let Some(consent) = consent else {
            return Ok(());
        };
        let Some(state) = &consent.state else {
            return Ok(());
        };
        let id = contact.ometria_id();
        let set = match pending.consent_set(cx.shop, &id) {
            Some(forced) => Some(forced),
            None => self.store.consent_set(cx.shop, &id).await?,
        };
        let mut history = ConsentHistory {
            set_before: set.is_some(),
            forced_before: set == Some(true),
            ometria_unsubscribed_at: None,
        };
        if mapping::marketing_optin(state) == MarketingOptIn::ExplicitlyOptedIn {
            history.ometria_unsubscribed_at = self
                .store
                .ometria_unsubscribed_at(cx.shop, customer_id)
                .await?;
        }
        let effect = mapping::settle_email_consent(records, consent, &history);
        match effect {
            ConsentEffect::SetExplicitly { forced } => {
                cx.changes.consent_set.push((cx.shop.clone(), id, forced));
            }
            ConsentEffect::NotSpecifiedLeftOut => tracing::debug!(
                customer_id = customer_id.get(),
                "NOT_SPECIFIED left out: this contact's consent was never set by us."
            ),
            ConsentEffect::Unchanged => {}
        }
        Ok(())
    }
}
