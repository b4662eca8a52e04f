//! A stateful fake of Shopify's GraphQL Admin API, for tests and local demos
//! of the backfill and write-back paths (`shared/reference/shopify.md` §5).
//!
//! - `POST /shops/{shop}/admin/api/{version}/graphql.json` (or
//!   `/admin/api/{version}/graphql.json` with the shop in `Host`): token auth
//!   (401), documents parsed with `graphql-parser`, requested cost computed
//!   from the query (objects 1, scalars 0, connections `2 + first × node`,
//!   mutations 10), a per-shop leaky bucket (THROTTLED with 200 or 429,
//!   `MAX_COST_EXCEEDED` over 1000, page sizes ≤250) and `extensions.cost` on
//!   every answer;
//! - root fields `shop`, `customers`, `orders`, `products`,
//!   `abandonedCheckouts` (cursor pagination, `query:` filters, `sortKey`,
//!   `reverse`), `customer`/`order`/`product`/`abandonedCheckout`/`node`/
//!   `nodes` by global id, `bulkOperation`, `currentBulkOperation`; mutations
//!   `bulkOperationRunQuery`, `bulkOperationCancel`,
//!   `customerEmailMarketingConsentUpdate`;
//! - shop-specific webhook subscriptions: `webhookSubscriptions`,
//!   `currentAppInstallation { accessScopes }` and
//!   `webhookSubscriptionCreate/Update/Delete` with the documented
//!   userErrors (address taken, missing scope, protected customer data not
//!   approved), switches for the granted scopes, the approval level and
//!   app-specific subscriptions (which the query never lists);
//! - bulk results as JSONL at `GET /bulk/{shop}/{id}.jsonl`;
//! - the client credentials grant at
//!   `POST /shops/{shop}/admin/oauth/access_token` (or
//!   `/admin/oauth/access_token` by `Host`): form-encoded fields, 24 h
//!   tokens that open the GraphQL endpoint until they expire,
//!   `shop_not_permitted` in both documented body forms, and switches
//!   ([`ClientApp`]) for what the reference leaves unknown;
//! - the authorization code grant: `GET …/admin/oauth/authorize` approves at
//!   once and redirects to `redirect_uri` with a signed callback query; the
//!   token endpoint exchanges single-use codes (`expiring=1`: 3600 s access
//!   token, rotating 90-day refresh token) and refresh tokens
//!   ([`InstallApp`], [`PreviousRefresh`]);
//! - a Rust control API per shop ([`FakeShop`]): seeding, a deterministic
//!   data generator, bucket settings, fault switches and recordings.
//!
//! Answers carry only the selected fields; a field the fake does not model is
//! an `undefinedField` error, so a typo in a client query fails a test rather
//! than reading `null`.

mod authcode;
mod bucket;
mod bulk;
mod config;
mod consent;
mod cost;
mod document;
mod errors;
mod exec;
mod generate;
mod inspect;
mod inspect_subscriptions;
mod model;
mod nodes;
mod oauth;
mod project;
mod records;
mod routes;
mod search;
mod server;
mod store;
mod subscriptions;

pub use authcode::{InstallApp, PreviousRefresh, signed_query};
pub use bulk::BulkStatus;
pub use config::{
    ClientApp, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SHOP, DEFAULT_TOKEN,
    NotPermittedForm, SUPPORTED_VERSIONS, ShopConfig, WrongSecretAnswer,
};
pub use consent::CONSENT_TOPIC;
pub use generate::{CUSTOMER_ID_BASE, Dataset, GenerateSpec, generate};
pub use inspect::FakeShop;
pub use model::{
    AbandonedCheckout, Address, CheckoutLineItem, Customer, EmailConsent, LineItem, MarketingState,
    OptInLevel, Order, Product, Refund, RefundLineItem, Variant,
};
pub use oauth::{INVALID_CLIENT_DESCRIPTION, NOT_PERMITTED_DESCRIPTION};
pub use records::{
    ConsentWrite, RequestRecord, ShopStats, TokenBody, TokenRequestRecord, UserErrorRecord,
    WebhookEcho,
};
pub use routes::{ACCESS_TOKEN_HEADER, INVALID_TOKEN_MESSAGE};
pub use server::{FakeShopify, serve};
pub use subscriptions::{
    MutationKind, PROTECTED_MESSAGE, ProtectedData, Subscription, SubscriptionMutation,
    TAKEN_MESSAGE,
};
