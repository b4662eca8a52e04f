//! One processor: collects a batch from its partitions, then prepares,
//! delivers and settles it.

use std::ops::ControlFlow;
use std::time::Instant;

use so_domain::EventMeta;
use so_platform::metrics;
use so_queue::Delivery;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::cache::Cache;
use crate::deliver;
use crate::dispose::{Disposer, Settled};
use crate::gather::Gathering;
use crate::outcome::{Failure, Outcome};
use crate::pending::Pending;
use crate::prepare::Preparer;
use crate::pusher::Preparing;
use crate::rejections::Origin;
use crate::screen::{Screened, screen};
use so_domain::{Disposition, ReasonCode, Stage};

/// How long a processor waits for a delivery before it records that its
/// partitions had nothing to do.
const IDLE_TICK: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) struct Processor {
    pub(crate) preparer: Preparer,
    pub(crate) disposer: Disposer,
    pub(crate) accounts: std::sync::Arc<crate::accounts::Accounts>,
    pub(crate) gathering: Gathering,
    pub(crate) coalescing: so_ometria::Coalescing,
    pub(crate) riders: crate::attributes::Riders,
}

impl Processor {
    /// Runs until the consumer drops its sender, finishing the last batch;
    /// keeps its partitions' progress with `progress` after each batch, for
    /// the next batch's commit, and writes it every second while idle.
    pub(crate) async fn run(
        self,
        mut rx: mpsc::Receiver<Delivery>,
        mut progress: crate::progress::Tracker,
    ) {
        loop {
            let waiting = chrono::Utc::now();
            let first = tokio::select! {
                d = rx.recv() => d,
                () = tokio::time::sleep(IDLE_TICK) => {
                    progress.idle(waiting).await;
                    continue;
                }
            };
            let Some(first) = first else {
                progress.flush().await;
                break;
            };
            let began = chrono::Utc::now();
            let mut batch = vec![first];
            let started = tokio::time::Instant::now();
            let budget_bound = self.accounts.all().iter().any(|a| a.pusher.saturated());
            let limits = self.gathering.limits(budget_bound);
            let mut deadline = started + self.gathering.window;
            // How many had arrived when the window was last looked at (the
            // first event itself does not count as arriving).
            let mut seen = 1;
            while batch.len() < limits.max_events {
                tokio::select! {
                    d = rx.recv() => match d {
                        Some(d) => batch.push(d),
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        let arriving = batch.len() > seen;
                        seen = batch.len();
                        let spoken_for = self.accounts.all().iter().any(|a| a.pusher.spoken_for());
                        if !self.gathering.goes_on(started.elapsed(), limits, arriving, spoken_for) {
                            break;
                        }
                        // Looked at again every configured window.
                        deadline = (deadline + self.gathering.window).min(started + limits.window);
                    }
                }
            }
            self.report_queue_age(&batch);
            progress.note_taken(batch.iter().map(|d| d.partition));
            let drained = rx.is_empty();
            let started = Instant::now();
            let (traces, unwritten) = self.process(batch, progress.take()).await;
            metrics::batch_duration(started.elapsed().as_secs_f64());
            progress.restore(unwritten);
            progress.after(&traces, began, drained);
            progress.note_in_hand(&traces, rx.is_empty());
        }
    }

    /// The age of the first message taken from each partition: the head of
    /// that queue a moment ago.
    fn report_queue_age(&self, batch: &[Delivery]) {
        let mut seen = std::collections::HashSet::new();
        let now = chrono::Utc::now();
        for d in batch {
            if !seen.insert(d.partition) {
                continue;
            }
            let Some(received) = d.headers().received_at else {
                continue;
            };
            let age = (now - received).num_milliseconds().max(0) as f64 / 1000.0;
            let queue = self
                .disposer
                .publisher
                .broker()
                .names()
                .work_queue(d.partition);
            metrics::queue_oldest_age(&queue, "work", age);
        }
    }

    /// Also returns `progress` (the earlier batches', committed with this
    /// one) when it was not written.
    async fn process(
        &self,
        batch: Vec<Delivery>,
        progress: so_store::Progress,
    ) -> (Vec<crate::progress::Trace>, so_store::Progress) {
        // A slot that comes while this batch is prepared waits for its
        // records (up to a bound) rather than leave part-filled.
        let preparing = Preparing::new(self.accounts.pushers());
        let screened = self.screen(batch);
        let t_load = Instant::now();
        let (mut prepared, load_ms) = self.prepare(screened).await;
        let rides = self.riders.attach(&mut prepared).await;
        let prepare_ms = t_load.elapsed().as_millis() - load_ms;
        let t_push = Instant::now();
        let settled = self.deliver(prepared, preparing).await;
        let push_ms = t_push.elapsed().as_millis();
        let t_settle = Instant::now();
        let events = settled.len();
        let (traces, unwritten) = self.disposer.settle(settled, &rides, progress).await;
        tracing::debug!(
            events,
            load_ms,
            prepare_ms,
            push_ms,
            settle_ms = t_settle.elapsed().as_millis() as u64,
            riding = rides.len(),
            "Batch done."
        );
        (traces, unwritten)
    }

    /// Pass 1: what each message is, from the message alone.
    fn screen(&self, batch: Vec<Delivery>) -> Vec<Screening> {
        batch
            .into_iter()
            .map(|d| match d.envelope().event_meta() {
                Ok(meta) => {
                    let s = screen(
                        &self.preparer.rules,
                        &self.accounts,
                        &meta,
                        d.headers(),
                        &d.body,
                    );
                    (d, Some(meta), s)
                }
                Err(e) => {
                    let outcome = Outcome::Failed(Failure::DeadLetter {
                        stage: Stage::Decode,
                        reason: ReasonCode::InvalidPayload,
                        detail: e.to_string(),
                    });
                    (d, None, ControlFlow::Break(outcome))
                }
            })
            .collect()
    }

    /// Pass 2: everything the batch will read, in a few bulk queries; then
    /// pass 3: decide each event in arrival order. Also returns how long
    /// the bulk read took, in milliseconds.
    async fn prepare(&self, mut screened: Vec<Screening>) -> (Vec<Settled>, u128) {
        let wanted: Vec<(&EventMeta, &Screened)> = screened
            .iter()
            .filter_map(|(_, m, s)| Some((m.as_ref()?, continued(s)?)))
            .collect();
        let t_load = Instant::now();
        let cache = Cache::load(&self.preparer.store, &wanted).await;
        let load_ms = t_load.elapsed().as_millis();
        drop(wanted);
        let mut pending = Pending::default();
        let mut prepared = Vec::with_capacity(screened.len());
        let mut overtaken = Vec::new();
        let mut cache = match cache {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the store for this batch; its events will be retried.");
                None
            }
        };
        for (d, meta, s) in screened.drain(..) {
            let outcome = match (meta.as_ref(), s, cache.as_mut()) {
                (_, ControlFlow::Break(outcome), _) => outcome,
                (Some(meta), ControlFlow::Continue(s), Some(cache)) => {
                    let span = tracing::info_span!(
                        "process",
                        webhook_id = meta.webhook_id.as_str(),
                        topic = meta.topic.as_str(),
                        shop = meta.shop.as_str(),
                        attempt = d.headers().attempt.unwrap_or(0),
                        messaging.system = "rabbitmq",
                        messaging.operation = "process",
                    );
                    self.preparer
                        .prepare(meta, s, &pending, cache)
                        .instrument(span)
                        .await
                }
                (_, ControlFlow::Continue(_), _) => Outcome::Failed(Failure::retry(
                    ReasonCode::StoreUnavailable,
                    "the store could not be read for this batch",
                )),
            };
            let meta = match (crate::overtaken::waits_for_its_order(&outcome), meta) {
                // Its order may come later in this batch (overtaken.rs).
                (true, Some(m)) => {
                    overtaken.push((d, m));
                    continue;
                }
                (_, meta) => meta,
            };
            if let Some(changes) = outcome.changes() {
                pending.absorb(changes);
            }
            prepared.push(Settled {
                delivery: d,
                meta,
                outcome,
            });
        }
        // Every delivery set aside is settled, whatever happens to the cache.
        for (d, meta) in overtaken {
            let outcome = match cache.as_mut() {
                Some(cache) => self.prepare_overtaken(&d, &meta, &pending, cache).await,
                None => Outcome::Failed(Failure::retry(
                    ReasonCode::StoreUnavailable,
                    "the store could not be read for this batch",
                )),
            };
            if let Some(changes) = outcome.changes() {
                pending.absorb(changes);
            }
            prepared.push(Settled {
                delivery: d,
                meta: Some(meta),
                outcome,
            });
        }
        if let Some(cache) = cache.as_mut() {
            self.store_listings(cache, &mut prepared).await;
        }
        (prepared, load_ms)
    }

    /// Stores the listing choices the batch deferred, before anything is
    /// pushed under them. An event that used a choice the store did not
    /// keep (another event chose differently first), or any deferred choice
    /// when the store cannot be written, is retried: it decides again then.
    async fn store_listings(&self, cache: &mut Cache, prepared: &mut [Settled]) {
        let choices = cache.take_deferred_listings();
        if choices.is_empty() {
            return;
        }
        let lost = match self.preparer.store.set_listings(&choices).await {
            Ok(lost) if lost.is_empty() => return,
            Ok(lost) => Some(lost),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot store the batch's listing choices; the events that made them will be retried.");
                None
            }
        };
        retry_affected(prepared.iter_mut().map(|s| &mut s.outcome), lost.as_deref());
    }

    /// Pushes the records of the events that have some, and settles each of
    /// those events by how its records fared.
    async fn deliver(&self, mut prepared: Vec<Settled>, preparing: Preparing) -> Vec<Settled> {
        let to_push: Vec<_> = prepared
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| match &mut s.outcome {
                Outcome::Push {
                    records, account, ..
                } => Some((i, account.clone(), std::mem::take(records))),
                _ => None,
            })
            .collect();
        if to_push.is_empty() {
            return prepared;
        }
        // What the rejection watcher needs to dead-letter an event whose
        // record Ometria refuses later.
        let origins = to_push
            .iter()
            .filter_map(|(i, _, _)| {
                let s = &prepared[*i];
                let origin = Origin {
                    meta: s.meta.clone()?,
                    body: s.delivery.body.clone(),
                };
                Some((*i, std::sync::Arc::new(origin)))
            })
            .collect();
        let delivered = deliver::deliver(
            to_push,
            &origins,
            self.accounts.several(),
            self.coalescing,
            preparing,
        )
        .await;
        self.note_pushes(&delivered.accepted_shops).await;
        let mut fates = delivered.fates;
        for (i, s) in prepared.iter_mut().enumerate() {
            if let Outcome::Push { changes, .. } = &mut s.outcome {
                let fate = fates.remove(&i).unwrap_or(Disposition::Done);
                s.outcome = Outcome::delivered(std::mem::take(changes), fate);
            }
        }
        prepared
    }
}

impl Processor {
    /// Records, once per shop per batch, that Ometria accepted a push of the
    /// shop's records: its status shows the time. Bookkeeping only, so a
    /// store error is logged and the events settle as they fared.
    async fn note_pushes(&self, shops: &std::collections::HashSet<so_domain::ShopDomain>) {
        let now = chrono::Utc::now();
        for shop in shops {
            if let Err(e) = self.preparer.store.record_push_accepted(shop, now).await {
                tracing::warn!(shop = %shop, error = %e, "Cannot record the shop's last accepted push; its status shows an older time.");
            }
        }
    }
}

/// Turns into retries the outcomes that used a deferred listing choice the
/// store did not keep (`lost`), or any deferred choice when none could be
/// stored (`None`).
fn retry_affected<'a>(
    outcomes: impl Iterator<Item = &'a mut Outcome>,
    lost: Option<&[(so_domain::ShopDomain, so_domain::shopify::ShopifyId)]>,
) {
    for outcome in outcomes {
        let Some(changes) = outcome.changes() else {
            continue;
        };
        let affected = match lost {
            Some(lost) => changes.deferred_listings.iter().any(|c| lost.contains(c)),
            None => !changes.deferred_listings.is_empty(),
        };
        if affected {
            *outcome = Outcome::Failed(Failure::retry(
                ReasonCode::StoreUnavailable,
                "identity changed under a concurrent update",
            ));
        }
    }
}

/// One delivery after screening: its metadata when it could be decoded, and
/// either what to prepare or its outcome already.
type Screening = (Delivery, Option<EventMeta>, ControlFlow<Outcome, Screened>);

fn continued(s: &ControlFlow<Outcome, Screened>) -> Option<&Screened> {
    match s {
        ControlFlow::Continue(s) => Some(s),
        ControlFlow::Break(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use so_domain::shopify::ShopifyId;
    use so_domain::{ShopDomain, SkipReason};

    use super::retry_affected;
    use crate::outcome::{Failure, Outcome};
    use crate::pending::Changes;

    fn using(shop: &ShopDomain, customers: &[u64]) -> Outcome {
        let changes = Changes {
            deferred_listings: customers
                .iter()
                .map(|&c| (shop.clone(), ShopifyId::new(c)))
                .collect(),
            ..Changes::default()
        };
        Outcome::Skipped {
            reason: SkipReason::NoRecords,
            changes,
        }
    }

    fn retried(o: &Outcome) -> bool {
        matches!(o, Outcome::Failed(Failure::Retry { .. }))
    }

    #[test]
    fn only_events_that_used_a_lost_choice_are_retried() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let mut outcomes = [using(&shop, &[1]), using(&shop, &[2]), using(&shop, &[])];
        let lost = [(shop, ShopifyId::new(1))];
        retry_affected(outcomes.iter_mut(), Some(&lost));
        let fates: Vec<bool> = outcomes.iter().map(retried).collect();
        assert_eq!(fates, [true, false, false]);
    }

    #[test]
    fn when_no_choice_could_be_stored_every_event_that_used_one_is_retried() {
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        let mut outcomes = [using(&shop, &[1]), using(&shop, &[2]), using(&shop, &[])];
        retry_affected(outcomes.iter_mut(), None);
        let fates: Vec<bool> = outcomes.iter().map(retried).collect();
        assert_eq!(fates, [true, true, false]);
    }
}
