//! Typed rows of a result: child lines regrouped under their parents.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::lines::BulkLines;
use super::operation::BulkOperation;
use crate::client::AdminClient;
use crate::error::AdminError;
use crate::gid::Gid;
use crate::nodes::{AbandonedCheckout, Customer, Order, Product};

impl AdminClient {
    /// Typed rows of a completed operation (`None` url: no rows).
    pub async fn bulk_rows<T: BulkParent>(
        &self,
        operation: &BulkOperation,
    ) -> Result<BulkRows<T>, AdminError> {
        let lines = match &operation.url {
            Some(url) => self.open_bulk_result(url).await?,
            None => BulkLines::empty(),
        };
        Ok(BulkRows {
            lines,
            pending: None,
        })
    }
}

/// A node type whose bulk rows may carry children.
pub trait BulkParent: DeserializeOwned {
    /// Attaches one child line, told apart by the kind of its `id`.
    fn attach_child(&mut self, child: Value) -> Result<(), AdminError>;
}

fn child_kind(child: &Value) -> Result<String, AdminError> {
    let id = child
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| AdminError::decode("bulk child row", "no id"))?;
    Ok(Gid::parse(id)?.kind().to_owned())
}

fn unexpected_child(parent: &str, kind: &str) -> AdminError {
    AdminError::decode(
        "bulk child row",
        format!("{parent} rows have no {kind} children"),
    )
}

fn decode_child<T: DeserializeOwned>(child: Value) -> Result<T, AdminError> {
    serde_json::from_value(child).map_err(|e| AdminError::decode("bulk child row", e))
}

impl BulkParent for Customer {
    fn attach_child(&mut self, child: Value) -> Result<(), AdminError> {
        Err(unexpected_child("Customer", &child_kind(&child)?))
    }
}

impl BulkParent for Order {
    fn attach_child(&mut self, child: Value) -> Result<(), AdminError> {
        match child_kind(&child)?.as_str() {
            "LineItem" => {
                self.line_items.nodes.push(decode_child(child)?);
                Ok(())
            }
            kind => Err(unexpected_child("Order", kind)),
        }
    }
}

impl BulkParent for Product {
    fn attach_child(&mut self, child: Value) -> Result<(), AdminError> {
        match child_kind(&child)?.as_str() {
            "ProductVariant" => {
                self.variants.nodes.push(decode_child(child)?);
                Ok(())
            }
            kind => Err(unexpected_child("Product", kind)),
        }
    }
}

impl BulkParent for AbandonedCheckout {
    fn attach_child(&mut self, child: Value) -> Result<(), AdminError> {
        match child_kind(&child)?.as_str() {
            "AbandonedCheckoutLineItem" => {
                self.line_items.nodes.push(decode_child(child)?);
                Ok(())
            }
            kind => Err(unexpected_child("AbandonedCheckout", kind)),
        }
    }
}

/// Typed rows of a bulk result, children attached.
#[derive(Debug)]
pub struct BulkRows<T> {
    lines: BulkLines,
    pending: Option<(String, T)>,
}

fn root_id(value: &Value) -> Result<String, AdminError> {
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| AdminError::decode("bulk row", "no id"))
}

impl<T: BulkParent> BulkRows<T> {
    /// The next row with its children. Needs children right after their
    /// parent (`groupObjects: true`); otherwise it fails and
    /// [`BulkRows::collect_all`] must be used.
    pub async fn next(&mut self) -> Result<Option<T>, AdminError> {
        loop {
            let Some(line) = self.lines.next_line().await? else {
                return Ok(self.pending.take().map(|(_, row)| row));
            };
            match line.parent_id {
                None => {
                    let id = root_id(&line.value)?;
                    let row: T = serde_json::from_value(line.value)
                        .map_err(|e| AdminError::decode("bulk row", e))?;
                    if let Some((_, done)) = self.pending.replace((id, row)) {
                        return Ok(Some(done));
                    }
                }
                Some(parent) => match self.pending.as_mut() {
                    Some((id, row)) if *id == parent => row.attach_child(line.value)?,
                    _ => {
                        return Err(AdminError::decode(
                            "bulk result",
                            format!(
                                "line {}: child of {parent} is not next to its parent; run the query with groupObjects: true or use collect_all",
                                self.lines.lines_read()
                            ),
                        ));
                    }
                },
            }
        }
    }

    /// Every row, children attached wherever they appear in the file.
    /// Buffers the whole result.
    pub async fn collect_all(mut self) -> Result<Vec<T>, AdminError> {
        let mut rows: Vec<T> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut orphans: Vec<(String, Value)> = Vec::new();
        if let Some((id, row)) = self.pending.take() {
            index.insert(id, 0);
            rows.push(row);
        }
        while let Some(line) = self.lines.next_line().await? {
            match line.parent_id {
                None => {
                    let id = root_id(&line.value)?;
                    let row = serde_json::from_value(line.value)
                        .map_err(|e| AdminError::decode("bulk row", e))?;
                    index.insert(id, rows.len());
                    rows.push(row);
                }
                Some(parent) => match index.get(&parent) {
                    Some(&i) => rows[i].attach_child(line.value)?,
                    None => orphans.push((parent, line.value)),
                },
            }
        }
        for (parent, child) in orphans {
            let i = *index.get(&parent).ok_or_else(|| {
                AdminError::decode(
                    "bulk result",
                    format!("child row of unknown parent {parent}"),
                )
            })?;
            rows[i].attach_child(child)?;
        }
        Ok(rows)
    }
}
