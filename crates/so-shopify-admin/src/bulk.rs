//! Bulk query operations (shopify.md §5): start one, poll it, and stream its
//! JSONL result line by line, regrouping child rows (`__parentId`) under
//! their parents into typed rows.
//!
//! Bulk queries have no cost limit and no page size; they are how a full
//! backfill should read orders (whose page queries are expensive). Nested
//! connections become separate lines; lists (`Order.refunds`) stay inline,
//! and Shopify refuses connections inside lists, so bulk orders carry refunds
//! without their refund lines.

use std::collections::HashMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::client::AdminClient;
use crate::error::{AdminError, TransientCause, UserError};
use crate::gid::Gid;
use crate::nodes::{AbandonedCheckout, Customer, Order, Product};
use crate::queries::{
    CHECKOUT_LINE_FIELDS, CHECKOUT_SCALARS, CUSTOMER_FIELDS, LINE_ITEM_FIELDS, ORDER_SCALARS,
    PRODUCT_SCALARS, VARIANT_FIELDS,
};

/// A JSONL line longer than this is refused rather than buffered.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Every mutation costs 10 points; `bulkOperation` lookups cost 1.
const MUTATION_COST: u64 = 10;
const POLL_COST: u64 = 1;

const RUN: &str = "mutation BulkRun($query: String!, $groupObjects: Boolean!) { \
bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) { \
bulkOperation { id status } userErrors { field message code } } }";
const OPERATION_FIELDS: &str = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl createdAt completedAt";

/// A bulk operation's global id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct BulkOperationId(pub String);

impl BulkOperationId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `BulkOperationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    Failed,
    Expired,
    #[serde(other)]
    Unknown,
}

impl BulkStatus {
    /// No further change will happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BulkStatus::Completed | BulkStatus::Canceled | BulkStatus::Failed | BulkStatus::Expired
        )
    }

    fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Canceling => "CANCELING",
            BulkStatus::Canceled => "CANCELED",
            BulkStatus::Failed => "FAILED",
            BulkStatus::Expired => "EXPIRED",
            BulkStatus::Unknown => "UNKNOWN",
        }
    }
}

/// `BulkOperation`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    pub id: BulkOperationId,
    pub status: BulkStatus,
    /// e.g. `ACCESS_DENIED`, `INTERNAL_SERVER_ERROR`, `TIMEOUT`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Lines in the result (`UnsignedInt64`, sent as a string).
    #[serde(default, deserialize_with = "u64_ish")]
    pub object_count: u64,
    #[serde(default, deserialize_with = "u64_ish")]
    pub root_object_count: u64,
    /// The JSONL result; `None` when the query matched nothing.
    #[serde(default)]
    pub url: Option<String>,
    /// What had been written when an operation failed.
    #[serde(default)]
    pub partial_data_url: Option<String>,
}

fn u64_ish<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(serde::de::Error::custom),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("not an unsigned integer")),
        Some(other) => Err(serde::de::Error::custom(format!("unexpected {other}"))),
    }
}

#[derive(Deserialize)]
struct RunData {
    #[serde(rename = "bulkOperationRunQuery")]
    run: Option<RunPayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunPayload {
    bulk_operation: Option<BulkOperationRef>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
struct BulkOperationRef {
    id: BulkOperationId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PollData {
    #[serde(alias = "currentBulkOperation")]
    bulk_operation: Option<BulkOperation>,
}

/// Bulk query of every customer, optionally filtered (search syntax).
pub fn customers_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ customers{} {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of orders with their line items (child lines) and refunds
/// (inline, without refund lines).
pub fn orders_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ orders{} {{ edges {{ node {{ {ORDER_SCALARS} \
refunds {{ id createdAt totalRefundedSet {{ shopMoney {{ amount currencyCode }} }} }} \
lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of products with their variants (child lines).
pub fn products_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ products{} {{ edges {{ node {{ {PRODUCT_SCALARS} variants {{ edges {{ node {{ {VARIANT_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// Bulk query of abandoned checkouts with their lines (child lines).
pub fn checkouts_bulk_query(filter: Option<&str>) -> String {
    format!(
        "{{ abandonedCheckouts{} {{ edges {{ node {{ {CHECKOUT_SCALARS} lineItems {{ edges {{ node {{ {CHECKOUT_LINE_FIELDS} }} }} }} }} }} }} }}",
        filter_args(filter)
    )
}

/// `(query: "…")`, escaped as a GraphQL string (JSON escapes are valid
/// GraphQL escapes).
fn filter_args(filter: Option<&str>) -> String {
    match filter {
        None => String::new(),
        Some(f) => format!("(query: {})", Value::String(f.to_owned())),
    }
}

impl AdminClient {
    /// Starts a bulk query with `groupObjects: true`, so children follow
    /// their parent and [`BulkRows::next`] can stream.
    pub async fn run_bulk_query(&self, query: &str) -> Result<BulkOperationId, AdminError> {
        self.run_bulk_query_with(query, true).await
    }

    /// Starts a bulk query. Ungrouped results are faster for Shopify to
    /// produce but must be read with [`BulkRows::collect_all`].
    pub async fn run_bulk_query_with(
        &self,
        query: &str,
        group_objects: bool,
    ) -> Result<BulkOperationId, AdminError> {
        let variables = json!({"query": query, "groupObjects": group_objects});
        let r = self
            .query_with_cost::<RunData>(RUN, variables, MUTATION_COST)
            .await?;
        let payload = r
            .data
            .run
            .ok_or_else(|| AdminError::decode("bulkOperationRunQuery", "no payload"))?;
        if !payload.user_errors.is_empty() {
            return Err(AdminError::UserErrors(payload.user_errors));
        }
        payload
            .bulk_operation
            .map(|b| b.id)
            .ok_or_else(|| AdminError::decode("bulkOperationRunQuery", "no bulkOperation"))
    }

    /// `bulkOperation(id:)`.
    pub async fn poll_bulk(&self, id: &BulkOperationId) -> Result<BulkOperation, AdminError> {
        let query =
            format!("query Bulk($id: ID!) {{ bulkOperation(id: $id) {{ {OPERATION_FIELDS} }} }}");
        let r = self
            .query_with_cost::<PollData>(&query, json!({"id": id.as_str()}), POLL_COST)
            .await?;
        r.data.bulk_operation.ok_or_else(|| {
            AdminError::decode("bulkOperation", format!("no operation {}", id.as_str()))
        })
    }

    /// `currentBulkOperation(type: QUERY)`: the app's latest bulk query.
    pub async fn current_bulk_operation(&self) -> Result<Option<BulkOperation>, AdminError> {
        let query =
            format!("query {{ currentBulkOperation(type: QUERY) {{ {OPERATION_FIELDS} }} }}");
        let r = self
            .query_with_cost::<PollData>(&query, json!({}), POLL_COST)
            .await?;
        Ok(r.data.bulk_operation)
    }

    /// Polls every `poll_interval` until the operation is COMPLETED (its
    /// state is returned), or fails with [`AdminError::BulkFailed`] /
    /// [`AdminError::BulkTimeout`] (`max_bulk_wait`).
    pub async fn wait_bulk(
        &self,
        id: &BulkOperationId,
        poll_interval: Duration,
    ) -> Result<BulkOperation, AdminError> {
        let started = Instant::now();
        loop {
            let op = self.poll_bulk(id).await?;
            match op.status {
                BulkStatus::Completed => return Ok(op),
                s if s.is_terminal() => {
                    return Err(AdminError::BulkFailed {
                        id: id.0.clone(),
                        status: s.as_str().to_owned(),
                        error_code: op.error_code,
                    });
                }
                s => {
                    if started.elapsed() + poll_interval > self.settings.max_bulk_wait {
                        return Err(AdminError::BulkTimeout {
                            id: id.0.clone(),
                            status: s.as_str().to_owned(),
                            waited: started.elapsed(),
                        });
                    }
                    tokio::time::sleep(poll_interval).await;
                }
            }
        }
    }

    /// Opens a result file for line-by-line reading. The URL is a signed
    /// storage link: the access token is *not* sent there.
    pub async fn open_bulk_result(&self, url: &str) -> Result<BulkLines, AdminError> {
        let response = self
            .download
            .get(url)
            .send()
            .await
            .map_err(|e| AdminError::Transient {
                attempts: 1,
                elapsed: Duration::ZERO,
                last: if e.is_timeout() {
                    TransientCause::Timeout(e)
                } else {
                    TransientCause::Transport(e)
                },
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(AdminError::Permanent {
                status,
                message: format!("bulk result download from {url} failed"),
            });
        }
        Ok(BulkLines {
            response: Some(response),
            splitter: LineSplitter::default(),
            line_no: 0,
        })
    }

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

/// One JSONL line.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkLine {
    /// `__parentId`, for rows of a nested connection.
    pub parent_id: Option<String>,
    /// The object, without `__parentId`.
    pub value: Value,
}

/// Splits a byte stream into lines, whatever the chunk boundaries.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
}

impl LineSplitter {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, without its `\n` (or `\r\n`).
    pub(crate) fn next_line(&mut self) -> Option<Vec<u8>> {
        let at = self.buf[self.scanned..].iter().position(|b| *b == b'\n')? + self.scanned;
        let mut line: Vec<u8> = self.buf.drain(..=at).collect();
        self.scanned = 0;
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }

    /// Whatever is left after the stream ended (a last line without `\n`).
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        self.scanned = 0;
        let rest = std::mem::take(&mut self.buf);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }

    fn pending(&mut self) -> usize {
        self.scanned = self.buf.len();
        self.buf.len()
    }
}

/// A bulk result being read, one line at a time: memory use is one chunk
/// plus one line, whatever the file size.
#[derive(Debug)]
pub struct BulkLines {
    response: Option<reqwest::Response>,
    splitter: LineSplitter,
    line_no: u64,
}

impl BulkLines {
    fn empty() -> Self {
        BulkLines {
            response: None,
            splitter: LineSplitter::default(),
            line_no: 0,
        }
    }

    /// The next line, `None` at the end.
    pub async fn next_line(&mut self) -> Result<Option<BulkLine>, AdminError> {
        loop {
            if let Some(line) = self.splitter.next_line() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return self.parse(&line).map(Some);
            }
            if self.splitter.pending() > MAX_LINE_BYTES {
                return Err(AdminError::decode(
                    "bulk result",
                    format!(
                        "line {} is longer than {MAX_LINE_BYTES} bytes",
                        self.line_no + 1
                    ),
                ));
            }
            let Some(response) = self.response.as_mut() else {
                return match self.splitter.finish() {
                    Some(line) => self.parse(&line).map(Some),
                    None => Ok(None),
                };
            };
            match response.chunk().await {
                Ok(Some(chunk)) => self.splitter.push(&chunk),
                Ok(None) => self.response = None,
                Err(e) => {
                    return Err(AdminError::Transient {
                        attempts: 1,
                        elapsed: Duration::ZERO,
                        last: if e.is_timeout() {
                            TransientCause::Timeout(e)
                        } else {
                            TransientCause::Transport(e)
                        },
                    });
                }
            }
        }
    }

    fn parse(&mut self, line: &[u8]) -> Result<BulkLine, AdminError> {
        self.line_no += 1;
        let mut value: Value = serde_json::from_slice(line).map_err(|e| {
            AdminError::decode("bulk result", format!("line {}: {e}", self.line_no))
        })?;
        let parent_id = value
            .as_object_mut()
            .and_then(|m| m.remove("__parentId"))
            .and_then(|p| p.as_str().map(str::to_owned));
        Ok(BulkLine { parent_id, value })
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(l) = s.next_line() {
                out.push(String::from_utf8(l).unwrap());
            }
            s.pending();
        }
        out.extend(s.finish().map(|l| String::from_utf8(l).unwrap()));
        out
    }

    #[test]
    fn lines_survive_any_chunking() {
        let text = b"{\"a\":1}\n{\"b\":\"x\\ny\"}\r\n\n{\"c\":3}";
        let expected = ["{\"a\":1}", "{\"b\":\"x\\ny\"}", "", "{\"c\":3}"];
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(split_all(&chunks), expected, "chunk size {size}");
        }
    }

    #[test]
    fn trailing_newline_leaves_nothing() {
        assert_eq!(split_all(&[b"x\n", b"y\n"]), ["x", "y"]);
    }

    #[test]
    fn bulk_queries_embed_filters_as_graphql_strings() {
        let q = customers_bulk_query(Some("updated_at:>'2024-01-01' \"quoted\""));
        assert!(
            q.contains(r#"customers(query: "updated_at:>'2024-01-01' \"quoted\"")"#),
            "{q}"
        );
        assert!(orders_bulk_query(None).starts_with("{ orders {"));
    }

    #[test]
    fn operation_counts_accept_strings_and_numbers() {
        let op: BulkOperation = serde_json::from_value(json!({
            "id": "gid://shopify/BulkOperation/1", "status": "COMPLETED",
            "objectCount": "12", "rootObjectCount": 3, "url": null
        }))
        .unwrap();
        assert_eq!((op.object_count, op.root_object_count), (12, 3));
        assert!(op.status.is_terminal());
    }

    #[test]
    fn order_rows_take_line_items_only() {
        let mut o: Order = serde_json::from_value(json!({
            "id": "gid://shopify/Order/1", "name": "#1", "createdAt": "2024-01-01T00:00:00Z", "currencyCode": "GBP"
        }))
        .unwrap();
        o.attach_child(json!({"id": "gid://shopify/LineItem/9", "quantity": 2, "title": "T"}))
            .unwrap();
        assert_eq!(o.line_items.nodes.len(), 1);
        assert!(
            o.attach_child(json!({"id": "gid://shopify/ProductVariant/9"}))
                .is_err()
        );
    }
}
