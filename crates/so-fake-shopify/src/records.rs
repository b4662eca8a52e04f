//! What the fake remembers for tests to inspect.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::time::Instant;

/// One GraphQL request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// The version in the path.
    pub version: String,
    /// The version served (unsupported ones fall forward).
    pub effective_version: &'static str,
    /// HTTP status answered.
    pub status: u16,
    /// Answered THROTTLED (with 200 or 429).
    pub throttled: bool,
    /// `requestedQueryCost`, when the document got that far.
    pub requested_cost: Option<u64>,
    /// `actualQueryCost` of a successful request.
    pub actual_cost: Option<u64>,
    /// Root field names, e.g. `["customers"]`.
    pub root_fields: Vec<String>,
    /// GraphQL error codes in the answer (`THROTTLED`, `MAX_COST_EXCEEDED`, …).
    pub error_codes: Vec<String>,
    /// Global ids of the connection nodes a successful answer carried
    /// (`nodes` or `edges.node` of each root field): what was served.
    pub served_ids: Vec<String>,
    /// Monotonic arrival time.
    pub at: Instant,
}

/// Counters over every request to one shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShopStats {
    /// Requests to the GraphQL endpoint, whatever the answer.
    pub requests: u64,
    /// Answered THROTTLED.
    pub throttled: u64,
    /// Answered 401.
    pub unauthorized: u64,
    /// Requests to the token endpoint, whatever the answer.
    pub token_requests: u64,
    /// Tokens issued by the client credentials grant.
    pub tokens_issued: u64,
    /// Injected 5xx answers.
    pub server_errors: u64,
    /// Requested cost of every admitted request.
    pub points_requested: u64,
    /// Actual cost of every admitted request: what the bucket was charged.
    pub points_used: u64,
}

/// A `userErrors[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserErrorRecord {
    pub field: Vec<String>,
    pub message: String,
    pub code: String,
}

/// One `customerEmailMarketingConsentUpdate` call, applied or not.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentWrite {
    /// The numeric id, when `customerId` was a Customer gid.
    pub customer_id: Option<u64>,
    /// `customerId` as sent.
    pub customer_gid: Option<String>,
    /// `marketingState` as sent.
    pub state: Option<String>,
    /// `marketingOptInLevel` as sent.
    pub opt_in_level: Option<String>,
    /// `consentUpdatedAt` as sent (already parsed).
    pub consent_updated_at: Option<DateTime<Utc>>,
    /// Empty when the update was applied.
    pub user_errors: Vec<UserErrorRecord>,
    pub at: DateTime<Utc>,
}

impl ConsentWrite {
    /// The update changed the customer (no userErrors).
    pub fn applied(&self) -> bool {
        self.user_errors.is_empty()
    }
}

/// A webhook Shopify would send because of a write through the API; the
/// fake only records it, a test may forward it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEcho {
    /// e.g. `customers_email_marketing_consent/update`.
    pub topic: &'static str,
    /// The shop domain (`X-Shopify-Shop-Domain`).
    pub shop: String,
    /// REST-shaped JSON body.
    pub payload: Value,
    pub at: DateTime<Utc>,
}

/// The body form of a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded`, as documented.
    Form,
    /// `application/json`, as Shopify's JS library sends it.
    Json,
    /// Anything else.
    Other,
}

/// One request to `/admin/oauth/access_token` as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequestRecord {
    /// HTTP status answered.
    pub status: u16,
    /// `grant_type` as sent.
    pub grant_type: Option<String>,
    pub body: TokenBody,
    /// The OAuth `error` code answered (`shop_not_permitted`,
    /// `invalid_client`, …); `None` for a token or an injected failure.
    pub error: Option<&'static str>,
    /// Monotonic arrival time.
    pub at: Instant,
}
