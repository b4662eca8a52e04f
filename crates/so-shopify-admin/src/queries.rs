//! Typed backfill pages: the GraphQL selections behind [`crate::nodes`], and
//! their costs by Shopify's documented rule (objects 1, scalars 0, a
//! connection 2 + `first` × node), so each page asks for as many nodes as fit
//! in the 1000-point single-query limit and the client knows the cost before
//! the first answer.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::budget::{MAX_QUERY_COST, QueryCost};
use crate::client::AdminClient;
use crate::error::AdminError;
use crate::nodes::{AbandonedCheckout, Customer, Order, PageInfo, Product};

/// Largest `first` Shopify accepts.
pub const MAX_PAGE_SIZE: u32 = 250;

/// Requested cost of a connection of `first` nodes each costing `node_cost`
/// (the node object and the objects selected in it).
pub const fn connection_cost(first: u32, node_cost: u32) -> u64 {
    2 + first as u64 * node_cost as u64
}

/// The largest `first` (≤ 250) whose connection stays within 1000 points.
pub const fn max_first(node_cost: u32) -> u32 {
    let fit = (MAX_QUERY_COST - 2) / node_cost as u64;
    if fit > MAX_PAGE_SIZE as u64 {
        MAX_PAGE_SIZE
    } else {
        fit as u32
    }
}

/// One page of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub nodes: Vec<T>,
    pub page_info: PageInfo,
    /// What the page cost.
    pub cost: Option<QueryCost>,
}

impl<T> Page<T> {
    /// The cursor for the next page, if there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        if self.page_info.has_next_page {
            self.page_info.end_cursor.as_deref()
        } else {
            None
        }
    }
}

/// Walks a connection page after page from the first: `fetch(after)` gets a
/// page, `take` folds its nodes into the accumulator. One loop for every
/// caller that reads a whole filtered connection (reconciliation, the
/// backfill's subscriber filter).
pub async fn fold_pages<T, A, E, F, Fut>(
    init: A,
    mut fetch: F,
    mut take: impl FnMut(&mut A, Vec<T>),
) -> Result<A, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, E>>,
{
    let mut acc = init;
    let mut after: Option<String> = None;
    loop {
        let page = fetch(after.take()).await?;
        let next = page.next_cursor().map(str::to_owned);
        take(&mut acc, page.nodes);
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(acc),
        }
    }
}

/// Selection of a [`Customer`]: 1 + three objects.
pub(crate) const CUSTOMER_FIELDS: &str = "id email firstName lastName phone state verifiedEmail note tags createdAt updatedAt \
defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt } \
emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } \
defaultAddress { firstName lastName company address1 address2 city province provinceCode country countryCodeV2 zip phone }";
/// Cost of one customer node (the object and three sub-objects).
pub const CUSTOMER_NODE_COST: u32 = 4;

const MONEY: &str = "{ shopMoney { amount currencyCode } }";

/// Line items fetched per order on a page.
pub const ORDER_LINE_ITEMS: u32 = 10;
/// Refunds fetched per order on a page.
pub const ORDER_REFUNDS: u32 = 2;
/// Refund lines fetched per refund on a page.
pub const REFUND_LINE_ITEMS: u32 = 5;

/// Scalar and money fields of an [`Order`]: 1 + 5 money bags × 2 + customer.
pub(crate) const ORDER_SCALARS: &str = "id name email createdAt updatedAt processedAt cancelledAt currencyCode \
totalPriceSet { shopMoney { amount currencyCode } } \
currentTotalPriceSet { shopMoney { amount currencyCode } } \
subtotalPriceSet { shopMoney { amount currencyCode } } \
totalTaxSet { shopMoney { amount currencyCode } } \
totalDiscountsSet { shopMoney { amount currencyCode } } \
displayFinancialStatus displayFulfillmentStatus test customer { id email firstName lastName }";
/// Fields of a line item: node 1 + variant, product, price (2).
pub(crate) const LINE_ITEM_FIELDS: &str = "id quantity sku title variant { id } product { id } \
originalUnitPriceSet { shopMoney { amount currencyCode } }";
const LINE_ITEM_NODE_COST: u32 = 5;
/// Fields of a refund line: node 1 + line item + subtotal (2).
const REFUND_LINE_NODE_COST: u32 = 4;

/// Cost of one order node on a page.
pub const ORDER_NODE_COST: u32 = 1
    + 10
    + 1
    + connection_cost(ORDER_LINE_ITEMS, LINE_ITEM_NODE_COST) as u32
    + ORDER_REFUNDS * (1 + 2 + connection_cost(REFUND_LINE_ITEMS, REFUND_LINE_NODE_COST) as u32);

/// Variants fetched per product on a page.
pub const PRODUCT_VARIANTS: u32 = 50;
/// Fields of a [`Product`] without variants.
pub(crate) const PRODUCT_SCALARS: &str = "id title handle vendor productType status tags updatedAt";
/// Fields of a variant.
pub(crate) const VARIANT_FIELDS: &str = "id sku price title";
/// Cost of one product node on a page.
pub const PRODUCT_NODE_COST: u32 = 1 + connection_cost(PRODUCT_VARIANTS, 1) as u32;

/// Line items fetched per checkout on a page.
pub const CHECKOUT_LINE_ITEMS: u32 = 25;
/// Fields of an [`AbandonedCheckout`] without line items.
pub(crate) const CHECKOUT_SCALARS: &str = "id abandonedCheckoutUrl completedAt createdAt updatedAt \
customer { id email firstName lastName } totalPriceSet { shopMoney { amount currencyCode } }";
/// Fields of a checkout line: node 1 + variant + product.
pub(crate) const CHECKOUT_LINE_FIELDS: &str = "id title quantity sku variant { id } product { id }";
/// Cost of one checkout node on a page.
pub const CHECKOUT_NODE_COST: u32 = 1 + 1 + 2 + connection_cost(CHECKOUT_LINE_ITEMS, 3) as u32;

/// `, reverse: true` for the newest first (Shopify's connections take `reverse` beside
/// `sortKey`); nothing for the oldest first.
fn order_by(newest_first: bool) -> &'static str {
    if newest_first { ", reverse: true" } else { "" }
}

fn customers_query(newest_first: bool) -> String {
    let reverse = order_by(newest_first);
    format!(
        "query Customers($first: Int!, $after: String, $query: String) {{ \
customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT{reverse}) {{ \
nodes {{ {CUSTOMER_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

fn orders_query(newest_first: bool) -> String {
    let reverse = order_by(newest_first);
    format!(
        "query Orders($first: Int!, $after: String, $query: String) {{ \
orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT{reverse}) {{ \
nodes {{ {ORDER_SCALARS} \
lineItems(first: {ORDER_LINE_ITEMS}) {{ nodes {{ {LINE_ITEM_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} \
refunds(first: {ORDER_REFUNDS}) {{ id createdAt totalRefundedSet {MONEY} \
refundLineItems(first: {REFUND_LINE_ITEMS}) {{ nodes {{ id lineItem {{ id }} quantity subtotalSet {MONEY} }} pageInfo {{ hasNextPage endCursor }} }} }} }} \
pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

fn products_query() -> String {
    format!(
        "query Products($first: Int!, $after: String, $query: String) {{ \
products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{ \
nodes {{ {PRODUCT_SCALARS} variants(first: {PRODUCT_VARIANTS}) {{ nodes {{ {VARIANT_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }} \
pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

fn checkouts_query() -> String {
    format!(
        "query AbandonedCheckouts($first: Int!, $after: String, $query: String) {{ \
abandonedCheckouts(first: $first, after: $after, query: $query) {{ \
nodes {{ {CHECKOUT_SCALARS} lineItems(first: {CHECKOUT_LINE_ITEMS}) {{ nodes {{ {CHECKOUT_LINE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }} \
pageInfo {{ hasNextPage endCursor }} }} }}"
    )
}

#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct RawConnection<T> {
    nodes: Vec<T>,
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
}

impl AdminClient {
    /// Runs a page query whose `data` has the connection under `root`.
    async fn page<T: DeserializeOwned>(
        &self,
        query: &str,
        root: &str,
        node_cost: u32,
        after: Option<&str>,
        query_filter: Option<&str>,
        first: u32,
    ) -> Result<Page<T>, AdminError> {
        let first = first.clamp(1, max_first(node_cost));
        let variables = json!({"first": first, "after": after, "query": query_filter});
        let response = self
            .query_with_cost::<Value>(query, variables, connection_cost(first, node_cost))
            .await?;
        let mut data = response.data;
        let raw = data
            .get_mut(root)
            .map(Value::take)
            .ok_or_else(|| AdminError::decode(root, "connection missing from data"))?;
        let raw: RawConnection<T> =
            serde_json::from_value(raw).map_err(|e| AdminError::decode(root, e))?;
        Ok(Page {
            nodes: raw.nodes,
            page_info: raw.page_info,
            cost: response.cost,
        })
    }

    /// A page of customers sorted by `updatedAt`. `query_filter` is Shopify
    /// search syntax, e.g. `updated_at:>'2024-05-01T00:00:00Z'`; `first` is
    /// clamped to 1..=249 (the cost limit).
    pub async fn customers_page(
        &self,
        after: Option<&str>,
        query_filter: Option<&str>,
        first: u32,
    ) -> Result<Page<Customer>, AdminError> {
        let q = customers_query(false);
        self.page(
            &q,
            "customers",
            CUSTOMER_NODE_COST,
            after,
            query_filter,
            first,
        )
        .await
    }

    /// A page of orders sorted by `updatedAt`, with up to
    /// [`ORDER_LINE_ITEMS`] lines and [`ORDER_REFUNDS`] refunds each (see
    /// [`crate::Connection::truncated`]); `first` is clamped to what the cost
    /// limit allows. Without `read_all_orders` Shopify shows only the last
    /// 60 days.
    pub async fn orders_page(
        &self,
        after: Option<&str>,
        query_filter: Option<&str>,
        first: u32,
    ) -> Result<Page<Order>, AdminError> {
        let q = orders_query(false);
        self.page(&q, "orders", ORDER_NODE_COST, after, query_filter, first)
            .await
    }

    /// The `first` customers updated last, newest first (a preview of recent data).
    pub async fn recent_customers(&self, first: u32) -> Result<Vec<Customer>, AdminError> {
        let q = customers_query(true);
        let page = self
            .page(&q, "customers", CUSTOMER_NODE_COST, None, None, first)
            .await?;
        Ok(page.nodes)
    }

    /// The `first` orders updated last, newest first.
    pub async fn recent_orders(&self, first: u32) -> Result<Vec<Order>, AdminError> {
        let q = orders_query(true);
        let page = self
            .page(&q, "orders", ORDER_NODE_COST, None, None, first)
            .await?;
        Ok(page.nodes)
    }

    /// A page of products sorted by `updatedAt`, with up to
    /// [`PRODUCT_VARIANTS`] variants each.
    pub async fn products_page(
        &self,
        after: Option<&str>,
        query_filter: Option<&str>,
        first: u32,
    ) -> Result<Page<Product>, AdminError> {
        let q = products_query();
        self.page(
            &q,
            "products",
            PRODUCT_NODE_COST,
            after,
            query_filter,
            first,
        )
        .await
    }

    /// A page of abandoned checkouts (by id), with up to
    /// [`CHECKOUT_LINE_ITEMS`] lines each.
    pub async fn abandoned_checkouts_page(
        &self,
        after: Option<&str>,
        query_filter: Option<&str>,
        first: u32,
    ) -> Result<Page<AbandonedCheckout>, AdminError> {
        let q = checkouts_query();
        self.page(
            &q,
            "abandonedCheckouts",
            CHECKOUT_NODE_COST,
            after,
            query_filter,
            first,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_fit_the_cost_limit() {
        assert_eq!(max_first(CUSTOMER_NODE_COST), 249);
        assert_eq!(max_first(1), 250);
        for cost in [
            CUSTOMER_NODE_COST,
            ORDER_NODE_COST,
            PRODUCT_NODE_COST,
            CHECKOUT_NODE_COST,
        ] {
            let first = max_first(cost);
            assert!(first >= 1);
            assert!(connection_cost(first, cost) <= MAX_QUERY_COST);
            assert!(connection_cost(first + 1, cost) > MAX_QUERY_COST || first == MAX_PAGE_SIZE);
        }
        // 1 + 10 + 1 + (2 + 10×5) + 2 × (1 + 2 + (2 + 5×4))
        assert_eq!(ORDER_NODE_COST, 114);
        assert_eq!(PRODUCT_NODE_COST, 53);
        assert_eq!(CHECKOUT_NODE_COST, 81);
    }
}
