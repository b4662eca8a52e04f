//! The console benchmark's dedupe ledger: a store that has served its shops for a while holds
//! a large ledger (one row per webhook within the dedupe window), which the Shops page reads
//! each shop's last webhook from and the Shop page its recent webhooks. Rows are committed as
//! the worker commits them, spread evenly over the shops and the last seven days.

use chrono::{TimeDelta, Utc};
use so_domain::{ShopDomain, TopicName, WebhookId};
use so_store::{Commit, LedgerEntry, Store};

/// Rows per commit: a large worker batch.
const CHUNK: usize = 5_000;

/// Commits `rows` ledger rows for the shops `shop(0..shops)`.
pub(crate) async fn seed(
    store: &Store,
    rows: usize,
    shops: usize,
    shop: &dyn Fn(usize) -> String,
) -> anyhow::Result<()> {
    let domains: Vec<ShopDomain> = (0..shops)
        .map(|i| ShopDomain::parse(&shop(i)))
        .collect::<Result<_, _>>()?;
    let topic = TopicName::parse("orders/updated")?;
    let now = Utc::now();
    let week_ms = TimeDelta::days(7).num_milliseconds();
    let step = week_ms / i64::try_from(rows.max(1))?;
    for start in (0..rows).step_by(CHUNK) {
        let ledger = (start..rows.min(start + CHUNK))
            .map(|i| -> anyhow::Result<LedgerEntry> {
                let age = week_ms - step * i64::try_from(i)?;
                Ok(LedgerEntry {
                    shop: domains[i % shops].clone(),
                    webhook_id: WebhookId::parse(&format!("bench-ledger-{i}"))?,
                    topic: topic.clone(),
                    event_id: None,
                    seen_at: now - TimeDelta::milliseconds(age),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let done = store
            .commit(&Commit {
                ledger,
                ..Commit::default()
            })
            .await?;
        anyhow::ensure!(
            done == so_store::CommitOutcome::Committed,
            "ledger rows not committed: {done:?}"
        );
    }
    Ok(())
}
