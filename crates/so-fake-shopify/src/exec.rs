//! Running an operation against one shop: root fields, lookups by global id,
//! the four backfill connections, and dispatch to the mutations.

use chrono::{DateTime, Duration as TimeDelta, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::bulk;
use crate::consent;
use crate::cost::root_fields;
use crate::document::{Field, Operation, OperationKind};
use crate::errors::GqlError;
use crate::model::{AbandonedCheckout, Customer, Order, Product};
use crate::nodes;
use crate::project::{Mode, Page, Position, connection, paginate, project};
use crate::search::{Filter, Searchable};
use crate::store::Shop;
use crate::subscriptions;

/// Orders older than this need `read_all_orders` (shopify.md §5).
const ORDER_WINDOW_DAYS: i64 = 60;

pub(crate) struct Ctx<'a> {
    pub(crate) shop: &'a mut Shop,
    /// `http://127.0.0.1:PORT`, for bulk result URLs.
    pub(crate) root_url: &'a str,
    pub(crate) version: &'static str,
    pub(crate) mode: Mode,
    pub(crate) now: DateTime<Utc>,
    /// `extensions.search` entries: warnings about ignored search terms.
    pub(crate) search: Vec<Value>,
}

/// Runs every root field; the first error fails the whole request.
pub(crate) fn execute(op: &Operation, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let mut data = Map::new();
    for f in root_fields(&op.selection) {
        let value = match op.kind {
            OperationKind::Query => query_field(f, ctx),
            OperationKind::Mutation => mutation_field(f, ctx),
        }
        .map_err(|e| {
            if e.path.is_empty() {
                e.path(&[f.key.as_str()])
            } else {
                e
            }
        })?;
        data.insert(f.key.clone(), value);
    }
    Ok(Value::Object(data))
}

fn mutation_field(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    match f.name.as_str() {
        "customerEmailMarketingConsentUpdate" => consent::update(f, ctx),
        "bulkOperationRunQuery" => bulk::run(f, ctx),
        "bulkOperationCancel" => bulk::cancel(f, ctx),
        "webhookSubscriptionCreate" => subscriptions::create(f, ctx),
        "webhookSubscriptionUpdate" => subscriptions::update(f, ctx),
        "webhookSubscriptionDelete" => subscriptions::delete(f, ctx),
        "__typename" => Ok(json!("Mutation")),
        other => Err(GqlError::undefined_field("Mutation", other)),
    }
}

fn query_field(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    match f.name.as_str() {
        "__typename" => Ok(json!("QueryRoot")),
        "shop" => project(&shop(ctx.shop), &f.selection, ctx.mode),
        "customers" => customers(f, ctx),
        "orders" => orders(f, ctx),
        "products" => products(f, ctx),
        "abandonedCheckouts" => checkouts(f, ctx),
        "webhookSubscriptions" => subscriptions::list(f, ctx),
        "currentAppInstallation" => subscriptions::installation(f, ctx),
        "customer" | "order" | "product" | "abandonedCheckout" | "bulkOperation" | "node" => {
            let id = f.arg_str("id").ok_or_else(|| missing_argument(f, "id"))?;
            let expected = match f.name.as_str() {
                "customer" => Some("Customer"),
                "order" => Some("Order"),
                "product" => Some("Product"),
                "abandonedCheckout" => Some("AbandonedCheckout"),
                "bulkOperation" => Some("BulkOperation"),
                _ => None,
            };
            let found = by_id(id, expected, ctx)?;
            project(&found, &f.selection, ctx.mode)
        }
        "nodes" => {
            let ids = f
                .args
                .get("ids")
                .and_then(Value::as_array)
                .ok_or_else(|| missing_argument(f, "ids"))?;
            if ids.len() > 250 {
                return Err(GqlError::new(format!(
                    "The input array size of {} is greater than the maximum allowed of 250.",
                    ids.len()
                ))
                .code("MAX_INPUT_SIZE_EXCEEDED"));
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let id = id.as_str().ok_or_else(|| invalid_id(&id.to_string()))?;
                let found = by_id(id, None, ctx)?;
                out.push(project(&found, &f.selection, ctx.mode)?);
            }
            Ok(Value::Array(out))
        }
        "currentBulkOperation" => {
            let found = bulk::current(ctx);
            project(&found, &f.selection, ctx.mode)
        }
        other => Err(GqlError::undefined_field("QueryRoot", other)),
    }
}

fn missing_argument(f: &Field, arg: &str) -> GqlError {
    GqlError::new(format!(
        "Field '{}' is missing required arguments: {arg}",
        f.name
    ))
    .code("missingRequiredArguments")
}

fn invalid_id(id: &str) -> GqlError {
    GqlError::new(format!("Invalid global id '{id}'")).code("argumentLiteralsIncompatible")
}

/// `gid://shopify/{Kind}/{id}` → `(Kind, id)`.
pub(crate) fn parse_gid(gid: &str) -> Option<(&str, u64)> {
    let rest = gid.strip_prefix("gid://shopify/")?;
    let (kind, id) = rest.split_once('/')?;
    let id = id.split('?').next()?;
    Some((kind, id.parse().ok()?))
}

fn by_id(gid: &str, expected: Option<&str>, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let (kind, id) = parse_gid(gid).ok_or_else(|| invalid_id(gid))?;
    if expected.is_some_and(|e| e != kind) {
        return Err(invalid_id(gid));
    }
    if kind == "BulkOperation" {
        return Ok(bulk::poll(ctx, id).unwrap_or(Value::Null));
    }
    let store = &ctx.shop.store;
    let found = match kind {
        "Customer" => store.customers.get(&id).map(nodes::customer),
        "Order" => store
            .orders
            .get(&id)
            .filter(|o| order_visible(ctx.shop.config.read_all_orders, o, ctx.now))
            .map(|o| nodes::order(store, o)),
        "Product" => store.products.get(&id).map(nodes::product),
        "AbandonedCheckout" => store
            .checkouts
            .get(&id)
            .map(|c| nodes::checkout(store, &ctx.shop.config.domain, c)),
        _ => None,
    };
    Ok(found.unwrap_or(Value::Null))
}

fn order_visible(read_all_orders: bool, o: &Order, now: DateTime<Utc>) -> bool {
    read_all_orders || o.created_at >= now - TimeDelta::days(ORDER_WINDOW_DAYS)
}

fn shop(shop: &Shop) -> Value {
    let c = &shop.config;
    json!({
        "__typename": "Shop",
        "id": nodes::gid("Shop", 1),
        "name": c.name,
        "myshopifyDomain": c.domain,
        "ianaTimezone": c.iana_timezone,
        "currencyCode": c.currency,
        "email": format!("owner@{}", c.domain),
    })
}

fn time_key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn id_key(id: u64) -> String {
    format!("{id:020}")
}

/// Filter, sort and paginate on positions first; only the page is built.
fn resolve_page(
    f: &Field,
    ctx: &mut Ctx<'_>,
    positions: Result<Vec<Position>, GqlError>,
    filter: &Filter,
) -> Result<Page, GqlError> {
    if !filter.unknown.is_empty() {
        let warnings: Vec<Value> = filter
            .unknown
            .iter()
            .map(|field| json!({"field": field, "message": "Invalid search field for this query."}))
            .collect();
        ctx.search.push(json!({
            "path": [f.key],
            "query": f.arg_str("query"),
            "warnings": warnings,
        }));
    }
    paginate(positions?, f, ctx.mode)
}

fn sort_key_error(f: &Field, key: &str) -> GqlError {
    GqlError::new(format!(
        "Argument 'sortKey' on Field '{}' has an invalid value ({key}).",
        f.name
    ))
    .code("argumentLiteralsIncompatible")
}

const CUSTOMER_FIELDS: &[&str] = &[
    "updated_at",
    "created_at",
    "email",
    "state",
    "tag",
    "email_marketing_state",
    "accepts_marketing",
    "id",
];

fn customer_field(c: &Customer, name: &str) -> Searchable {
    match name {
        "updated_at" => Searchable::Time(c.updated_at),
        "created_at" => Searchable::Time(c.created_at),
        "email" => c
            .email
            .clone()
            .map_or(Searchable::Missing, Searchable::Text),
        "state" => Searchable::Text(c.state.clone()),
        "tag" => Searchable::List(c.tags.clone()),
        "email_marketing_state" => Searchable::Text(c.marketing_state().as_str().to_owned()),
        "accepts_marketing" => Searchable::Text(nodes::accepts_marketing(c).to_string()),
        "id" => Searchable::Number(c.id),
        _ => Searchable::Missing,
    }
}

fn customers(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let filter = Filter::parse(f.arg_str("query"), CUSTOMER_FIELDS);
    let sort = f.arg_str("sortKey").unwrap_or("ID").to_owned();
    let positions = ctx
        .shop
        .store
        .customers
        .values()
        .filter(|c| filter.matches(|n| customer_field(c, n)))
        .map(|c| {
            let key = match sort.as_str() {
                "ID" | "RELEVANCE" => id_key(c.id),
                "CREATED_AT" => time_key(c.created_at),
                "UPDATED_AT" => time_key(c.updated_at),
                other => return Err(sort_key_error(f, other)),
            };
            Ok(Position { key, id: c.id })
        })
        .collect();
    let page = resolve_page(f, ctx, positions, &filter)?;
    let store = &ctx.shop.store;
    let nodes = page
        .positions
        .iter()
        .filter_map(|p| store.customers.get(&p.id).map(nodes::customer))
        .collect();
    project(&connection(&page, nodes), &f.selection, ctx.mode)
}

const ORDER_FIELDS: &[&str] = &[
    "updated_at",
    "created_at",
    "processed_at",
    "email",
    "customer_id",
    "financial_status",
    "id",
];

fn order_field(o: &Order, name: &str) -> Searchable {
    match name {
        "updated_at" => Searchable::Time(o.updated_at),
        "created_at" => Searchable::Time(o.created_at),
        "processed_at" => Searchable::Time(o.processed_at),
        "email" => o
            .email
            .clone()
            .map_or(Searchable::Missing, Searchable::Text),
        "customer_id" => o
            .customer_id
            .map_or(Searchable::Missing, Searchable::Number),
        "financial_status" => Searchable::Text(o.financial_status.clone()),
        "id" => Searchable::Number(o.id),
        _ => Searchable::Missing,
    }
}

fn orders(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let filter = Filter::parse(f.arg_str("query"), ORDER_FIELDS);
    let sort = f.arg_str("sortKey").unwrap_or("ID").to_owned();
    let (read_all, now) = (ctx.shop.config.read_all_orders, ctx.now);
    let positions = ctx
        .shop
        .store
        .orders
        .values()
        .filter(|o| order_visible(read_all, o, now))
        .filter(|o| filter.matches(|n| order_field(o, n)))
        .map(|o| {
            let key = match sort.as_str() {
                "ID" | "RELEVANCE" => id_key(o.id),
                "CREATED_AT" => time_key(o.created_at),
                "UPDATED_AT" => time_key(o.updated_at),
                "PROCESSED_AT" => time_key(o.processed_at),
                other => return Err(sort_key_error(f, other)),
            };
            Ok(Position { key, id: o.id })
        })
        .collect();
    let page = resolve_page(f, ctx, positions, &filter)?;
    let store = &ctx.shop.store;
    let nodes = page
        .positions
        .iter()
        .filter_map(|p| store.orders.get(&p.id).map(|o| nodes::order(store, o)))
        .collect();
    project(&connection(&page, nodes), &f.selection, ctx.mode)
}

const PRODUCT_FIELDS: &[&str] = &[
    "updated_at",
    "created_at",
    "status",
    "vendor",
    "product_type",
    "tag",
    "handle",
    "id",
];

fn product_field(p: &Product, name: &str) -> Searchable {
    match name {
        "updated_at" => Searchable::Time(p.updated_at),
        "created_at" => Searchable::Time(p.created_at),
        "status" => Searchable::Text(p.status.clone()),
        "vendor" => Searchable::Text(p.vendor.clone()),
        "product_type" => Searchable::Text(p.product_type.clone()),
        "tag" => Searchable::List(p.tags.clone()),
        "handle" => Searchable::Text(p.handle.clone()),
        "id" => Searchable::Number(p.id),
        _ => Searchable::Missing,
    }
}

fn products(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let filter = Filter::parse(f.arg_str("query"), PRODUCT_FIELDS);
    let sort = f.arg_str("sortKey").unwrap_or("ID").to_owned();
    let positions = ctx
        .shop
        .store
        .products
        .values()
        .filter(|p| filter.matches(|n| product_field(p, n)))
        .map(|p| {
            let key = match sort.as_str() {
                "ID" | "RELEVANCE" => id_key(p.id),
                "CREATED_AT" => time_key(p.created_at),
                "UPDATED_AT" => time_key(p.updated_at),
                "TITLE" => p.title.to_lowercase(),
                other => return Err(sort_key_error(f, other)),
            };
            Ok(Position { key, id: p.id })
        })
        .collect();
    let page = resolve_page(f, ctx, positions, &filter)?;
    let store = &ctx.shop.store;
    let nodes = page
        .positions
        .iter()
        .filter_map(|p| store.products.get(&p.id).map(nodes::product))
        .collect();
    project(&connection(&page, nodes), &f.selection, ctx.mode)
}

const CHECKOUT_FIELDS: &[&str] = &["updated_at", "created_at", "id"];

fn checkout_field(c: &AbandonedCheckout, name: &str) -> Searchable {
    match name {
        "updated_at" => Searchable::Time(c.updated_at),
        "created_at" => Searchable::Time(c.created_at),
        "id" => Searchable::Number(c.id),
        _ => Searchable::Missing,
    }
}

fn checkouts(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let filter = Filter::parse(f.arg_str("query"), CHECKOUT_FIELDS);
    let sort = f.arg_str("sortKey").unwrap_or("ID").to_owned();
    let positions = ctx
        .shop
        .store
        .checkouts
        .values()
        .filter(|c| filter.matches(|n| checkout_field(c, n)))
        .map(|c| {
            let key = match sort.as_str() {
                "ID" | "RELEVANCE" => id_key(c.id),
                "CREATED_AT" => time_key(c.created_at),
                other => return Err(sort_key_error(f, other)),
            };
            Ok(Position { key, id: c.id })
        })
        .collect();
    let page = resolve_page(f, ctx, positions, &filter)?;
    let store = &ctx.shop.store;
    let domain = ctx.shop.config.domain.as_str();
    let nodes = page
        .positions
        .iter()
        .filter_map(|p| {
            store
                .checkouts
                .get(&p.id)
                .map(|c| nodes::checkout(store, domain, c))
        })
        .collect();
    project(&connection(&page, nodes), &f.selection, ctx.mode)
}
