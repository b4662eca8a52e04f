//! One processor: collects a batch from its partitions, then prepares,
//! delivers and settles it.

use std::time::{Duration, Instant};

use so_domain::EventMeta;
use so_queue::Delivery;
use so_runtime::metrics;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::cache::Cache;
use crate::deliver::{self, Fate};
use crate::dispose::{Disposer, Outcome, Settled};
use crate::pending::Pending;
use crate::prepare::{Plan, Preparer};
use crate::screen::{Screened, screen};
use so_domain::ReasonCode;

pub(crate) struct Processor {
    pub(crate) preparer: Preparer,
    pub(crate) disposer: Disposer,
    pub(crate) accounts: std::sync::Arc<crate::accounts::Accounts>,
    pub(crate) batch_max: usize,
    pub(crate) window: Duration,
}

impl Processor {
    /// Runs until the consumer drops its sender, finishing the last batch.
    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Delivery>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.window;
            while batch.len() < self.batch_max {
                tokio::select! {
                    d = rx.recv() => match d {
                        Some(d) => batch.push(d),
                        None => break,
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.report_queue_age(&batch);
            let started = Instant::now();
            self.process(batch).await;
            metrics::batch_duration(started.elapsed().as_secs_f64());
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

    async fn process(&self, batch: Vec<Delivery>) {
        // Pass 1: what each message is, from the message alone.
        let mut screened: Vec<(Delivery, Option<EventMeta>, Result<Screened, Plan>)> = batch
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
                    let plan = Plan::DeadLetter {
                        stage: "decode",
                        reason: ReasonCode::InvalidPayload,
                        detail: e.to_string(),
                    };
                    (d, None, Err(plan))
                }
            })
            .collect();
        // Pass 2: everything the batch will read, in a few bulk queries.
        let wanted: Vec<(&EventMeta, &Screened)> = screened
            .iter()
            .filter_map(|(_, m, s)| Some((m.as_ref()?, s.as_ref().ok()?)))
            .collect();
        let t_load = Instant::now();
        let cache = Cache::load(&self.preparer.store, &wanted).await;
        let load_ms = t_load.elapsed().as_millis();
        drop(wanted);
        // Pass 3: decide each event in arrival order.
        let mut pending = Pending::default();
        let mut prepared: Vec<(Delivery, Option<EventMeta>, Plan)> =
            Vec::with_capacity(screened.len());
        let mut cache = match cache {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the store for this batch; its events will be retried.");
                None
            }
        };
        for (d, meta, s) in screened.drain(..) {
            let plan = match (meta.as_ref(), s, cache.as_mut()) {
                (_, Err(plan), _) => plan,
                (Some(meta), Ok(s), Some(cache)) => {
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
                (_, Ok(_), _) => Plan::Retry {
                    reason: ReasonCode::StoreUnavailable,
                    detail: "the store could not be read for this batch".to_owned(),
                    after: None,
                },
            };
            if let Plan::Push { changes, .. } | Plan::Skip { changes, .. } = &plan {
                pending.absorb(changes);
            }
            prepared.push((d, meta, plan));
        }

        let prepare_ms = t_load.elapsed().as_millis() - load_ms;
        let t_push = Instant::now();
        let to_push: Vec<_> = prepared
            .iter_mut()
            .enumerate()
            .filter_map(|(i, (_, _, plan))| match plan {
                Plan::Push {
                    records, account, ..
                } => Some((i, account.clone(), std::mem::take(records))),
                _ => None,
            })
            .collect();
        let fates = if to_push.is_empty() {
            Default::default()
        } else {
            deliver::deliver(to_push, self.accounts.several()).await
        };

        let settled: Vec<Settled> = prepared
            .into_iter()
            .enumerate()
            .map(|(i, (delivery, meta, plan))| {
                let outcome = match plan {
                    Plan::Push { changes, .. } => {
                        match fates.get(&i).cloned().unwrap_or(Fate::Accepted) {
                            Fate::Accepted => Outcome::Done {
                                label: "pushed",
                                changes,
                                pushed: true,
                            },
                            Fate::Retry {
                                reason,
                                detail,
                                after,
                            } => Outcome::Retry {
                                reason,
                                detail,
                                after,
                            },
                            Fate::DeadLetter { reason, detail } => Outcome::DeadLetter {
                                stage: "push",
                                reason,
                                detail,
                            },
                        }
                    }
                    Plan::Skip { outcome, changes } => Outcome::Done {
                        label: outcome,
                        changes,
                        pushed: false,
                    },
                    Plan::Park { reason } => Outcome::Park { reason },
                    Plan::Retry {
                        reason,
                        detail,
                        after,
                    } => Outcome::Retry {
                        reason,
                        detail,
                        after,
                    },
                    Plan::DeadLetter {
                        stage,
                        reason,
                        detail,
                    } => Outcome::DeadLetter {
                        stage,
                        reason,
                        detail,
                    },
                };
                Settled {
                    delivery,
                    meta,
                    outcome,
                }
            })
            .collect();
        let push_ms = t_push.elapsed().as_millis();
        let t_settle = Instant::now();
        let events = settled.len();
        self.disposer.settle(settled).await;
        tracing::debug!(
            events,
            load_ms,
            prepare_ms,
            push_ms,
            settle_ms = t_settle.elapsed().as_millis() as u64,
            "Batch done."
        );
    }
}
