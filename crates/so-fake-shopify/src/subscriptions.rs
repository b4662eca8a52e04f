//! Shop-specific webhook subscriptions (`shared/reference/shopify-apps.md`
//! §5.3, §6): the `webhookSubscriptions` connection, `currentAppInstallation
//! { accessScopes }`, and `webhookSubscriptionCreate/Update/Delete` with
//! their userErrors. App-specific subscriptions (from `shopify.app.toml`)
//! exist beside them but, as on Shopify, are never listed.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::document::Field;
use crate::errors::GqlError;
use crate::exec::{Ctx, parse_gid};
use crate::nodes;
use crate::project::{Position, connection, paginate, project};

/// Topics the fake knows: the GraphQL name, the read scope (empty: none),
/// and whether the payload carries protected customer data.
const TOPICS: &[(&str, &str, bool)] = &[
    ("ORDERS_CREATE", "read_orders", true),
    ("ORDERS_UPDATED", "read_orders", true),
    ("ORDERS_PAID", "read_orders", true),
    ("ORDERS_FULFILLED", "read_orders", true),
    ("ORDERS_PARTIALLY_FULFILLED", "read_orders", true),
    ("ORDERS_CANCELLED", "read_orders", true),
    ("ORDERS_EDITED", "read_orders", true),
    ("ORDERS_DELETE", "read_orders", true),
    ("REFUNDS_CREATE", "read_orders", true),
    ("CUSTOMERS_CREATE", "read_customers", true),
    ("CUSTOMERS_UPDATE", "read_customers", true),
    ("CUSTOMERS_ENABLE", "read_customers", true),
    ("CUSTOMERS_DISABLE", "read_customers", true),
    ("CUSTOMERS_DELETE", "read_customers", true),
    ("CUSTOMERS_MERGE", "read_customer_merge", true),
    (
        "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE",
        "read_customers",
        true,
    ),
    ("CUSTOMERS_MARKETING_CONSENT_UPDATE", "read_customers", true),
    ("CUSTOMERS_PURCHASING_SUMMARY", "read_customers", true),
    ("CUSTOMER_TAGS_ADDED", "read_customers", true),
    ("CUSTOMER_TAGS_REMOVED", "read_customers", true),
    ("PRODUCTS_CREATE", "read_products", false),
    ("PRODUCTS_UPDATE", "read_products", false),
    ("PRODUCTS_DELETE", "read_products", false),
    ("CHECKOUTS_CREATE", "read_orders", true),
    ("CHECKOUTS_UPDATE", "read_orders", true),
    ("CHECKOUTS_DELETE", "read_orders", true),
    ("FULFILLMENTS_CREATE", "read_fulfillments", true),
    ("FULFILLMENTS_UPDATE", "read_fulfillments", true),
    ("APP_UNINSTALLED", "", false),
    ("BULK_OPERATIONS_FINISH", "", false),
];

/// Only set in the app's configuration, never through the API.
const COMPLIANCE: &[&str] = &["CUSTOMERS_REDACT", "CUSTOMERS_DATA_REQUEST", "SHOP_REDACT"];

/// "Address for this topic has already been taken" (REST-era wording; [U]
/// for GraphQL, shopify-apps.md §6).
pub const TAKEN_MESSAGE: &str = "Address for this topic has already been taken";
/// The documented refusal without protected customer data approval.
pub const PROTECTED_MESSAGE: &str =
    "This app is not approved to subscribe to webhook topics containing protected customer data";

/// The app's protected customer data approval on this shop (§8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectedData {
    /// Level 0: customer and order topics are refused.
    NotApproved,
    /// Level 1: customer data without name, email, phone and address.
    Level1,
    /// Level 2: all of it.
    Level2,
}

/// One shop-specific subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: u64,
    pub topic: String,
    pub uri: String,
    pub format: String,
    pub api_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a subscription mutation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationKind {
    Create,
    Update,
    Delete,
}

/// One call of a subscription mutation, applied or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMutation {
    pub kind: MutationKind,
    /// The subscription's id (none for a refused create).
    pub id: Option<u64>,
    pub topic: Option<String>,
    pub uri: Option<String>,
    /// userErrors' messages; empty when applied.
    pub user_errors: Vec<String>,
}

/// The shop's subscriptions and the log of mutations.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    pub(crate) list: BTreeMap<u64, Subscription>,
    pub(crate) next_id: u64,
    pub(crate) log: Vec<SubscriptionMutation>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions {
            list: BTreeMap::new(),
            next_id: 1_300_000_000_001,
            log: Vec::new(),
        }
    }
}

impl Subscriptions {
    pub(crate) fn insert(
        &mut self,
        topic: &str,
        uri: &str,
        version: &str,
        now: DateTime<Utc>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.list.insert(
            id,
            Subscription {
                id,
                topic: topic.to_owned(),
                uri: uri.to_owned(),
                format: "JSON".to_owned(),
                api_version: version.to_owned(),
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    fn taken(&self, topic: &str, uri: &str, except: Option<u64>) -> bool {
        self.list
            .values()
            .any(|s| s.topic == topic && s.uri == uri && Some(s.id) != except)
    }
}

/// The first version whose subscriptions have `uri` (before: `callbackUrl`).
const URI_SINCE: &str = "2025-10";

fn has_uri(version: &str) -> bool {
    version >= URI_SINCE
}

fn node(s: &Subscription, version: &str) -> Value {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut v = json!({
        "__typename": "WebhookSubscription",
        "id": nodes::gid("WebhookSubscription", s.id),
        "legacyResourceId": s.id.to_string(),
        "topic": s.topic,
        "uri": s.uri,
        "format": s.format,
        "filter": null,
        "includeFields": [],
        "apiVersion": {"__typename": "ApiVersion", "handle": s.api_version, "displayName": s.api_version, "supported": true},
        "createdAt": time(s.created_at),
        "updatedAt": time(s.updated_at),
    });
    if !has_uri(version)
        && let Some(map) = v.as_object_mut()
        && let Some(uri) = map.remove("uri")
    {
        map.insert("callbackUrl".to_owned(), uri);
    }
    v
}

/// `webhookSubscriptions(first/after, topics, uri)`.
pub(crate) fn list(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let topics: Option<Vec<&str>> = f
        .args
        .get("topics")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let uri = f.arg_str("uri");
    let subs = &ctx.shop.subscriptions.list;
    let positions = subs
        .values()
        .filter(|s| {
            topics
                .as_ref()
                .is_none_or(|t| t.contains(&s.topic.as_str()))
        })
        .filter(|s| uri.is_none_or(|u| u == s.uri))
        .map(|s| Position {
            key: format!("{:020}", s.id),
            id: s.id,
        })
        .collect();
    let page = paginate(positions, f, ctx.mode)?;
    let nodes = page
        .positions
        .iter()
        .filter_map(|p| subs.get(&p.id).map(|s| node(s, ctx.version)))
        .collect();
    project(&connection(&page, nodes), &f.selection, ctx.mode)
}

/// `currentAppInstallation { accessScopes { handle } }`.
pub(crate) fn installation(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let scopes: Vec<Value> = ctx
        .shop
        .config
        .granted_scopes
        .iter()
        .map(|s| json!({"__typename": "AccessScope", "handle": s, "description": s}))
        .collect();
    let app = json!({
        "__typename": "AppInstallation",
        "id": nodes::gid("AppInstallation", 1),
        "accessScopes": scopes,
    });
    project(&app, &f.selection, ctx.mode)
}

struct Input {
    uri: Option<String>,
    format: Option<String>,
}

fn input(f: &Field, version: &str) -> Result<Input, GqlError> {
    let raw = f
        .args
        .get("webhookSubscription")
        .and_then(Value::as_object)
        .ok_or_else(|| missing(f, "webhookSubscription"))?;
    // `uri` replaced `callbackUrl` in 2025-10 (§6): each is undefined in
    // the other's versions.
    let (field, other) = if has_uri(version) {
        ("uri", "callbackUrl")
    } else {
        ("callbackUrl", "uri")
    };
    if raw.contains_key(other) {
        return Err(GqlError::new(format!(
            "Variable $webhookSubscription of type WebhookSubscriptionInput! was provided invalid value for {other} (Field is not defined on WebhookSubscriptionInput)"
        ))
        .code("INVALID_VARIABLE"));
    }
    let format = raw.get("format").and_then(Value::as_str).map(str::to_owned);
    if let Some(fmt) = &format
        && fmt != "JSON"
        && fmt != "XML"
    {
        return Err(GqlError::new(format!(
            "Variable $webhookSubscription of type WebhookSubscriptionInput! was provided invalid value for format (Expected \"{fmt}\" to be one of: JSON, XML)"
        ))
        .code("INVALID_VARIABLE"));
    }
    Ok(Input {
        uri: raw.get(field).and_then(Value::as_str).map(str::to_owned),
        format,
    })
}

fn missing(f: &Field, arg: &str) -> GqlError {
    GqlError::new(format!(
        "Field '{}' is missing required arguments: {arg}",
        f.name
    ))
    .code("missingRequiredArguments")
}

fn user_error(field: &[&str], message: &str) -> Value {
    json!({"__typename": "UserError", "field": field, "message": message})
}

/// Refusals that depend on the topic: scope and protected customer data.
fn topic_refusal(ctx: &Ctx<'_>, topic: &str) -> Option<String> {
    let (_, scope, protected) = TOPICS.iter().find(|(t, _, _)| *t == topic)?;
    let granted = &ctx.shop.config.granted_scopes;
    let write = scope.replacen("read_", "write_", 1);
    if !scope.is_empty() && !granted.iter().any(|g| g == scope || *g == write) {
        // Shopify's wording is not documented [U]; it names the scope.
        return Some(format!(
            "The app does not have the required access scope ({scope}) to subscribe to {topic}"
        ));
    }
    (*protected && ctx.shop.config.protected_data == ProtectedData::NotApproved)
        .then(|| PROTECTED_MESSAGE.to_owned())
}

/// `uri` must be HTTPS (Pub/Sub and EventBridge forms are accepted as is).
fn uri_error(uri: Option<&str>) -> Option<&'static str> {
    match uri {
        None | Some("") => Some("Address can't be blank"),
        Some(u) if u.starts_with("pubsub://") || u.starts_with("arn:aws:events:") => None,
        Some(u) if u.starts_with("https://") && u.len() > "https://".len() => None,
        Some(_) => Some("Address protocol http:// is not supported"),
    }
}

fn payload(typename: &str, sub: Option<&Subscription>, errors: Vec<Value>, version: &str) -> Value {
    json!({
        "__typename": typename,
        "webhookSubscription": sub.map_or(Value::Null, |s| node(s, version)),
        "userErrors": errors,
    })
}

/// `webhookSubscriptionCreate(topic:, webhookSubscription:)`.
pub(crate) fn create(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let topic = f
        .arg_str("topic")
        .ok_or_else(|| missing(f, "topic"))?
        .to_owned();
    if !TOPICS.iter().any(|(t, _, _)| *t == topic) && !COMPLIANCE.contains(&topic.as_str()) {
        return Err(GqlError::new(format!(
            "Variable $topic of type WebhookSubscriptionTopic! was provided invalid value (Expected \"{topic}\" to be one of the WebhookSubscriptionTopic values)"
        ))
        .code("INVALID_VARIABLE"));
    }
    let input = input(f, ctx.version)?;
    let uri = input.uri.clone();
    let mut errors = Vec::new();
    if COMPLIANCE.contains(&topic.as_str()) {
        errors.push(user_error(
            &["topic"],
            "Compliance topics can only be set in the app's configuration",
        ));
    } else if let Some(msg) = uri_error(uri.as_deref()) {
        errors.push(user_error(&["webhookSubscription", "uri"], msg));
    } else if let Some(msg) = topic_refusal(ctx, &topic) {
        errors.push(user_error(&["topic"], &msg));
    } else if ctx
        .shop
        .subscriptions
        .taken(&topic, uri.as_deref().unwrap_or_default(), None)
    {
        errors.push(user_error(&["webhookSubscription", "uri"], TAKEN_MESSAGE));
    }
    let version = ctx
        .shop
        .config
        .webhook_api_version
        .clone()
        .unwrap_or_else(|| ctx.version.to_owned());
    let id = errors.is_empty().then(|| {
        let now = ctx.now;
        let subs = &mut ctx.shop.subscriptions;
        let id = subs.insert(&topic, uri.as_deref().unwrap_or_default(), &version, now);
        if let (Some(fmt), Some(s)) = (&input.format, subs.list.get_mut(&id)) {
            s.format.clone_from(fmt);
        }
        id
    });
    log(ctx, MutationKind::Create, id, Some(topic), uri, &errors);
    let sub = id.and_then(|id| ctx.shop.subscriptions.list.get(&id));
    project(
        &payload("WebhookSubscriptionCreatePayload", sub, errors, ctx.version),
        &f.selection,
        ctx.mode,
    )
}

fn subscription_id(f: &Field) -> Result<Option<u64>, GqlError> {
    let gid = f.arg_str("id").ok_or_else(|| missing(f, "id"))?;
    Ok(parse_gid(gid)
        .filter(|(kind, _)| *kind == "WebhookSubscription")
        .map(|(_, id)| id))
}

const NOT_FOUND: &str = "Webhook subscription does not exist";

/// `webhookSubscriptionUpdate(id:, webhookSubscription:)`: atomic.
pub(crate) fn update(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let id = subscription_id(f)?;
    let input = input(f, ctx.version)?;
    let existing = id
        .and_then(|id| ctx.shop.subscriptions.list.get(&id))
        .cloned();
    let mut errors = Vec::new();
    match &existing {
        None => errors.push(user_error(&["id"], NOT_FOUND)),
        Some(s) => {
            let uri = input.uri.as_deref().unwrap_or(&s.uri);
            if let Some(msg) = uri_error(Some(uri)) {
                errors.push(user_error(&["webhookSubscription", "uri"], msg));
            } else if ctx.shop.subscriptions.taken(&s.topic, uri, Some(s.id)) {
                errors.push(user_error(&["webhookSubscription", "uri"], TAKEN_MESSAGE));
            }
        }
    }
    let topic = existing.as_ref().map(|s| s.topic.clone());
    if let (true, Some(s)) = (errors.is_empty(), &existing)
        && let Some(stored) = ctx.shop.subscriptions.list.get_mut(&s.id)
    {
        if let Some(u) = &input.uri {
            stored.uri.clone_from(u);
        }
        if let Some(fmt) = &input.format {
            stored.format.clone_from(fmt);
        }
        stored.updated_at = ctx.now;
    }
    log(ctx, MutationKind::Update, id, topic, input.uri, &errors);
    let sub = match (errors.is_empty(), id) {
        (true, Some(id)) => ctx.shop.subscriptions.list.get(&id),
        _ => None,
    };
    project(
        &payload("WebhookSubscriptionUpdatePayload", sub, errors, ctx.version),
        &f.selection,
        ctx.mode,
    )
}

/// `webhookSubscriptionDelete(id:)`.
pub(crate) fn delete(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let id = subscription_id(f)?;
    let removed = id.and_then(|id| ctx.shop.subscriptions.list.remove(&id));
    let errors = if removed.is_some() {
        Vec::new()
    } else {
        vec![user_error(&["id"], NOT_FOUND)]
    };
    let (topic, uri) = removed.map(|s| (s.topic, s.uri)).unzip();
    log(ctx, MutationKind::Delete, id, topic, uri, &errors);
    let deleted = match (errors.is_empty(), id) {
        (true, Some(id)) => json!(nodes::gid("WebhookSubscription", id)),
        _ => Value::Null,
    };
    let payload = json!({
        "__typename": "WebhookSubscriptionDeletePayload",
        "deletedWebhookSubscriptionId": deleted,
        "userErrors": errors,
    });
    project(&payload, &f.selection, ctx.mode)
}

fn log(
    ctx: &mut Ctx<'_>,
    kind: MutationKind,
    id: Option<u64>,
    topic: Option<String>,
    uri: Option<String>,
    errors: &[Value],
) {
    let user_errors = errors
        .iter()
        .filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_owned))
        .collect();
    ctx.shop.subscriptions.log.push(SubscriptionMutation {
        kind,
        id,
        topic,
        uri,
        user_errors,
    });
}
