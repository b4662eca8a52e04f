//! Pagination and projection: keyset pagination with opaque cursors, and
//! keeping only the selected fields of a full object (see `nodes.rs` for the
//! conventions of the full shapes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::cost::page_size;
use crate::document::{Field, Selection, fields_for};
use crate::errors::GqlError;

/// How a query runs: interactively (page sizes apply) or as a bulk operation
/// (connections return everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Interactive,
    Bulk,
}

/// One record's position in a sorted connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    /// The sort key's value, in an order-preserving string form.
    pub(crate) key: String,
    pub(crate) id: u64,
}

/// The selected page: positions in order, and the page flags.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) positions: Vec<Position>,
    pub(crate) has_next: bool,
    pub(crate) has_previous: bool,
}

/// Sorts `positions`, applies `reverse`, `after`/`before` and `first`/`last`.
pub(crate) fn paginate(
    mut positions: Vec<Position>,
    f: &Field,
    mode: Mode,
) -> Result<Page, GqlError> {
    positions.sort();
    let reverse = f.arg_bool("reverse").unwrap_or(false);
    if reverse {
        positions.reverse();
    }
    let beyond = |p: &Position, c: &Position| if reverse { p < c } else { p > c };
    let mut has_previous = false;
    if let Some(after) = f.arg_str("after") {
        let c = decode_cursor(after)?;
        let before_len = positions.len();
        positions.retain(|p| beyond(p, &c));
        has_previous = positions.len() < before_len;
    }
    let mut has_next = false;
    if let Some(before) = f.arg_str("before") {
        let c = decode_cursor(before)?;
        let before_len = positions.len();
        positions.retain(|p| beyond(&c, p));
        has_next = positions.len() < before_len;
    }
    if mode == Mode::Interactive {
        let n = usize::try_from(page_size(f)?).unwrap_or(usize::MAX);
        if f.arg_u64("first").is_some() {
            has_next |= positions.len() > n;
            positions.truncate(n);
        } else {
            has_previous |= positions.len() > n;
            let skip = positions.len().saturating_sub(n);
            positions.drain(..skip);
        }
    }
    Ok(Page {
        positions,
        has_next,
        has_previous,
    })
}

/// `{"last_id": …, "last_value": …}`, base64: the shape of Shopify's cursors.
pub(crate) fn encode_cursor(p: &Position) -> String {
    let raw = json!({"last_id": p.id, "last_value": p.key}).to_string();
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Result<Position, GqlError> {
    let invalid = || GqlError::new(format!("Invalid cursor: {cursor}")).code("BAD_REQUEST");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(Position {
        id: v
            .get("last_id")
            .and_then(Value::as_u64)
            .ok_or_else(invalid)?,
        key: v
            .get("last_value")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?
            .to_owned(),
    })
}

/// A full connection object for a page whose nodes are already built.
pub(crate) fn connection(page: &Page, nodes: Vec<Value>) -> Value {
    let cursors: Vec<String> = page.positions.iter().map(encode_cursor).collect();
    let edges: Vec<Value> = cursors
        .iter()
        .zip(&nodes)
        .map(|(c, n)| json!({"__typename": "Edge", "cursor": c, "node": n}))
        .collect();
    json!({
        "__typename": "Connection",
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": cursors.first(),
            "endCursor": cursors.last(),
        },
    })
}

/// Keeps the fields `selection` asks for; `value` is a full object, a list,
/// or a scalar.
pub(crate) fn project(
    value: &Value,
    selection: &[Selection],
    mode: Mode,
) -> Result<Value, GqlError> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| project(v, selection, mode))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let typename = map
                .get("__typename")
                .and_then(Value::as_str)
                .unwrap_or("Object");
            let stub = map.contains_key("__stub");
            let mut out = Map::new();
            for f in fields_for(selection, typename) {
                if f.name == "__typename" {
                    out.insert(f.key.clone(), json!(typename));
                    continue;
                }
                let v = match map.get(&f.name) {
                    Some(v) => v,
                    None if stub => &Value::Null,
                    None => return Err(GqlError::undefined_field(typename, &f.name)),
                };
                out.insert(f.key.clone(), project_field(f, v, mode)?);
            }
            Ok(Value::Object(out))
        }
        scalar => Ok(scalar.clone()),
    }
}

fn project_field(f: &Field, value: &Value, mode: Mode) -> Result<Value, GqlError> {
    if let Some(items) = value.get("__connection").and_then(Value::as_array) {
        if f.selection.is_empty() {
            return Err(must_select(f));
        }
        let positions = (0..items.len() as u64)
            .map(|i| Position {
                key: format!("{i:020}"),
                id: i,
            })
            .collect();
        let page = paginate(positions, f, mode)?;
        let nodes = page
            .positions
            .iter()
            .filter_map(|p| {
                usize::try_from(p.id)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
            })
            .collect();
        return project(&connection(&page, nodes), &f.selection, mode);
    }
    let is_object =
        |v: &Value| v.is_object() || v.as_array().is_some_and(|a| a.iter().any(Value::is_object));
    if f.selection.is_empty() {
        if is_object(value) {
            return Err(must_select(f));
        }
        return Ok(value.clone());
    }
    if !value.is_null() && !is_object(value) && !value.as_array().is_some_and(Vec::is_empty) {
        return Err(GqlError::new(format!(
            "Selections can't be made on scalars (field '{}')",
            f.name
        ))
        .code("selectionMismatch"));
    }
    match (value, f.arg_u64("first")) {
        (Value::Array(items), Some(n)) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let taken: Vec<Value> = items.iter().take(n).cloned().collect();
            project(&Value::Array(taken), &f.selection, mode)
        }
        _ => project(value, &f.selection, mode),
    }
}

fn must_select(f: &Field) -> GqlError {
    GqlError::new(format!(
        "Field must have selections (field '{}' returns an object)",
        f.name
    ))
    .code("selectionMismatch")
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::cost::root_fields;
    use crate::document::parse;

    fn field(query: &str) -> Field {
        let op = parse(query, &Map::new(), None).unwrap();
        root_fields(&op.selection)[0].clone()
    }

    fn positions(n: u64) -> Vec<Position> {
        (0..n)
            .map(|id| Position {
                key: format!("{:03}", 100 - id),
                id,
            })
            .collect()
    }

    #[test]
    fn walks_every_position_exactly_once() {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = match &after {
                None => "{ customers(first: 3) { nodes { id } } }".to_owned(),
                Some(c) => {
                    format!("{{ customers(first: 3, after: \"{c}\") {{ nodes {{ id }} }} }}")
                }
            };
            let page = paginate(positions(10), &field(&q), Mode::Interactive).unwrap();
            seen.extend(page.positions.iter().map(|p| p.id));
            if !page.has_next {
                break;
            }
            after = page.positions.last().map(encode_cursor);
        }
        // Sorted by key (descending ids here).
        assert_eq!(seen, (0..10).rev().collect::<Vec<_>>());
    }

    #[test]
    fn reverse_and_last() {
        let page = paginate(
            positions(5),
            &field("{ customers(first: 2, reverse: true) { nodes { id } } }"),
            Mode::Interactive,
        )
        .unwrap();
        assert_eq!(
            page.positions.iter().map(|p| p.id).collect::<Vec<_>>(),
            [0, 1]
        );
        let page = paginate(
            positions(5),
            &field("{ customers(last: 2) { nodes { id } } }"),
            Mode::Interactive,
        )
        .unwrap();
        assert_eq!(
            page.positions.iter().map(|p| p.id).collect::<Vec<_>>(),
            [1, 0]
        );
        assert!(page.has_previous && !page.has_next);
    }

    #[test]
    fn bad_cursor_is_an_error() {
        let f = field("{ customers(first: 2, after: \"nope\") { nodes { id } } }");
        assert!(paginate(positions(3), &f, Mode::Interactive).is_err());
    }

    #[test]
    fn projection_keeps_selected_fields_and_rejects_unknown_ones() {
        let full = json!({"__typename": "Customer", "id": "gid://shopify/Customer/1", "email": "a@example.com",
                          "defaultEmailAddress": {"__typename": "CustomerEmailAddress", "emailAddress": "a@example.com"}});
        let f =
            field("{ customer(id: 1) { i: id defaultEmailAddress { emailAddress } __typename } }");
        let out = project(&full, &f.selection, Mode::Interactive).unwrap();
        assert_eq!(
            out,
            json!({"i": "gid://shopify/Customer/1", "defaultEmailAddress": {"emailAddress": "a@example.com"}, "__typename": "Customer"})
        );
        let f = field("{ customer(id: 1) { id emial } }");
        let err = project(&full, &f.selection, Mode::Interactive).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("undefinedField"));
        let f = field("{ customer(id: 1) { defaultEmailAddress } }");
        assert!(project(&full, &f.selection, Mode::Interactive).is_err());
    }

    #[test]
    fn nested_connections_paginate_with_their_own_arguments() {
        let full = json!({"__typename": "Order", "lineItems": {"__connection": [
            {"__typename": "LineItem", "id": "a"}, {"__typename": "LineItem", "id": "b"}, {"__typename": "LineItem", "id": "c"}]}});
        let f = field(
            "{ order(id: 1) { lineItems(first: 2) { nodes { id } pageInfo { hasNextPage } } } }",
        );
        let out = project(&full, &f.selection, Mode::Interactive).unwrap();
        assert_eq!(
            out,
            json!({"lineItems": {"nodes": [{"id": "a"}, {"id": "b"}], "pageInfo": {"hasNextPage": true}}})
        );
    }
}
