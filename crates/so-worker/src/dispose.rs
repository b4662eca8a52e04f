//! Stage 3: make each event's outcome durable, then ack.

use chrono::Utc;
use so_domain::{EventMeta, ReasonCode, Stage};
use so_platform::metrics;
use so_queue::{AckOutcome, DeathNote, Delivery, Publisher};
use so_store::{Commit, Progress, Store};
use tracing::Instrument;

use crate::attributes::Rides;
use crate::outcome::{self, Failure, Outcome};
use crate::pending::Changes;
use crate::progress::{Fate, Trace};

/// One delivery with its decoded metadata (if decoding worked) and outcome.
pub(crate) struct Settled {
    pub(crate) delivery: Delivery,
    pub(crate) meta: Option<EventMeta>,
    pub(crate) outcome: Outcome,
}

pub(crate) struct Disposer {
    pub(crate) store: Store,
    /// For the bounded `shop` metric label.
    pub(crate) rules: std::sync::Arc<crate::rules::Rules>,
    pub(crate) publisher: Publisher,
    pub(crate) max_attempts: u32,
    pub(crate) coalescing: so_ometria::Coalescing,
}

impl Disposer {
    /// Commits and acks the batch; `rides` are the behavioural attributes
    /// its contact records carried; `progress` (the earlier batches') is
    /// committed with the batch's state. What became of each delivery is
    /// returned for the progress, with `progress` again if not written.
    pub(crate) async fn settle(
        &self,
        mut batch: Vec<Settled>,
        rides: &Rides,
        progress: Progress,
    ) -> (Vec<Trace>, Progress) {
        self.schedule_checks(&mut batch).await;
        // All accepted events' state in one transaction; if that fails the
        // events go back to the queue: Ometria upserts, so a re-push is harmless.
        let mut commit = Commit::default();
        for s in &batch {
            if let Outcome::Pushed { changes } | Outcome::Skipped { changes, .. } = &s.outcome {
                add(&mut commit, changes);
            }
        }
        collapse(&mut commit);
        if self.coalescing == so_ometria::Coalescing::ByKey {
            newest_snapshots_only(&mut commit, &batch);
        }
        let done = |i: usize| {
            matches!(
                batch[i].outcome,
                Outcome::Pushed { .. } | Outcome::Skipped { .. }
            )
        };
        rides.settle(&mut commit, done);
        commit.progress = progress;
        let (committed, unwritten) = match self.store.commit(&commit).await {
            Ok(so_store::CommitOutcome::Committed) => (true, Progress::default()),
            Ok(so_store::CommitOutcome::Superseded { keys }) => {
                // Another worker applied newer versions of these entities
                // meanwhile (only possible while partitions move between
                // workers). Keep the newer state; remember the deliveries.
                tracing::warn!(
                    entities = keys.len(),
                    "Newer state was stored concurrently; keeping it."
                );
                let mut ledger_only = Commit {
                    ledger: commit.ledger.clone(),
                    progress: std::mem::take(&mut commit.progress),
                    ..Commit::default()
                };
                rides.superseded(&mut ledger_only, done);
                match self.store.commit(&ledger_only).await {
                    Ok(so_store::CommitOutcome::Committed) => (true, Progress::default()),
                    _ => (false, ledger_only.progress),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot commit the batch's state; its events will be redelivered.");
                (false, commit.progress)
            }
        };
        // Acks and re-publishes are independent of each other; pipelining
        // them on the channel instead of awaiting each in turn.
        let traces = futures::future::join_all(batch.into_iter().map(|s| {
            let span = match &s.meta {
                Some(m) => tracing::info_span!(
                    "settle",
                    webhook_id = m.webhook_id.as_str(),
                    topic = m.topic.as_str(),
                    shop = m.shop.as_str()
                ),
                None => tracing::info_span!("settle"),
            };
            self.one(s, committed).instrument(span)
        }))
        .await;
        (traces, unwritten)
    }

    /// Publishes (confirmed) the abandonment checks the batch's checkouts
    /// asked for, before their state is committed and they are acked: a
    /// stored checkout always has its check on the broker. One that cannot
    /// be scheduled is retried instead, its state not committed.
    async fn schedule_checks(&self, batch: &mut [Settled]) {
        let wanted: Vec<(usize, u64)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.outcome {
                Outcome::Pushed { changes } | Outcome::Skipped { changes, .. } => {
                    Some((i, changes.check_after_secs?))
                }
                _ => None,
            })
            .collect();
        let results = futures::future::join_all(wanted.iter().map(|&(i, secs)| {
            batch[i]
                .delivery
                .schedule(&self.publisher, secs, crate::screen::ABANDONMENT_CHECK)
        }))
        .await;
        for ((i, _), result) in wanted.into_iter().zip(results) {
            if let Err(e) = result {
                batch[i].outcome = Outcome::Failed(Failure::retry(
                    ReasonCode::Internal,
                    format!("cannot schedule the abandonment check: {e}"),
                ));
            }
        }
    }

    async fn one(&self, s: Settled, committed: bool) -> Trace {
        let d = &s.delivery;
        let h = d.headers();
        let mut trace = Trace {
            partition: d.partition,
            received_at: h.received_at,
            scheduled: h.scheduled.is_some(),
            key: h.shop.clone().zip(h.message_id.clone()),
            held_before: h.attempt.unwrap_or(0) > 0 || d.redelivered,
            fate: Fate::Pending,
        };
        if self.move_one(s, committed).await {
            trace.fate = Fate::Settled;
        }
        trace
    }

    /// Carries out the outcome; `true` when the event is settled for good.
    async fn move_one(&self, s: Settled, committed: bool) -> bool {
        let topic = s
            .meta
            .as_ref()
            .map_or("invalid", |m| m.topic.metric_label());
        let shop = s.meta.as_ref().map_or(crate::rules::UNCONFIGURED, |m| {
            self.rules.shop_label(&m.shop)
        });
        let attempt = s.delivery.headers().attempt.unwrap_or(0);
        let d = &s.delivery;
        // A retry is not settled: it comes back.
        let mut settled = true;
        let result = match s.outcome {
            // Delivery resolves every push; one left here was never tried.
            Outcome::Push { .. } => {
                requeue(d).await;
                return false;
            }
            Outcome::Pushed { .. } | Outcome::Skipped { .. } if !committed => {
                requeue(d).await;
                return false;
            }
            Outcome::Pushed { .. } => {
                if let Some(m) = &s.meta {
                    let since = m.triggered_at.unwrap_or(m.received_at);
                    metrics::end_to_end_lag(
                        (Utc::now() - since).num_milliseconds().max(0) as f64 / 1000.0,
                    );
                }
                metrics::event_processed(shop, topic, outcome::PUSHED);
                Ok(())
            }
            Outcome::Skipped { reason, .. } => {
                metrics::event_processed(shop, topic, reason.as_str());
                Ok(())
            }
            Outcome::Park(reason) => {
                metrics::event_parked(shop, reason);
                metrics::event_processed(shop, topic, outcome::PARKED);
                d.park(&self.publisher, reason.as_str()).await
            }
            Outcome::Deferred => {
                metrics::event_processed(shop, topic, outcome::DEFERRED);
                let tiers = self.publisher.broker().names().retry_tiers_secs();
                let shortest = tiers.iter().copied().min().unwrap_or(5);
                d.schedule(&self.publisher, shortest, crate::screen::ABANDONMENT_CHECK)
                    .await
            }
            Outcome::Failed(Failure::Retry {
                reason,
                detail,
                after,
            }) => {
                // Unless its attempts are used up: then it is dead-lettered.
                settled = attempt + 1 >= self.max_attempts;
                self.retry(d, (shop, topic), attempt, reason, &detail, after)
                    .await
            }
            Outcome::Failed(Failure::DeadLetter {
                stage,
                reason,
                detail,
            }) => {
                self.dead_letter(d, (shop, topic), stage, reason, &detail, attempt + 1)
                    .await
            }
        };
        match result {
            Ok(()) => {
                if d.ack().await == AckOutcome::ChannelGone {
                    metrics::ack_lost();
                    tracing::warn!(
                        "Ack found its channel gone; the broker will redeliver (deduplicated)."
                    );
                }
                settled
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot move the event durably; returning it to its queue.");
                requeue(d).await;
                false
            }
        }
    }

    /// Re-queues the event through a retry tier, or dead-letters it once
    /// its attempts are used up.
    async fn retry(
        &self,
        d: &Delivery,
        (shop, topic): (&str, &'static str),
        attempt: u32,
        reason: ReasonCode,
        detail: &str,
        after: Option<std::time::Duration>,
    ) -> Result<(), so_queue::PublishError> {
        let next = attempt + 1;
        if next >= self.max_attempts {
            let detail = format!(
                "gave up after {next} attempts; last: {} ({detail})",
                reason.as_str()
            );
            self.dead_letter(
                d,
                (shop, topic),
                Stage::Retry,
                ReasonCode::RetriesExhausted,
                &detail,
                next,
            )
            .await
        } else {
            let delay = self.tier(next, after);
            metrics::event_retried(shop, reason);
            metrics::event_processed(shop, topic, outcome::RETRIED);
            tracing::info!(reason = reason.as_str(), attempt = next, delay_secs = delay, %detail, "Event re-queued for a later attempt.");
            d.retry_later(&self.publisher, delay, next, reason.as_str())
                .await
        }
    }

    async fn dead_letter(
        &self,
        d: &Delivery,
        (shop, topic): (&str, &'static str),
        stage: Stage,
        reason: ReasonCode,
        detail: &str,
        attempts: u32,
    ) -> Result<(), so_queue::PublishError> {
        metrics::event_dead_lettered(shop, reason, stage);
        metrics::event_processed(shop, topic, outcome::DEAD_LETTERED);
        tracing::warn!(reason = reason.as_str(), stage = stage.as_str(), attempts, %detail, "Event dead-lettered.");
        let note = DeathNote {
            stage: stage.as_str(),
            reason: reason.as_str(),
            detail,
            attempts,
        };
        d.dead_letter(&self.publisher, &note).await
    }

    /// The delay tier for attempt `n`: the n-th tier, or a longer one when
    /// Ometria asked for a longer wait.
    fn tier(&self, n: u32, after: Option<std::time::Duration>) -> u64 {
        let tiers = self.publisher.broker().names().retry_tiers_secs();
        let by_attempt = tiers[(n as usize).saturating_sub(1).min(tiers.len() - 1)];
        let wanted = after.map_or(0, |a| a.as_secs());
        tiers
            .iter()
            .copied()
            .find(|t| *t >= wanted.max(by_attempt))
            .unwrap_or(tiers[tiers.len() - 1])
    }
}

async fn requeue(d: &Delivery) {
    if d.requeue().await == AckOutcome::ChannelGone {
        metrics::ack_lost();
    }
}

fn add(commit: &mut Commit, c: &Changes) {
    commit.ledger.extend(c.ledger.iter().cloned());
    commit.watermarks.extend(c.watermarks.iter().cloned());
    commit.order_states.extend(c.order_states.iter().cloned());
    commit.tags.extend(c.tags.iter().cloned());
    commit.variants.extend(c.variants.iter().cloned());
    commit.checkouts.extend(c.checkouts.iter().cloned());
    commit.subscriptions.extend(c.subscriptions.iter().cloned());
    commit.held.extend(c.held.iter().cloned());
    commit
        .behaviour_dirty
        .extend(c.behaviour_dirty.iter().cloned());
    commit
        .properties_pushed
        .extend(c.properties_pushed.iter().cloned());
    commit
        .products_known
        .extend(c.products_known.iter().cloned());
    commit.consent_set.extend(c.consent_set.iter().cloned());
}

/// Keeps one write per row: the newest watermark per key and the last state
/// per order, customer and product (later events of the batch saw the
/// earlier ones through the overlay, so the last one holds everything).
fn collapse(commit: &mut Commit) {
    use std::collections::HashMap;
    fn last_wins<K: std::hash::Hash + Eq, T>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
        let mut last: HashMap<K, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            last.insert(key(item), i);
        }
        let mut i = 0;
        items.retain(|item| {
            let keep = last.get(&key(item)) == Some(&i);
            i += 1;
            keep
        });
    }
    let mut newest: HashMap<_, usize> = HashMap::new();
    for (i, (k, w)) in commit.watermarks.iter().enumerate() {
        let better = newest
            .get(k)
            .is_none_or(|&j| commit.watermarks[j].1.version <= w.version);
        if better {
            newest.insert(k.clone(), i);
        }
    }
    let mut i = 0;
    let keep: Vec<bool> = commit
        .watermarks
        .iter()
        .map(|(k, _)| {
            let k = newest.get(k) == Some(&i);
            i += 1;
            k
        })
        .collect();
    let mut it = keep.into_iter();
    commit.watermarks.retain(|_| it.next().unwrap_or(false));
    last_wins(&mut commit.order_states, |(shop, s)| {
        (shop.clone(), s.order_id)
    });
    last_wins(&mut commit.tags, |(shop, id, _)| (shop.clone(), *id));
    last_wins(&mut commit.variants, |(shop, id, _)| (shop.clone(), *id));
    // One mark per contact: the drain reads committed state anyway.
    let mut seen = std::collections::HashSet::new();
    commit
        .behaviour_dirty
        .retain(|(shop, buyer)| seen.insert((shop.clone(), buyer.id.clone())));
}

/// With coalescing, a batch's pushed contact records of one contact went as
/// one record carrying the newest snapshot: that version is what Ometria
/// took, so older versions pushed by other events of the batch are left
/// out (each would re-mark the contact as superseded and have the drain
/// send it again). Versions of events that pushed nothing stay.
fn newest_snapshots_only(commit: &mut Commit, batch: &[Settled]) {
    use std::collections::HashMap;
    let mut newest: HashMap<(&so_domain::ShopDomain, &str), i64> = HashMap::new();
    for s in batch {
        if let Outcome::Pushed { changes } = &s.outcome {
            for (shop, b, v) in &changes.properties_pushed {
                let e = newest.entry((shop, b.id.as_str())).or_insert(*v);
                *e = (*e).max(*v);
            }
        }
    }
    let mut kept = std::collections::HashSet::new();
    commit.properties_pushed.retain(|(shop, b, v)| {
        match newest.get(&(shop, b.id.as_str())) {
            // One entry at the newest pushed version; older ones go, newer
            // ones (held, not pushed) stay.
            Some(n) if v == n => kept.insert((shop.clone(), b.id.clone())),
            Some(n) => v > n,
            None => true,
        }
    });
}
