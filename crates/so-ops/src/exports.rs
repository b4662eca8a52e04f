//! `customers/data_request` exports kept in the store: list them and read
//! one, for the `exports` CLI and the admin API. Reading an export shows
//! customer data, so every read is logged (who, which export; never its
//! content), like a revealed dead letter; the CLI, like `dlq show
//! --reveal`, has no log output.

use chrono::Utc;
use so_domain::ShopDomain;
use so_store::{DataExport, ExportSummary, Store};

use crate::OpsError;

/// Exports not yet expired, newest first, of one shop or of all.
pub async fn list(
    store: &Store,
    shop: Option<&str>,
    limit: u32,
) -> Result<Vec<ExportSummary>, OpsError> {
    let shop = shop
        .map(|s| ShopDomain::parse(s).map_err(|e| OpsError::invalid("shop", format!("{s:?}: {e}"))))
        .transpose()?;
    Ok(store.exports(shop.as_ref(), Utc::now(), limit).await?)
}

/// One export with its content, for `actor`; the read is logged (in
/// processes that log: the admin API, not the CLI).
pub async fn show(store: &Store, id: &str, actor: &str) -> Result<DataExport, OpsError> {
    let export = store
        .export(id, Utc::now())
        .await?
        .ok_or_else(|| OpsError::ExportNotFound(id.to_owned()))?;
    tracing::warn!(
        actor,
        export_id = %export.summary.id,
        shop = %export.summary.shop,
        "Data export revealed."
    );
    Ok(export)
}
