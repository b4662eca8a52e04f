//! GraphQL documents, parsed with `graphql-parser` and lowered to a small
//! owned form: variables substituted, fragment spreads inlined. Cost,
//! execution and bulk flattening all walk this form, so they agree on what the
//! client asked for.

use std::collections::HashMap;

use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection as GqlSelection,
    SelectionSet, Type, TypeCondition, Value as GqlValue, VariableDefinition,
};
use serde_json::{Map, Value};

use crate::errors::GqlError;

/// Query or mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationKind {
    Query,
    Mutation,
}

/// The operation to run, with everything resolved.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) kind: OperationKind,
    pub(crate) selection: Vec<Selection>,
}

/// One selected field: arguments are plain JSON with variables substituted.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// Response key: the alias, or the name.
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) args: Map<String, Value>,
    pub(crate) selection: Vec<Selection>,
}

#[derive(Debug, Clone)]
pub(crate) enum Selection {
    Field(Field),
    /// An inline fragment or an inlined named fragment.
    Fragment {
        on: Option<String>,
        selection: Vec<Selection>,
    },
}

impl Field {
    pub(crate) fn arg_u64(&self, name: &str) -> Option<u64> {
        self.args.get(name).and_then(Value::as_u64)
    }

    pub(crate) fn arg_str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    pub(crate) fn arg_bool(&self, name: &str) -> Option<bool> {
        self.args.get(name).and_then(Value::as_bool)
    }

    /// A Relay connection: its selection reads `nodes`, `edges` or `pageInfo`.
    pub(crate) fn is_connection(&self) -> bool {
        self.all_fields()
            .iter()
            .any(|f| matches!(f.name.as_str(), "nodes" | "edges" | "pageInfo"))
    }

    /// Every field in the selection, whatever its fragment's condition.
    pub(crate) fn all_fields(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        collect_all(&self.selection, &mut out);
        out
    }

    /// The selection applied to each node of a connection: `nodes { … }` and
    /// `edges { node { … } }` merged.
    pub(crate) fn node_selection(&self) -> Vec<Selection> {
        let mut out = Vec::new();
        for f in self.all_fields() {
            match f.name.as_str() {
                "nodes" => out.extend(f.selection.iter().cloned()),
                "edges" => {
                    for e in f.all_fields() {
                        if e.name == "node" {
                            out.extend(e.selection.iter().cloned());
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// The fields that apply to an object of `typename`: direct fields plus
/// those of fragments on that type, on `Node`, or without a condition.
pub(crate) fn fields_for<'s>(selection: &'s [Selection], typename: &str) -> Vec<&'s Field> {
    let mut out = Vec::new();
    for s in selection {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::Fragment { on, selection } => {
                let applies = match on.as_deref() {
                    None | Some("Node") => true,
                    Some(t) => t == typename,
                };
                if applies {
                    out.extend(fields_for(selection, typename));
                }
            }
        }
    }
    out
}

fn collect_all<'s>(selection: &'s [Selection], out: &mut Vec<&'s Field>) {
    for s in selection {
        match s {
            Selection::Field(f) => out.push(f),
            Selection::Fragment { selection, .. } => collect_all(selection, out),
        }
    }
}

/// Parses `query` and picks the operation to run.
pub(crate) fn parse(
    query: &str,
    variables: &Map<String, Value>,
    operation_name: Option<&str>,
) -> Result<Operation, GqlError> {
    let doc: Document<'_, &str> = graphql_parser::parse_query(query)
        .map_err(|e| GqlError::new(format!("Parse error: {e}")).code("PARSE_ERROR"))?;
    let mut fragments = HashMap::new();
    let mut operations = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                fragments.insert(f.name, f);
            }
            Definition::Operation(op) => operations.push(op),
        }
    }
    let op = match operation_name {
        Some(name) => operations
            .iter()
            .find(|op| op_name(op) == Some(name))
            .ok_or_else(|| GqlError::new(format!("No operation named \"{name}\"")))?,
        None if operations.len() == 1 => &operations[0],
        None => {
            return Err(GqlError::new(
                "An operation name is required when sending multiple operations.",
            ));
        }
    };
    let (kind, defs, set) = match op {
        OperationDefinition::SelectionSet(set) => (OperationKind::Query, &[][..], set),
        OperationDefinition::Query(q) => (
            OperationKind::Query,
            &q.variable_definitions[..],
            &q.selection_set,
        ),
        OperationDefinition::Mutation(m) => (
            OperationKind::Mutation,
            &m.variable_definitions[..],
            &m.selection_set,
        ),
        OperationDefinition::Subscription(_) => {
            return Err(GqlError::new(
                "Subscriptions are not supported by the Admin API.",
            ));
        }
    };
    let vars = coerce_variables(defs, variables)?;
    let lower = Lower {
        vars: &vars,
        fragments: &fragments,
        depth: 0,
    };
    Ok(Operation {
        kind,
        selection: lower.set(set)?,
    })
}

fn op_name<'a>(op: &OperationDefinition<'a, &'a str>) -> Option<&'a str> {
    match op {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
    }
}

/// Declared variables take the supplied value or their default; a missing
/// non-null variable is an error, as in Shopify.
fn coerce_variables<'a>(
    defs: &[VariableDefinition<'a, &'a str>],
    supplied: &Map<String, Value>,
) -> Result<HashMap<String, Value>, GqlError> {
    let mut out = HashMap::new();
    for d in defs {
        let value = match supplied.get(d.name) {
            Some(v) => v.clone(),
            None => match &d.default_value {
                Some(v) => to_json(v, &HashMap::new())?,
                None => Value::Null,
            },
        };
        if value.is_null() && matches!(d.var_type, Type::NonNullType(_)) {
            return Err(GqlError::new(format!(
                "Variable ${} of type {} was provided invalid value",
                d.name, d.var_type
            ))
            .code("INVALID_VARIABLE"));
        }
        out.insert(d.name.to_owned(), value);
    }
    Ok(out)
}

struct Lower<'d, 'a> {
    vars: &'d HashMap<String, Value>,
    fragments: &'d HashMap<&'a str, &'d FragmentDefinition<'a, &'a str>>,
    depth: usize,
}

/// Fragment spreads nest at most this deep (also stops spread cycles).
const MAX_DEPTH: usize = 32;

impl<'a> Lower<'_, 'a> {
    fn set(&self, set: &SelectionSet<'a, &'a str>) -> Result<Vec<Selection>, GqlError> {
        if self.depth > MAX_DEPTH {
            return Err(GqlError::new("Query is nested too deeply."));
        }
        let inner = Lower {
            vars: self.vars,
            fragments: self.fragments,
            depth: self.depth + 1,
        };
        let mut out = Vec::new();
        for item in &set.items {
            match item {
                GqlSelection::Field(f) => {
                    let mut args = Map::new();
                    for (name, value) in &f.arguments {
                        args.insert((*name).to_owned(), to_json(value, self.vars)?);
                    }
                    out.push(Selection::Field(Field {
                        key: f.alias.unwrap_or(f.name).to_owned(),
                        name: f.name.to_owned(),
                        args,
                        selection: inner.set(&f.selection_set)?,
                    }));
                }
                GqlSelection::InlineFragment(frag) => out.push(Selection::Fragment {
                    on: frag
                        .type_condition
                        .as_ref()
                        .map(|TypeCondition::On(t)| (*t).to_owned()),
                    selection: inner.set(&frag.selection_set)?,
                }),
                GqlSelection::FragmentSpread(spread) => {
                    let def = self.fragments.get(spread.fragment_name).ok_or_else(|| {
                        GqlError::new(format!(
                            "Fragment {} was used, but not defined",
                            spread.fragment_name
                        ))
                    })?;
                    let TypeCondition::On(on) = def.type_condition;
                    out.push(Selection::Fragment {
                        on: Some(on.to_owned()),
                        selection: inner.set(&def.selection_set)?,
                    });
                }
            }
        }
        Ok(out)
    }
}

fn to_json<'a>(
    value: &GqlValue<'a, &'a str>,
    vars: &HashMap<String, Value>,
) -> Result<Value, GqlError> {
    Ok(match value {
        GqlValue::Variable(name) => vars
            .get(*name)
            .cloned()
            .ok_or_else(|| GqlError::new(format!("Variable ${name} is used but not declared")))?,
        GqlValue::Int(n) => n.as_i64().map_or(Value::Null, Value::from),
        GqlValue::Float(f) => Value::from(*f),
        GqlValue::String(s) => Value::String(s.clone()),
        GqlValue::Boolean(b) => Value::Bool(*b),
        GqlValue::Null => Value::Null,
        GqlValue::Enum(e) => Value::String((*e).to_owned()),
        GqlValue::List(items) => Value::Array(
            items
                .iter()
                .map(|v| to_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        GqlValue::Object(fields) => {
            let mut map = Map::new();
            for (k, v) in fields {
                map.insert((*k).to_owned(), to_json(v, vars)?);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn op(query: &str, vars: Value) -> Operation {
        let Value::Object(vars) = vars else {
            panic!("variables must be an object")
        };
        parse(query, &vars, None).unwrap()
    }

    fn root(op: &Operation) -> &Field {
        match &op.selection[0] {
            Selection::Field(f) => f,
            Selection::Fragment { .. } => panic!("fragment at root"),
        }
    }

    #[test]
    fn substitutes_variables_and_aliases() {
        let o = op(
            "query($n: Int!, $q: String) { c: customers(first: $n, query: $q) { nodes { id } } }",
            json!({"n": 5, "q": "updated_at:>'2024-01-01'"}),
        );
        let f = root(&o);
        assert_eq!(f.key, "c");
        assert_eq!(f.name, "customers");
        assert_eq!(f.arg_u64("first"), Some(5));
        assert_eq!(f.arg_str("query"), Some("updated_at:>'2024-01-01'"));
        assert!(f.is_connection());
    }

    #[test]
    fn inlines_named_fragments_and_uses_defaults() {
        let o = op(
            "query($n: Int = 3) { customers(first: $n) { nodes { ...C } } } fragment C on Customer { id email }",
            json!({}),
        );
        let f = root(&o);
        assert_eq!(f.arg_u64("first"), Some(3));
        let names: Vec<_> = fields_for(&f.node_selection(), "Customer")
            .iter()
            .map(|f| f.name.clone())
            .collect();
        assert_eq!(names, ["id", "email"]);
    }

    #[test]
    fn missing_non_null_variable_is_an_error() {
        let Value::Object(vars) = json!({}) else {
            unreachable!()
        };
        let err = parse("query($id: ID!) { customer(id: $id) { id } }", &vars, None).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("INVALID_VARIABLE"));
    }

    #[test]
    fn parse_errors_are_reported() {
        let vars = Map::new();
        assert!(parse("{ customers(first: 1) { nodes { id }", &vars, None).is_err());
    }
}
