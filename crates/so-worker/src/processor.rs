//! One processor: collects a batch from its partitions, then prepares,
//! delivers and settles it.

use std::time::{Duration, Instant};

use so_domain::EventMeta;
use so_ometria::Client;
use so_queue::{Delivery, codec};
use so_runtime::metrics;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::deliver::{self, Fate};
use crate::dispose::{Disposer, Outcome, Settled};
use crate::pending::Pending;
use crate::prepare::{Plan, Preparer};

pub(crate) struct Processor {
    pub(crate) preparer: Preparer,
    pub(crate) disposer: Disposer,
    pub(crate) client: Client,
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
            let started = Instant::now();
            self.process(batch).await;
            metrics::batch_duration(started.elapsed().as_secs_f64());
        }
    }

    async fn process(&self, batch: Vec<Delivery>) {
        let mut pending = Pending::default();
        let mut prepared: Vec<(Delivery, Option<EventMeta>, Plan)> =
            Vec::with_capacity(batch.len());
        for d in batch {
            let (meta, plan) = match codec::decode(&d.properties) {
                Ok(meta) => {
                    let span = tracing::info_span!(
                        "process",
                        webhook_id = meta.webhook_id.as_str(),
                        topic = meta.topic.as_str(),
                        shop = meta.shop.as_str(),
                        attempt = codec::attempt(&d.properties),
                        messaging.system = "rabbitmq",
                        messaging.operation = "process",
                    );
                    let plan = self
                        .preparer
                        .prepare(&d, &meta, &pending)
                        .instrument(span)
                        .await;
                    (Some(meta), plan)
                }
                Err(e) => {
                    let detail = e.to_string();
                    (
                        None,
                        Plan::DeadLetter {
                            stage: "decode",
                            reason: so_domain::ReasonCode::InvalidPayload,
                            detail,
                        },
                    )
                }
            };
            if let Plan::Push { changes, .. } | Plan::Skip { changes, .. } = &plan {
                pending.absorb(changes);
            }
            prepared.push((d, meta, plan));
        }

        let to_push: Vec<_> = prepared
            .iter_mut()
            .enumerate()
            .filter_map(|(i, (_, _, plan))| match plan {
                Plan::Push { records, .. } => Some((i, std::mem::take(records))),
                _ => None,
            })
            .collect();
        let fates = if to_push.is_empty() {
            Default::default()
        } else {
            deliver::deliver(&self.client, to_push).await
        };

        let settled = prepared
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
        self.disposer.settle(settled).await;
    }
}
