//! Query cost, following Shopify's documented calculation
//! (shopify.md §5, "Cost calculation"):
//!
//! - scalars and enums cost 0, objects 1;
//! - a connection costs 2 plus `first` (or `last`) times the cost of one node
//!   (the node object itself, 1, plus what is selected in it);
//! - `nodes(ids:)` costs one node per id; a list with `first` costs `first`
//!   nodes;
//! - every mutation field costs 10.
//!
//! The *requested* cost is computed from the document alone, before running
//! it; the *actual* cost walks the response, so a page that returns fewer
//! nodes than `first` is refunded, as Shopify does.
//!
//! Without a schema, the kind of a field is read from its selection: no
//! selection is a scalar, a selection reading `nodes`/`edges`/`pageInfo` is a
//! connection, anything else is an object.

use serde_json::{Value, json};

use crate::document::{Field, Operation, OperationKind, Selection};
use crate::errors::GqlError;

/// Largest `first`/`last` Shopify accepts.
pub(crate) const MAX_PAGE_SIZE: u64 = 250;
/// Largest requested cost of a single query.
pub(crate) const MAX_QUERY_COST: u64 = 1000;
/// What a mutation field costs.
pub(crate) const MUTATION_COST: u64 = 10;

/// The requested cost; also validates page sizes.
pub(crate) fn requested(op: &Operation) -> Result<u64, GqlError> {
    match op.kind {
        OperationKind::Mutation => Ok(MUTATION_COST * root_fields(&op.selection).len() as u64),
        OperationKind::Query => {
            let mut total = 0;
            for f in root_fields(&op.selection) {
                total += field_cost(f)?;
            }
            Ok(total)
        }
    }
}

/// The cost of what was actually returned in `data`.
pub(crate) fn actual(op: &Operation, data: &Value) -> u64 {
    match op.kind {
        OperationKind::Mutation => MUTATION_COST * root_fields(&op.selection).len() as u64,
        OperationKind::Query => root_fields(&op.selection)
            .into_iter()
            .map(|f| actual_field(f, data.get(&f.key)))
            .sum(),
    }
}

/// The error Shopify answers for a query over the single-query limit.
pub(crate) fn max_cost_exceeded(cost: u64) -> GqlError {
    GqlError::new(format!(
        "Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\n\
         See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n\
         cost of a query is calculated.\n\n\
         To query larger amounts of data with fewer limits, bulk operations should be used instead.\n\
         See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    ))
    .code("MAX_COST_EXCEEDED")
    .ext("cost", json!(cost))
    .ext("maxCost", json!(MAX_QUERY_COST))
    .ext("documentation", json!(crate::errors::RATE_LIMIT_DOCS))
}

/// Root fields, with root-level fragments opened.
pub(crate) fn root_fields(selection: &[Selection]) -> Vec<&Field> {
    let mut out = Vec::new();
    for s in selection {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::Fragment { selection, .. } => out.extend(root_fields(selection)),
        }
    }
    out
}

/// `first`/`last` of a connection, checked against Shopify's limits.
pub(crate) fn page_size(f: &Field) -> Result<u64, GqlError> {
    let Some(n) = f.arg_u64("first").or_else(|| f.arg_u64("last")) else {
        return Err(GqlError::new(format!(
            "you must provide one of first or last (field '{}')",
            f.name
        ))
        .code("BAD_REQUEST")
        .path(&[f.key.as_str()]));
    };
    if n > MAX_PAGE_SIZE {
        return Err(GqlError::new(format!(
            "The page size of {n} requested on '{}' exceeds the maximum of {MAX_PAGE_SIZE}.",
            f.name
        ))
        .code("BAD_REQUEST")
        .path(&[f.key.as_str()]));
    }
    Ok(n)
}

fn field_cost(f: &Field) -> Result<u64, GqlError> {
    if f.selection.is_empty() {
        return Ok(0);
    }
    if f.name == "nodes" && f.args.contains_key("ids") {
        let ids = f
            .args
            .get("ids")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        return Ok(ids * (1 + selection_cost(&f.selection)?));
    }
    if f.is_connection() {
        let n = page_size(f)?;
        return Ok(2 + n * (1 + selection_cost(&f.node_selection())?));
    }
    let per = 1 + selection_cost(&f.selection)?;
    Ok(f.arg_u64("first").map_or(per, |n| n * per))
}

/// Direct fields add up; fragments on different types are alternatives, so
/// the most expensive counts.
fn selection_cost(selection: &[Selection]) -> Result<u64, GqlError> {
    let (mut direct, mut fragments) = (0, 0);
    for s in selection {
        match s {
            Selection::Field(f) => direct += field_cost(f)?,
            Selection::Fragment { selection, .. } => {
                fragments = fragments.max(selection_cost(selection)?);
            }
        }
    }
    Ok(direct + fragments)
}

fn actual_field(f: &Field, value: Option<&Value>) -> u64 {
    if f.selection.is_empty() {
        return 0;
    }
    let Some(value) = value else {
        return 0;
    };
    if value.is_null() {
        return if f.is_connection() { 2 } else { 1 };
    }
    if f.name == "nodes" && f.args.contains_key("ids") {
        return value.as_array().map_or(0, |items| {
            items
                .iter()
                .map(|v| 1 + actual_selection(&f.selection, v))
                .sum()
        });
    }
    if f.is_connection() {
        let node_selection = f.node_selection();
        return 2 + connection_items(value)
            .iter()
            .map(|v| 1 + actual_selection(&node_selection, v))
            .sum::<u64>();
    }
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| 1 + actual_selection(&f.selection, v))
            .sum(),
        v => 1 + actual_selection(&f.selection, v),
    }
}

fn actual_selection(selection: &[Selection], value: &Value) -> u64 {
    let (mut direct, mut fragments) = (0, 0);
    for s in selection {
        match s {
            Selection::Field(f) => direct += actual_field(f, value.get(&f.key)),
            Selection::Fragment { selection, .. } => {
                fragments = fragments.max(actual_selection(selection, value));
            }
        }
    }
    direct + fragments
}

/// The nodes of a connection response, from `nodes` or `edges[].node`.
pub(crate) fn connection_items(value: &Value) -> Vec<&Value> {
    if let Some(nodes) = value.get("nodes").and_then(Value::as_array) {
        return nodes.iter().collect();
    }
    value
        .get("edges")
        .and_then(Value::as_array)
        .map(|edges| edges.iter().filter_map(|e| e.get("node")).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::document::parse;

    fn cost(query: &str) -> Result<u64, GqlError> {
        requested(&parse(query, &Map::new(), None).unwrap())
    }

    #[test]
    fn scalars_are_free_objects_cost_one() {
        assert_eq!(
            cost("{ shop { name ianaTimezone currencyCode } }").unwrap(),
            1
        );
        assert_eq!(
            cost("{ customer(id: \"gid://shopify/Customer/1\") { id email defaultEmailAddress { emailAddress } } }")
                .unwrap(),
            2
        );
    }

    #[test]
    fn connections_multiply_by_first() {
        // 2 + 10 × (node 1)
        assert_eq!(
            cost("{ customers(first: 10) { nodes { id } pageInfo { hasNextPage endCursor } } }")
                .unwrap(),
            12
        );
        // 2 + 10 × (1 + 2 + 5 × 1): nested connection inside each product.
        assert_eq!(
            cost("{ products(first: 10) { edges { cursor node { id variants(first: 5) { nodes { id sku } } } } } }")
                .unwrap(),
            2 + 10 * (1 + 2 + 5)
        );
    }

    #[test]
    fn nodes_by_ids_cost_one_node_each_and_mutations_ten() {
        assert_eq!(
            cost("{ nodes(ids: [\"a\", \"b\", \"c\"]) { ... on Customer { id emailMarketingConsent { marketingState } } } }")
                .unwrap(),
            3 * 2
        );
        assert_eq!(
            cost("mutation { customerEmailMarketingConsentUpdate(input: {}) { userErrors { field } } }")
                .unwrap(),
            10
        );
    }

    #[test]
    fn page_size_limits() {
        let e = cost("{ customers(first: 251) { nodes { id } } }").unwrap_err();
        assert!(e.message.contains("251"), "{e:?}");
        assert!(cost("{ customers { nodes { id } } }").is_err());
    }

    #[test]
    fn actual_cost_counts_returned_nodes() {
        let op = parse(
            "{ customers(first: 10) { nodes { id } } }",
            &Map::new(),
            None,
        )
        .unwrap();
        let data = json!({"customers": {"nodes": [{"id": "a"}, {"id": "b"}]}});
        assert_eq!(actual(&op, &data), 4);
    }
}
