//! Shopify GraphQL Admin API adapter: the backfill and write-back side of the
//! service (`shared/reference/shopify.md` §5), where webhooks are the live
//! side.
//!
//! - [`AdminClient`]: one shop, one pinned API version. Cost-based
//!   throttling is modelled client-side from every response's
//!   `throttleStatus`, so calls wait for budget instead of being THROTTLED;
//!   THROTTLED answers (HTTP 200 or 429) wait and retry, 5xx and connection
//!   failures retry with capped exponential backoff, all within one deadline
//!   per call. [`AdminClient::budget`] reports the points used and waited
//!   for.
//! - Typed pages ([`AdminClient::customers_page`], `orders_page`,
//!   `products_page`, `abandoned_checkouts_page`) sized to the 1000-point
//!   query limit; bulk operations with streamed, regrouped JSONL
//!   ([`AdminClient::run_bulk_query`], [`BulkRows`]); customer consent
//!   lookups and [`AdminClient::update_email_consent`].
//! - [`customer_webhook`], [`order_webhook`], [`product_webhook`],
//!   [`checkout_webhook`]: nodes as the webhook payloads the worker consumes,
//!   with a stable [`backfill_webhook_id`], so a backfill runs through the
//!   live path.
//! - [`AdminAccess`]: where a shop's token comes from ([`Grant`]): a
//!   legacy static token, or the client credentials grant of a Dev
//!   Dashboard app (24 h tokens cached, renewed before they expire and after
//!   a 401, one request for every waiting caller, a refusal such as
//!   `shop_not_permitted` remembered instead of retried). Tokens are held in
//!   memory only; [`TokenSource`] is the seam for the OAuth kinds.
//! - Shop-specific webhook subscriptions:
//!   [`AdminClient::webhook_subscriptions`], `create_/update_/
//!   delete_webhook_subscription`, [`AdminClient::granted_scopes`], and
//!   [`blocked_reason`] for a refusal's userErrors.
//! - [`AdminError`] separates "try later" (throttled, transient) from "this
//!   will not work" (HTTP 4xx, GraphQL errors, userErrors).
//!
//! Tests run against `so-fake-shopify`.

mod access;
mod budget;
mod bulk;
mod client;
mod consent;
mod credentials;
mod error;
mod gid;
pub mod install;
mod nodes;
mod queries;
mod retry;
mod settings;
mod subscriptions;
mod webhook_shape;

pub use access::{
    AccessKind, AccessState, AccessToken, AdminAccess, GrantedPair, OAUTH_REFRESH_MARGIN, OAuthApp,
    OAuthSource, PairError, TokenFuture, TokenSource, TokenVault, VaultEntry, VaultFuture,
    VaultRead, exchange_code, refresh_pair,
};
pub use budget::{BudgetStats, MAX_QUERY_COST, QueryCost, ThrottleStatus};
pub use bulk::{
    BulkLine, BulkLines, BulkOperation, BulkOperationId, BulkParent, BulkRows, BulkStatus,
    checkouts_bulk_query, customers_bulk_query, orders_bulk_query, products_bulk_query,
};
pub use client::{ACCESS_TOKEN_HEADER, AdminClient, Response};
pub use consent::{EmailConsentInput, MAX_IDS_PER_LOOKUP};
pub use credentials::{Grant, ShopCredentials};
pub use error::{AdminError, GraphQlError, TransientCause, UserError};
pub use gid::{Gid, GidError, parse_id, to_gid};
pub use nodes::{
    AbandonedCheckout, CheckoutCustomer, CheckoutLineItem, Connection, ConsentTarget, Customer,
    CustomerEmailAddress, CustomerRef, EmailMarketingConsent, EmailMarketingState, IdRef, LineItem,
    MailingAddress, MarketingOptInLevel, Money, MoneyBag, Order, PageInfo, Product, ProductVariant,
    Refund, RefundLineItem,
};
pub use queries::{
    CHECKOUT_LINE_ITEMS, CHECKOUT_NODE_COST, CUSTOMER_NODE_COST, MAX_PAGE_SIZE, ORDER_LINE_ITEMS,
    ORDER_NODE_COST, ORDER_REFUNDS, PRODUCT_NODE_COST, PRODUCT_VARIANTS, Page, REFUND_LINE_ITEMS,
    connection_cost, fold_pages, max_first,
};
pub use settings::{AdminSettings, DEFAULT_API_VERSION};
pub use subscriptions::blocked_reason;
pub use webhook_shape::{
    BACKFILL_WEBHOOK_ID_PREFIX, CHECKOUTS_UPDATE, CUSTOMERS_UPDATE, ORDERS_UPDATED,
    PRODUCTS_UPDATE, Synthesized, backfill_webhook_id, checkout_webhook, customer_webhook,
    order_webhook, product_webhook,
};
