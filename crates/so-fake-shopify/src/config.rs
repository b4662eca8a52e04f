//! Per-shop configuration.

use std::time::Duration;

use crate::subscriptions::ProtectedData;

/// Shop served by [`crate::FakeShopify::start`].
pub const DEFAULT_SHOP: &str = "fake-shop.myshopify.com";
/// Access token of [`DEFAULT_SHOP`].
pub const DEFAULT_TOKEN: &str = "shpat_fake_access_token";
/// Client id of [`DEFAULT_SHOP`]'s client credentials app.
pub const DEFAULT_CLIENT_ID: &str = "fake0client0id0000000000000000001";
/// Client secret of [`DEFAULT_SHOP`]'s client credentials app.
pub const DEFAULT_CLIENT_SECRET: &str = "shpss_fake_client_secret";
/// Admin API versions the fake treats as supported (shopify.md §5). Others
/// fall forward to the oldest, as Shopify's do.
pub const SUPPORTED_VERSIONS: [&str; 8] = [
    "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10",
];

/// How one shop behaves.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// `{name}.myshopify.com`.
    pub domain: String,
    /// The accepted `X-Shopify-Access-Token`.
    pub access_token: String,
    /// `Shop.name`.
    pub name: String,
    /// `Shop.ianaTimezone`.
    pub iana_timezone: String,
    /// `Shop.currencyCode`.
    pub currency: String,
    /// Leaky-bucket size in points (Shopify's `maximumAvailable`).
    pub max_available: f64,
    /// Points restored per second (Standard plan: 100).
    pub restore_rate: f64,
    /// Answer THROTTLED with HTTP 429 instead of 200 (reports differ).
    pub throttle_with_429: bool,
    /// The app holds `read_all_orders`; without it orders created more than
    /// 60 days ago are invisible.
    pub read_all_orders: bool,
    /// A bulk operation completes on this poll of `bulkOperation` /
    /// `currentBulkOperation` (1 = the first poll already sees COMPLETED).
    pub bulk_polls_to_complete: u32,
    /// …or once this long has passed since it was created, if set.
    pub bulk_complete_after: Option<Duration>,
    /// A Dev Dashboard app that may use the client credentials grant here
    /// (`shared/reference/shopify-apps.md` §2); `None`: every token request
    /// is refused as from an unknown client.
    pub client_app: Option<ClientApp>,
    /// Scopes the app holds on this shop (`currentAppInstallation`): a
    /// topic whose read scope is missing cannot be subscribed.
    pub granted_scopes: Vec<String>,
    /// The app's protected customer data approval: without it customer
    /// and order topics cannot be subscribed.
    pub protected_data: ProtectedData,
    /// The payload version of shop-specific subscriptions. `None`: the
    /// version of the request that created them. Which one Shopify uses is
    /// not documented [U], so both are switchable.
    pub webhook_api_version: Option<String>,
    /// Topics subscribed app-specifically (`shopify.app.toml`): they
    /// deliver, but `webhookSubscriptions` never lists them.
    pub app_specific_topics: Vec<String>,
}

/// A Dev Dashboard app as the token endpoint knows it, with switches for
/// what the reference marks unknown ([U]).
#[derive(Debug, Clone)]
pub struct ClientApp {
    pub client_id: String,
    pub client_secret: String,
    /// The app's organization owns the store. Otherwise Shopify refuses the
    /// grant with `shop_not_permitted` (documented).
    pub same_organization: bool,
    /// `expires_in` of issued tokens, in seconds (Shopify: 86399).
    pub expires_in_secs: u64,
    /// `scope` of issued tokens (comma-separated, as Shopify sends it).
    pub scope: String,
    /// The body form of a `shop_not_permitted` answer: both are documented.
    pub not_permitted_form: NotPermittedForm,
    /// The answer to a wrong secret or client id: not documented [U].
    pub wrong_secret: WrongSecretAnswer,
    /// Whether a JSON request body is accepted besides the documented form
    /// encoding (Shopify's JS library sends JSON; [I] that it works).
    pub accept_json_body: bool,
    /// Whether issuing a token revokes the ones issued before: not
    /// documented [U]; off means every token lives until it expires.
    pub reissue_revokes_previous: bool,
}

impl ClientApp {
    /// An app of the store's own organization, with Shopify's 24 h tokens.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        ClientApp {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            same_organization: true,
            expires_in_secs: 86_399,
            scope: "read_customers,write_customers,read_orders,read_products".to_owned(),
            not_permitted_form: NotPermittedForm::Json,
            wrong_secret: WrongSecretAnswer::InvalidClient400,
            accept_json_body: false,
            reissue_revokes_previous: false,
        }
    }
}

/// How a `shop_not_permitted` refusal (HTTP 400) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPermittedForm {
    /// `{"error":"shop_not_permitted","error_description":"Client credentials cannot be performed on this shop."}`
    Json,
    /// `Oauth error shop_not_permitted: Client credentials cannot be performed on this shop.`
    Text,
    /// `{"error":"invalid_request","error_description":"Client credentials cannot be performed on this shop."}`,
    /// seen by one client [U].
    InvalidRequestJson,
}

/// What a wrong client secret (or unknown client id) gets [U].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongSecretAnswer {
    /// 400 `{"error":"invalid_client","error_description":…}`.
    InvalidClient400,
    /// 401 with the same body.
    InvalidClient401,
}

impl ShopConfig {
    /// Shopify's Standard-plan defaults: 2000-point bucket, 100 points/s.
    pub fn new(domain: &str, access_token: &str) -> Self {
        let name = domain.split('.').next().unwrap_or(domain).to_owned();
        ShopConfig {
            domain: domain.to_owned(),
            access_token: access_token.to_owned(),
            name,
            iana_timezone: "Europe/London".to_owned(),
            currency: "GBP".to_owned(),
            max_available: 2000.0,
            restore_rate: 100.0,
            throttle_with_429: false,
            read_all_orders: true,
            bulk_polls_to_complete: 2,
            bulk_complete_after: None,
            client_app: None,
            granted_scopes: [
                "read_customers",
                "write_customers",
                "read_customer_merge",
                "read_orders",
                "read_all_orders",
                "read_products",
                "read_fulfillments",
            ]
            .map(str::to_owned)
            .to_vec(),
            protected_data: ProtectedData::Level2,
            webhook_api_version: None,
            app_specific_topics: Vec::new(),
        }
    }

    /// With a client credentials app.
    pub fn with_client_app(mut self, app: ClientApp) -> Self {
        self.client_app = Some(app);
        self
    }
}

impl Default for ShopConfig {
    /// [`DEFAULT_SHOP`] with [`DEFAULT_TOKEN`] and a client credentials app
    /// ([`DEFAULT_CLIENT_ID`], [`DEFAULT_CLIENT_SECRET`]).
    fn default() -> Self {
        ShopConfig::new(DEFAULT_SHOP, DEFAULT_TOKEN)
            .with_client_app(ClientApp::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    }
}

/// Version Shopify would serve for `requested`: itself when supported,
/// `unstable` as the newest, anything else the oldest supported.
pub(crate) fn effective_version(requested: &str) -> &'static str {
    if requested == "unstable" {
        return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.len() - 1];
    }
    SUPPORTED_VERSIONS
        .into_iter()
        .find(|v| *v == requested)
        .unwrap_or(SUPPORTED_VERSIONS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_versions_fall_forward_to_the_oldest() {
        assert_eq!(effective_version("2026-07"), "2026-07");
        assert_eq!(effective_version("2023-01"), "2025-01");
        assert_eq!(effective_version("garbage"), "2025-01");
        assert_eq!(effective_version("unstable"), "2026-10");
    }
}
