//! `so_shop_access_refused{shop,kind}` (alert `SoShopAccessRefused`): set
//! after every scheduled job from what the job's error says about the shop's
//! credentials, for every kind of grant.

use so_domain::ShopDomain;
use so_shopify_admin::{AdminClient, AdminError};

use crate::SyncError;

/// Whether `error` says Shopify refuses the shop's credentials (not a passing failure).
pub fn refuses_access(error: &AdminError) -> bool {
    matches!(
        error,
        AdminError::CredentialsRefused { .. }
            | AdminError::ShopNotPermitted { .. }
            | AdminError::NotConnected { .. }
            | AdminError::Permanent { status: 401, .. }
    )
}

/// Sets the gauge for `shop` from a job's outcome; other failures leave it as it was.
pub fn report(shop: &ShopDomain, admin: &AdminClient, outcome: &Result<(), SyncError>) {
    let kind = admin.access().kind().as_str();
    let refused = match outcome {
        Ok(()) => false,
        Err(SyncError::Admin(e)) if refuses_access(e) => true,
        Err(_) => return,
    };
    so_platform::metrics::shop_access_refused(shop.as_str(), kind, refused);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_every_kind_are_told_from_passing_failures() {
        let shop = || "a.myshopify.com".to_owned();
        assert!(refuses_access(&AdminError::ShopNotPermitted {
            shop: shop()
        }));
        assert!(refuses_access(&AdminError::NotConnected {
            shop: shop(),
            reason: "refused: invalid_grant (HTTP 400)".to_owned()
        }));
        assert!(refuses_access(&AdminError::Permanent {
            status: 401,
            message: "Invalid API key or access token".to_owned()
        }));
        assert!(!refuses_access(&AdminError::Permanent {
            status: 403,
            message: "scope".to_owned()
        }));
        assert!(!refuses_access(&AdminError::ThrottledTooLong {
            waited: std::time::Duration::from_secs(1),
            throttled: 1
        }));
    }
}
