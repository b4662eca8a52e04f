//! What a run reports: per-entity counts as it goes, and the final report.

use chrono::{DateTime, Utc};

use super::options::Entity;

/// Counts of one entity's run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EntityReport {
    /// Rows read from Shopify in this run (after the resume point).
    pub read: u64,
    /// Events published in this run.
    pub published: u64,
    /// Rows left out by `--only subscribers`.
    pub filtered: u64,
    /// Rows that could not become a webhook (e.g. a checkout without token).
    pub unconvertible: u64,
    /// Rows skipped because an earlier run had published them.
    pub resumed_from: u64,
}

/// Progress callbacks (the CLI draws a progress bar from them).
pub trait Progress: Send + Sync {
    fn started(&self, entity: Entity, resumed_from: u64);
    fn waiting_for_shopify(&self, entity: Entity);
    fn row(&self, entity: Entity, report: &EntityReport);
    fn finished(&self, entity: Entity, report: &EntityReport);
}

/// No progress output (tests, the scheduler).
pub struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: Entity, _: u64) {}
    fn waiting_for_shopify(&self, _: Entity) {}
    fn row(&self, _: Entity, _: &EntityReport) {}
    fn finished(&self, _: Entity, _: &EntityReport) {}
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub shop: String,
    pub entities: Vec<(String, EntityReport)>,
    pub elapsed_secs: f64,
    pub finished_at: DateTime<Utc>,
    /// Share of the Admin API cost budget used while it ran.
    pub budget_share: Option<f64>,
}
