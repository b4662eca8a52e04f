//! Bulk query operations (shopify.md §5): `bulkOperationRunQuery` validates
//! the inner query and creates an operation; polling `bulkOperation(id:)` or
//! `currentBulkOperation` moves it on, and when it completes its JSONL result
//! is generated and served at `url`.
//!
//! In the result, every node of a connection is one line; nodes of a nested
//! connection are lines of their own carrying `__parentId`. Lists that are
//! not connections (e.g. `Order.refunds`) stay inline.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::cost::{connection_items, root_fields};
use crate::document::{Field, Operation, OperationKind, Selection, parse};
use crate::errors::GqlError;
use crate::exec::{Ctx, execute, parse_gid};
use crate::nodes::{gid, time};
use crate::project::{Mode, project};

/// At most this many connections in a bulk query.
const MAX_CONNECTIONS: usize = 5;
/// Bulk queries running at once per shop from 2026-01 (one before).
const MAX_CONCURRENT: usize = 5;
/// Connections nest at most this deep.
const MAX_DEPTH: usize = 2;
/// Object-list fields (not connections) of the modelled types: a connection
/// inside one is refused, as Shopify does.
const LIST_FIELDS: &[&str] = &["refunds", "addresses"];

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl BulkStatus {
    /// GraphQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Failed => "FAILED",
            BulkStatus::Canceled => "CANCELED",
        }
    }

    fn in_progress(self) -> bool {
        matches!(self, BulkStatus::Created | BulkStatus::Running)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BulkOp {
    pub(crate) id: u64,
    pub(crate) query: String,
    pub(crate) group_objects: bool,
    pub(crate) status: BulkStatus,
    created_at: DateTime<Utc>,
    created: Instant,
    completed_at: Option<DateTime<Utc>>,
    polls: u32,
    object_count: u64,
    root_object_count: u64,
    error_code: Option<&'static str>,
    /// The JSONL result, once completed.
    pub(crate) file: Option<String>,
}

/// `bulkOperationRunQuery(query:, groupObjects:)`.
pub(crate) fn run(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let query = f.arg_str("query").ok_or_else(|| missing(f, "query"))?;
    let group_objects = f
        .arg_bool("groupObjects")
        .ok_or_else(|| missing(f, "groupObjects"))?;
    let result = validate(query).and_then(|()| {
        let running = ctx.shop.bulk.iter().filter(|o| o.status.in_progress()).count();
        if ctx.version < "2026-01" && running >= 1 {
            let current = ctx.shop.bulk.iter().rev().find(|o| o.status.in_progress());
            return Err(user_error(
                Value::Null,
                &format!(
                    "A bulk query operation for this app and shop is already in progress: {}.",
                    current.map_or_else(String::new, |o| gid("BulkOperation", o.id))
                ),
                "OPERATION_IN_PROGRESS",
            ));
        }
        if running >= MAX_CONCURRENT {
            return Err(user_error(
                Value::Null,
                "A maximum of 5 bulk query operations can run at the same time for this app and shop.",
                "LIMIT_REACHED",
            ));
        }
        Ok(())
    });
    let payload = match result {
        Err(e) => json!({
            "__typename": "BulkOperationRunQueryPayload",
            "bulkOperation": null,
            "userErrors": [e],
        }),
        Ok(()) => {
            let id = ctx.shop.next_bulk_id;
            ctx.shop.next_bulk_id += 1;
            let op = BulkOp {
                id,
                query: query.to_owned(),
                group_objects,
                status: BulkStatus::Created,
                created_at: ctx.now,
                created: Instant::now(),
                completed_at: None,
                polls: 0,
                object_count: 0,
                root_object_count: 0,
                error_code: None,
                file: None,
            };
            let json = op_json(&op, ctx);
            ctx.shop.bulk.push(op);
            json!({
                "__typename": "BulkOperationRunQueryPayload",
                "bulkOperation": json,
                "userErrors": [],
            })
        }
    };
    project(&payload, &f.selection, ctx.mode)
}

/// `bulkOperationCancel(id:)`.
pub(crate) fn cancel(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let id = f.arg_str("id").ok_or_else(|| missing(f, "id"))?;
    let found = parse_gid(id)
        .filter(|(kind, _)| *kind == "BulkOperation")
        .and_then(|(_, n)| ctx.shop.bulk.iter().position(|o| o.id == n));
    let payload = match found {
        None => json!({"__typename": "BulkOperationCancelPayload", "bulkOperation": null,
                       "userErrors": [user_error(json!(["id"]), "Bulk operation does not exist", "INVALID")]}),
        Some(i) => {
            let errors = if ctx.shop.bulk[i].status.in_progress() {
                ctx.shop.bulk[i].status = BulkStatus::Canceled;
                ctx.shop.bulk[i].completed_at = Some(ctx.now);
                vec![]
            } else {
                vec![user_error(
                    json!(["id"]),
                    "A bulk operation cannot be canceled when it is completed",
                    "INVALID",
                )]
            };
            json!({"__typename": "BulkOperationCancelPayload",
                   "bulkOperation": op_json(&ctx.shop.bulk[i], ctx), "userErrors": errors})
        }
    };
    project(&payload, &f.selection, ctx.mode)
}

/// `bulkOperation(id:)`: counts as a poll.
pub(crate) fn poll(ctx: &mut Ctx<'_>, id: u64) -> Option<Value> {
    let i = ctx.shop.bulk.iter().position(|o| o.id == id)?;
    advance(ctx, i);
    Some(op_json(&ctx.shop.bulk[i], ctx))
}

/// `currentBulkOperation`: the most recent operation; counts as a poll.
pub(crate) fn current(ctx: &mut Ctx<'_>) -> Value {
    let Some(i) = ctx.shop.bulk.len().checked_sub(1) else {
        return Value::Null;
    };
    advance(ctx, i);
    op_json(&ctx.shop.bulk[i], ctx)
}

fn advance(ctx: &mut Ctx<'_>, i: usize) {
    let (polls_needed, after) = (
        ctx.shop.config.bulk_polls_to_complete,
        ctx.shop.config.bulk_complete_after,
    );
    let op = &mut ctx.shop.bulk[i];
    if !op.status.in_progress() {
        return;
    }
    op.polls += 1;
    let due = op.polls >= polls_needed || after.is_some_and(|d| op.created.elapsed() >= d);
    if !due {
        op.status = BulkStatus::Running;
        return;
    }
    if std::mem::take(&mut ctx.shop.faults.fail_next_bulk) {
        let op = &mut ctx.shop.bulk[i];
        op.status = BulkStatus::Failed;
        op.error_code = Some("INTERNAL_SERVER_ERROR");
        op.completed_at = Some(ctx.now);
        return;
    }
    let query = op.query.clone();
    // groupObjects: true always groups; without it Shopify may not.
    let ungrouped = ctx.shop.faults.bulk_ungrouped && !op.group_objects;
    let Ok(lines) = generate(&query, ctx) else {
        let op = &mut ctx.shop.bulk[i];
        op.status = BulkStatus::Failed;
        op.error_code = Some("INTERNAL_SERVER_ERROR");
        op.completed_at = Some(ctx.now);
        return;
    };
    let lines = if ungrouped {
        let (roots, children): (Vec<Value>, Vec<Value>) = lines
            .into_iter()
            .partition(|l| l.get("__parentId").is_none());
        roots.into_iter().chain(children).collect()
    } else {
        lines
    };
    let op = &mut ctx.shop.bulk[i];
    op.root_object_count = lines
        .iter()
        .filter(|l| l.get("__parentId").is_none())
        .count() as u64;
    op.object_count = lines.len() as u64;
    let mut file = String::new();
    for l in &lines {
        file.push_str(&l.to_string());
        file.push('\n');
    }
    op.file = Some(file);
    op.status = BulkStatus::Completed;
    op.completed_at = Some(ctx.now);
}

fn op_json(op: &BulkOp, ctx: &Ctx<'_>) -> Value {
    let url = op.file.as_ref().filter(|f| !f.is_empty()).map(|_| {
        format!(
            "{}/bulk/{}/{}.jsonl",
            ctx.root_url, ctx.shop.config.domain, op.id
        )
    });
    json!({
        "__typename": "BulkOperation",
        "id": gid("BulkOperation", op.id),
        "status": op.status.as_str(),
        "errorCode": op.error_code,
        "createdAt": time(op.created_at),
        "completedAt": op.completed_at.map(time),
        // UnsignedInt64 travels as a string.
        "objectCount": op.object_count.to_string(),
        "rootObjectCount": op.root_object_count.to_string(),
        "fileSize": op.file.as_ref().map(|f| f.len().to_string()),
        "url": url,
        "partialDataUrl": null,
        "query": op.query,
        "type": "QUERY",
    })
}

fn missing(f: &Field, arg: &str) -> GqlError {
    GqlError::new(format!(
        "Field '{}' is missing required arguments: {arg}",
        f.name
    ))
    .code("missingRequiredArguments")
}

fn user_error(field: Value, message: &str, code: &str) -> Value {
    json!({"__typename": "BulkOperationUserError", "field": field, "message": message, "code": code})
}

fn invalid(message: &str) -> Value {
    user_error(json!(["query"]), message, "INVALID")
}

/// The rules of shopify.md §5: a query, ≥1 and ≤5 connections, nesting ≤2;
/// plus Shopify's requirement that a node with a nested connection selects
/// `id` (its children point at it) and that lists hold no connections.
fn validate(query: &str) -> Result<(), Value> {
    let op = parse(query, &Map::new(), None)
        .map_err(|e| invalid(&format!("Invalid bulk query: {}", e.message)))?;
    if op.kind != OperationKind::Query {
        return Err(invalid(
            "Invalid bulk query: only queries can run as bulk queries",
        ));
    }
    let mut count = 0;
    walk(&op.selection, 0, false, &mut count)?;
    if count == 0 {
        return Err(invalid(
            "Bulk queries must contain at least one connection.",
        ));
    }
    if count > MAX_CONNECTIONS {
        return Err(invalid(&format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
        )));
    }
    Ok(())
}

fn walk(
    selection: &[Selection],
    depth: usize,
    in_list: bool,
    count: &mut usize,
) -> Result<(), Value> {
    for f in all_fields(selection) {
        if f.is_connection() {
            *count += 1;
            if in_list {
                return Err(invalid(
                    "Queries that contain a connection field within a list field are not currently supported.",
                ));
            }
            if depth + 1 > MAX_DEPTH {
                return Err(invalid(&format!(
                    "Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
                )));
            }
            let nodes = f.node_selection();
            let nested: Vec<&str> = all_fields(&nodes)
                .into_iter()
                .filter(|c| c.is_connection())
                .map(|c| c.name.as_str())
                .collect();
            let selects_id = all_fields(&nodes)
                .iter()
                .any(|c| c.name == "id" && c.key == "id");
            if !nested.is_empty() && !selects_id {
                return Err(invalid(&format!(
                    "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. Connection fields without 'id': [{}].",
                    nested.join(", ")
                )));
            }
            walk(&nodes, depth + 1, false, count)?;
        } else if !f.selection.is_empty() {
            let list = in_list || LIST_FIELDS.contains(&f.name.as_str());
            walk(&f.selection, depth, list, count)?;
        }
    }
    Ok(())
}

fn all_fields(selection: &[Selection]) -> Vec<&Field> {
    let mut out = Vec::new();
    for s in selection {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::Fragment { selection, .. } => out.extend(all_fields(selection)),
        }
    }
    out
}

/// Runs the query with every connection unpaginated and flattens it into
/// lines, each parent followed by its children.
fn generate(query: &str, ctx: &mut Ctx<'_>) -> Result<Vec<Value>, GqlError> {
    let op: Operation = parse(query, &Map::new(), None)?;
    let mut bulk_ctx = Ctx {
        shop: &mut *ctx.shop,
        root_url: ctx.root_url,
        version: ctx.version,
        mode: Mode::Bulk,
        now: ctx.now,
        search: Vec::new(),
    };
    let data = execute(&op, &mut bulk_ctx)?;
    let mut lines = Vec::new();
    for f in root_fields(&op.selection) {
        if !f.is_connection() {
            continue;
        }
        let Some(value) = data.get(&f.key) else {
            continue;
        };
        let items = connection_items(value).into_iter().cloned().collect();
        flatten(items, f, None, &mut lines);
    }
    Ok(lines)
}

fn flatten(items: Vec<Value>, conn: &Field, parent: Option<&str>, lines: &mut Vec<Value>) {
    let node_selection = conn.node_selection();
    let nested: Vec<&Field> = all_fields(&node_selection)
        .into_iter()
        .filter(|f| f.is_connection())
        .collect();
    for item in items {
        let Value::Object(mut line) = item else {
            continue;
        };
        let children: Vec<(Vec<Value>, &Field)> = nested
            .iter()
            .filter_map(|f| {
                line.remove(&f.key).map(|v| {
                    let items = connection_items(&v).into_iter().cloned().collect();
                    (items, *f)
                })
            })
            .collect();
        if let Some(p) = parent {
            line.insert("__parentId".to_owned(), json!(p));
        }
        let id = line.get("id").and_then(Value::as_str).map(str::to_owned);
        lines.push(Value::Object(line));
        for (items, f) in children {
            flatten(items, f, id.as_deref(), lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(query: &str) -> String {
        let e = validate(query).unwrap_err();
        e["message"].as_str().unwrap().to_owned()
    }

    #[test]
    fn accepts_a_query_with_nested_connections() {
        validate("{ orders { edges { node { id lineItems { edges { node { id sku } } } } } } }")
            .unwrap();
        validate("{ products { nodes { id variants { nodes { id } } } } }").unwrap();
    }

    #[test]
    fn rejects_what_shopify_rejects() {
        assert!(rejected("{ shop { name } }").contains("at least one connection"));
        assert!(rejected("{ orders { nodes { lineItems { nodes { id } } } } }").contains("'id'"));
        assert!(
            rejected("{ orders { nodes { id refunds { id refundLineItems { nodes { id } } } } } }")
                .contains("within a list")
        );
        assert!(
            rejected("{ products { nodes { id variants { nodes { id metafields { nodes { id } } } } } } }")
                .contains("nesting depth")
        );
        assert!(rejected("{ a: customers { nodes { id } } b: customers { nodes { id } } c: customers { nodes { id } } d: customers { nodes { id } } e: customers { nodes { id } } f: customers { nodes { id } } }").contains("more than 5"));
        assert!(rejected("{ customers { nodes { id }").contains("Invalid bulk query"));
    }
}
