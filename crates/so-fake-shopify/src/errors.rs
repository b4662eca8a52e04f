//! Top-level GraphQL `errors[]` entries, in Shopify's shape:
//! `{message, path?, extensions: {code, …}}`.

use serde_json::{Map, Value, json};

/// Link Shopify puts in rate-limit errors.
pub(crate) const RATE_LIMIT_DOCS: &str = "https://shopify.dev/api/usage/rate-limits";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GqlError {
    pub(crate) message: String,
    pub(crate) code: Option<String>,
    pub(crate) path: Vec<String>,
    pub(crate) extensions: Map<String, Value>,
}

impl GqlError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        GqlError {
            message: message.into(),
            code: None,
            path: Vec::new(),
            extensions: Map::new(),
        }
    }

    pub(crate) fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    pub(crate) fn path(mut self, path: &[&str]) -> Self {
        self.path = path.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    pub(crate) fn ext(mut self, key: &str, value: Value) -> Self {
        self.extensions.insert(key.to_owned(), value);
        self
    }

    /// Shopify's wording for a field the schema does not have.
    pub(crate) fn undefined_field(typename: &str, field: &str) -> Self {
        GqlError::new(format!(
            "Field '{field}' doesn't exist on type '{typename}'"
        ))
        .code("undefinedField")
        .ext("typeName", json!(typename))
        .ext("fieldName", json!(field))
    }

    pub(crate) fn throttled() -> Self {
        GqlError::new("Throttled")
            .code("THROTTLED")
            .ext("documentation", json!(RATE_LIMIT_DOCS))
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut extensions = self.extensions.clone();
        if let Some(code) = &self.code {
            extensions.insert("code".to_owned(), json!(code));
        }
        let mut out = Map::new();
        out.insert("message".to_owned(), json!(self.message));
        if !self.path.is_empty() {
            out.insert("path".to_owned(), json!(self.path));
        }
        if !extensions.is_empty() {
            out.insert("extensions".to_owned(), Value::Object(extensions));
        }
        Value::Object(out)
    }
}
