//! Bulk query operations (shopify.md §5): start one, poll it, and stream its
//! JSONL result line by line, regrouping child rows (`__parentId`) under
//! their parents into typed rows.
//!
//! Bulk queries have no cost limit and no page size; they are how a full
//! backfill should read orders (whose page queries are expensive). Nested
//! connections become separate lines; lists (`Order.refunds`) stay inline,
//! and Shopify refuses connections inside lists, so bulk orders carry refunds
//! without their refund lines.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::client::AdminClient;
use crate::error::{AdminError, UserError};

/// Every mutation costs 10 points; `bulkOperation` lookups cost 1.
const MUTATION_COST: u64 = 10;
const POLL_COST: u64 = 1;

const RUN: &str = "mutation BulkRun($query: String!, $groupObjects: Boolean!) { \
bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) { \
bulkOperation { id status } userErrors { field message code } } }";
const OPERATION_FIELDS: &str = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl createdAt completedAt";

mod lines;
mod operation;
mod query;
mod rows;

pub use lines::{BulkLine, BulkLines};
pub use operation::{BulkOperation, BulkOperationId, BulkStatus};
pub use query::{
    checkouts_bulk_query, customers_bulk_query, orders_bulk_query, products_bulk_query,
};
pub use rows::{BulkParent, BulkRows};

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
}

#[cfg(test)]
mod tests;
