//! The third side of a reconciliation: what Ometria itself holds for the
//! customers updated in the window.
//!
//! Each customer with an email address costs one `GET /v2/profiles?email=`,
//! through the client's limiter (Ometria's per-account budget, shared with
//! the pushes). A customer is *missing* when no profile with that address
//! carries its `customer_id` (this shop's namespace prefix included); its
//! consent *differs* when that profile's `marketing_optin` is not what the
//! worker sends for Shopify's email consent (`subscribed` → opted in,
//! `unsubscribed` → opted out, anything else → not specified).
//!
//! Which differences a re-send may repair: the worker never sends
//! `@force_optin`, so it cannot (and must not) override a consent choice
//! made in Ometria. An opt-out in Ometria, and an opt-in in Ometria against
//! a Shopify state that is not explicit, are reported but not re-sent: the
//! first is an Ometria-side unsubscribe the consent write-back carries to
//! Shopify, the second may come from another source (a form).

use serde::Serialize;
use so_domain::identity::Namespace;
use so_ometria::{MarketingOptin, Profile};
use so_shopify_admin::{Customer, EmailMarketingState};

use super::Drift;
use crate::SyncError;
use crate::consent::shopify_customer_id;

/// What the Ometria side needs for one shop.
pub struct OmetriaSide<'a> {
    pub client: &'a so_ometria::Client,
    /// The shop's namespace: the prefix of the `customer_id`s we push.
    pub namespace: &'a Namespace,
    /// `profiles = "subscribers"`: non-subscribers are held back on purpose,
    /// so their absence in Ometria is not drift.
    pub subscribers_only: bool,
}

/// The Ometria side's counts, in the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OmetriaTotals {
    /// Customers looked up in Ometria (one request each).
    pub checked: u64,
    /// Of those, held by Ometria as a contact of this shop.
    pub found: u64,
    /// Held by no profile with their email (`contact_missing`).
    pub missing: u64,
    /// Found with another `marketing_optin` than Shopify's (`consent_differs`).
    pub consent_differs: u64,
    /// Not looked up: no email address, or a non-subscriber of a
    /// subscribers-only shop.
    pub not_checked: u64,
}

/// One difference and whether re-sending the customer can repair it.
pub(super) struct Finding {
    pub(super) drift: Drift,
    pub(super) repair: bool,
}

impl OmetriaSide<'_> {
    /// Compares each customer with Ometria's profiles for its address.
    pub(super) async fn compare<'c>(
        &self,
        customers: &'c [Customer],
    ) -> Result<(OmetriaTotals, Vec<(&'c Customer, Finding)>), SyncError> {
        let mut totals = OmetriaTotals::default();
        let mut findings = Vec::new();
        for c in customers {
            let expected = expected_optin(c.marketing_state());
            let Some(email) = c.email_address().filter(|_| self.worth_checking(expected)) else {
                totals.not_checked += 1;
                continue;
            };
            totals.checked += 1;
            let profiles = self.client.profiles_by_email(email).await?;
            let id = c.id.id();
            let ours = profiles.iter().find(|p| {
                shopify_customer_id(p.customer_id.as_deref(), self.namespace).ok() == Some(id)
            });
            match ours {
                None => {
                    totals.missing += 1;
                    findings.push((c, missing(id)));
                }
                Some(profile) => {
                    totals.found += 1;
                    if let Some(finding) = consent_finding(id, expected, profile) {
                        totals.consent_differs += 1;
                        findings.push((c, finding));
                    }
                }
            }
        }
        Ok((totals, findings))
    }

    fn worth_checking(&self, expected: MarketingOptin) -> bool {
        !self.subscribers_only || expected == MarketingOptin::ExplicitlyOptedIn
    }
}

/// The `marketing_optin` the worker sends for Shopify's email consent
/// (`so_domain::mapping::marketing_optin`).
fn expected_optin(state: Option<EmailMarketingState>) -> MarketingOptin {
    match state {
        Some(EmailMarketingState::Subscribed) => MarketingOptin::ExplicitlyOptedIn,
        Some(EmailMarketingState::Unsubscribed) => MarketingOptin::ExplicitlyOptedOut,
        _ => MarketingOptin::NotSpecified,
    }
}

fn missing(id: u64) -> Finding {
    Finding {
        drift: Drift {
            kind: "contact_missing",
            id: id.to_string(),
            shopify: "customer".to_owned(),
            here: "no Ometria profile with its customer_id".to_owned(),
        },
        repair: true,
    }
}

fn consent_finding(id: u64, expected: MarketingOptin, profile: &Profile) -> Option<Finding> {
    // No preference in Ometria is the same as `NOT_SPECIFIED`.
    let held = profile
        .marketing_optin
        .unwrap_or(MarketingOptin::NotSpecified);
    if held == expected {
        return None;
    }
    let repair =
        expected != MarketingOptin::NotSpecified && held != MarketingOptin::ExplicitlyOptedOut;
    Some(Finding {
        drift: Drift {
            kind: "consent_differs",
            id: id.to_string(),
            shopify: expected.as_str().to_owned(),
            here: format!("Ometria: {}", held.as_str()),
        },
        repair,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(optin: Option<MarketingOptin>) -> Profile {
        Profile {
            id: "p-1".into(),
            customer_id: Some("7".into()),
            email: Some("a@example.com".into()),
            marketing_optin: optin,
            identities: Vec::new(),
        }
    }

    #[test]
    fn only_differences_a_plain_re_send_can_fix_are_repaired() {
        use MarketingOptin::{ExplicitlyOptedIn as In, ExplicitlyOptedOut as Out, NotSpecified};
        let finding = |expected, held| consent_finding(7, expected, &profile(held));
        assert!(finding(In, Some(In)).is_none());
        assert!(
            finding(NotSpecified, None).is_none(),
            "null is no preference"
        );
        assert!(finding(In, Some(NotSpecified)).unwrap().repair);
        assert!(finding(Out, Some(In)).unwrap().repair);
        assert!(finding(Out, None).unwrap().repair);
        // An unsubscribe made in Ometria: the write-back's, never re-sent.
        assert!(!finding(In, Some(Out)).unwrap().repair);
        // An opt-in Shopify does not know of may come from another source.
        assert!(!finding(NotSpecified, Some(In)).unwrap().repair);
        let f = finding(In, Some(NotSpecified)).unwrap();
        assert_eq!(f.drift.kind, "consent_differs");
        assert_eq!(f.drift.shopify, "EXPLICITLY_OPTEDIN");
    }

    #[test]
    fn expected_values_follow_the_worker_s_mapping() {
        assert_eq!(
            expected_optin(Some(EmailMarketingState::Subscribed)),
            MarketingOptin::ExplicitlyOptedIn
        );
        assert_eq!(
            expected_optin(Some(EmailMarketingState::Unsubscribed)),
            MarketingOptin::ExplicitlyOptedOut
        );
        for other in [
            None,
            Some(EmailMarketingState::Pending),
            Some(EmailMarketingState::NotSubscribed),
        ] {
            assert_eq!(expected_optin(other), MarketingOptin::NotSpecified);
        }
    }
}
