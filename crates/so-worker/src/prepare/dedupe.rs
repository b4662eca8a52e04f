//! Dedupe and freshness: has this delivery been seen, is this version of
//! the entity newer than the one applied?

use std::ops::ControlFlow;

use chrono::{DateTime, FixedOffset};
use so_domain::SkipReason;
use so_domain::freshness::{self, EntityKind, Freshness, Incoming, Watermark, WatermarkKey};

use super::{Ctx, Preparer, Step};
use crate::outcome::Failure;
use crate::pending::{Changes, Pending};

impl Preparer {
    /// Freshness for one entity: a duplicate commits nothing, a stale
    /// version only its ledger entry.
    pub(super) async fn fresh(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        kind: EntityKind,
        id: String,
        version: Option<DateTime<FixedOffset>>,
    ) -> Step<()> {
        let key = WatermarkKey {
            shop: cx.shop.clone(),
            kind,
            id,
        };
        let applied = self.applied(cx, pending, &key).await?;
        let incoming = Incoming::new(cx.meta.webhook_id.clone(), kind, version);
        Ok(
            match freshness::decide(self.window, cx.now, cx.ledger, applied.as_ref(), &incoming) {
                Freshness::Apply { advance_to } => {
                    if let Some(w) = advance_to {
                        cx.changes.watermarks.push((key, w));
                    }
                    ControlFlow::Continue(())
                }
                Freshness::Duplicate { .. } => {
                    cx.changes = Changes::default();
                    ControlFlow::Break(SkipReason::Duplicate)
                }
                Freshness::Stale { .. } => {
                    cx.changes = Changes {
                        ledger: cx.changes.ledger.take(),
                        ..Changes::default()
                    };
                    ControlFlow::Break(SkipReason::Stale)
                }
            },
        )
    }

    /// The last applied version of `key`: the batch's own changes first,
    /// then what the batch prefetched, then the store.
    pub(super) async fn applied(
        &self,
        cx: &Ctx<'_>,
        pending: &Pending,
        key: &WatermarkKey,
    ) -> Result<Option<Watermark>, Failure> {
        if let Some(w) = pending.watermark(key) {
            return Ok(Some(w.clone()));
        }
        match cx.cache.watermark(key) {
            Some(w) => Ok(w.clone()),
            None => Ok(self.store.watermark(key).await?),
        }
    }

    /// For topics without a version: only the ledger says it was seen.
    pub(super) fn not_a_duplicate(&self, cx: &mut Ctx<'_>) -> ControlFlow<SkipReason> {
        let incoming = Incoming::new(cx.meta.webhook_id.clone(), EntityKind::Checkout, None);
        match freshness::decide(self.window, cx.now, cx.ledger, None, &incoming) {
            Freshness::Duplicate { .. } => {
                cx.changes = Changes::default();
                ControlFlow::Break(SkipReason::Duplicate)
            }
            _ => ControlFlow::Continue(()),
        }
    }
}
