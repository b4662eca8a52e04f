//! The watcher of one Ometria account: reads `GET /v2/push/_errors` on a
//! schedule and soon after pushes (in slots the account's pushes leave
//! free, or after waiting a poll period for one), and for each item not handled yet
//! (across the fleet: the store's claim) either dead-letters the events
//! behind the refused record (`ometria_rejected`, replayable), or counts and
//! logs it as unattributed. Every worker process runs one per account;
//! duplicates are harmless because an item is acted on once (the store's
//! claim) and only the process that made a push can tie its errors.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use so_domain::{ReasonCode, Stage};
use so_ometria::PushError;
use so_platform::{RejectionSettings, Shutdown, metrics};
use so_queue::Publisher;
use so_store::Store;
use tokio::time::Instant;
use tracing::Instrument;

use super::attribute::{Verdict, attribute, fingerprints};
use super::dead_letter::publish_rejection;
use super::journal::{PushedRecord, Request};
use super::kept::KeptOrigin;
use crate::accounts::Account;
use crate::rules::Rules;

/// The longest Ometria message kept in logs and dead-letter details.
const MESSAGE_MAX: usize = 200;

pub(crate) struct Watcher {
    pub(crate) account: Arc<Account>,
    pub(crate) store: Store,
    pub(crate) publisher: Publisher,
    pub(crate) rules: Arc<Rules>,
    pub(crate) settings: RejectionSettings,
}

/// What the watcher remembers between polls, for the items still listed.
#[derive(Default)]
struct Seen {
    /// When this process first saw each item listed.
    listed_since: HashMap<String, Instant>,
    /// Items handled (here or by another worker).
    done: HashSet<String>,
}

impl Watcher {
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let mut seen = Seen::default();
        let mut pruned_at: Option<Instant> = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.settings.poll) => {}
                () = self.account.journal.pushed() => {
                    // Give Ometria a moment to validate what was just pushed.
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(self.settings.after_push) => {}
                    }
                }
            }
            // The read yields the account's budget to pushes, up to a poll
            // period under a backlog: shutdown must not wait for it.
            let read = self.account.client.push_errors_yielding(self.settings.poll);
            let listed = tokio::select! {
                () = shutdown.cancelled() => return,
                listed = read => listed,
            };
            self.poll(listed, &mut seen).await;
            if pruned_at.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(3600)) {
                pruned_at = Some(Instant::now());
                self.prune().await;
            }
        }
    }

    async fn poll(&self, listed: Result<Vec<PushError>, so_ometria::Error>, seen: &mut Seen) {
        let errors = match listed {
            Ok(errors) => {
                metrics::ometria_errors_polled("ok");
                errors
            }
            Err(e) => {
                metrics::ometria_errors_polled("error");
                tracing::warn!(error = %so_domain::error_chain(&e), "Cannot read Ometria's push errors; will try again.");
                return;
            }
        };
        let prints = fingerprints(&errors);
        let listed: HashSet<&String> = prints.iter().collect();
        seen.listed_since.retain(|k, _| listed.contains(k));
        seen.done.retain(|k| listed.contains(k));
        // Conservative when unknown: several workers may have pushed.
        let single_worker = self
            .store
            .worker_members()
            .await
            .is_ok_and(|m| m.len() <= 1);
        let now = Instant::now();
        for (error, print) in errors.iter().zip(&prints) {
            if seen.done.contains(print) {
                continue;
            }
            let first = *seen.listed_since.entry(print.clone()).or_insert(now);
            let verdict = attribute(
                error,
                &self.account.journal,
                single_worker,
                now.duration_since(first),
            );
            match self.handle(error, print, verdict).await {
                Handled::Yes => {
                    seen.done.insert(print.clone());
                }
                Handled::Later => {}
                Handled::StoreDown => return,
            }
        }
    }

    async fn handle(&self, error: &PushError, print: &str, verdict: Verdict) -> Handled {
        match verdict {
            Verdict::NotYet => Handled::Later,
            Verdict::HandledAtPush => self
                .claim(print)
                .await
                .map_or(Handled::StoreDown, |_| Handled::Yes),
            Verdict::Unattributed(reason) => self.unattributed(error, print, reason).await,
            Verdict::Rejected { request, record } => {
                self.rejected(error, print, &request, &record).await
            }
        }
    }

    async fn unattributed(&self, error: &PushError, print: &str, reason: &'static str) -> Handled {
        match self.claim(print).await {
            Some(true) => {
                metrics::ometria_rejection_unattributed(reason);
                tracing::warn!(
                    reason,
                    request_id = error.request_id.as_deref().unwrap_or(""),
                    record_type = error.record_type.as_deref().unwrap_or(""),
                    error_path = error.error_path.as_deref().unwrap_or(""),
                    error_message = %short(&error.error_message),
                    "Ometria rejected a record this worker cannot tie to an event."
                );
                Handled::Yes
            }
            Some(false) => Handled::Yes,
            None => Handled::StoreDown,
        }
    }

    /// Dead-letters the events behind `record`, then claims the item:
    /// a claim without its dead letters would lose the rejection; dead
    /// letters without the claim only repeat one (same derived ids, so a
    /// replay sends it once).
    async fn rejected(
        &self,
        error: &PushError,
        print: &str,
        request: &Request,
        record: &PushedRecord,
    ) -> Handled {
        let path = error.error_path.as_deref().unwrap_or("root");
        let detail = format!(
            "Ometria rejected {} record {} of request {} after accepting it: {} at {path}",
            record.record_type.as_str(),
            record.id,
            request.request_id,
            short(&error.error_message),
        );
        let Some(published) = self.dead_letter_events(record, print, &detail).await else {
            return Handled::Later;
        };
        match self.claim(print).await {
            None => return Handled::StoreDown,
            Some(false) => return Handled::Yes,
            Some(true) => {}
        }
        let Some((first, _)) = published.first() else {
            // A record with no event behind it: nothing to replay.
            metrics::ometria_rejection_unattributed("unknown_record");
            return Handled::Yes;
        };
        self.note(&first.meta.shop, print, record, path, &error.error_message)
            .await;
        let shop = self.rules.shop_label(&first.meta.shop);
        metrics::ometria_record_rejected(shop, record.record_type.as_str());
        for (origin, dead_letter_id) in &published {
            tracing::warn!(
                webhook_id = origin.meta.webhook_id.as_str(),
                topic = origin.meta.topic.as_str(),
                shop = origin.meta.shop.as_str(),
                record_type = record.record_type.as_str(),
                record_id = record.id.as_str(),
                request_id = request.request_id.as_str(),
                error_path = path,
                error_message = %short(&error.error_message),
                dead_letter = dead_letter_id.as_str(),
                reason = ReasonCode::OmetriaRejected.as_str(),
                stage = Stage::Push.as_str(),
                "Ometria rejected a record after accepting its push; its event is dead-lettered for replay."
            );
        }
        Handled::Yes
    }

    /// One dead letter per event behind `record` (confirmed), with the id
    /// each got; `None` if one could not be published.
    async fn dead_letter_events(
        &self,
        record: &PushedRecord,
        print: &str,
        detail: &str,
    ) -> Option<Vec<(Arc<KeptOrigin>, String)>> {
        let mut seen = HashSet::new();
        let mut published = Vec::new();
        for origin in &record.origins {
            if !seen.insert(origin.meta.webhook_id.as_str()) {
                continue;
            }
            let span = tracing::info_span!(
                "rejection",
                webhook_id = origin.meta.webhook_id.as_str(),
                topic = origin.meta.topic.as_str(),
                shop = origin.meta.shop.as_str(),
            );
            let sent = publish_rejection(&self.publisher, origin, print, detail)
                .instrument(span)
                .await;
            match sent {
                Ok(id) => published.push((origin.clone(), id)),
                Err(e) => {
                    tracing::warn!(error = %so_domain::error_chain(&e), "Cannot dead-letter an event Ometria rejected; will try at the next poll.");
                    return None;
                }
            }
        }
        Some(published)
    }

    /// Keeps the rejection for the shop's status: when, and why with the
    /// message masked (it may quote the record's values).
    async fn note(
        &self,
        shop: &so_domain::ShopDomain,
        print: &str,
        record: &PushedRecord,
        path: &str,
        message: &str,
    ) {
        let reason = format!(
            "{} at {path}: {}",
            record.record_type.as_str(),
            short(&so_domain::pii::mask_text(message))
        );
        let now = chrono::Utc::now();
        let noted =
            self.store
                .record_ometria_rejection(&self.account.digest, print, shop, now, &reason);
        if let Err(e) = noted.await {
            tracing::warn!(error = %e, "Cannot record a rejection for the shop's status; it is dead-lettered all the same.");
        }
    }

    /// `Some(true)` for the one worker that records `print` first.
    async fn claim(&self, print: &str) -> Option<bool> {
        match self
            .store
            .claim_ometria_error(&self.account.digest, print, chrono::Utc::now())
            .await
        {
            Ok(won) => Some(won),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot record a handled Ometria error; will try at the next poll.");
                None
            }
        }
    }

    async fn prune(&self) {
        let days = i64::from(self.settings.seen_retention_days);
        let before = chrono::Utc::now() - chrono::TimeDelta::days(days);
        if let Err(e) = self.store.prune_ometria_errors(before).await {
            tracing::warn!(error = %e, "Cannot prune handled Ometria errors; will try again.");
        }
        if let Err(e) = self.store.prune_ometria_rejections(before).await {
            tracing::warn!(error = %e, "Cannot prune the shops' recorded rejections; will try again.");
        }
    }
}

enum Handled {
    Yes,
    /// Not this worker's yet, or a publish failed: look again next poll.
    Later,
    /// The store cannot be reached: stop this poll.
    StoreDown,
}

fn short(message: &str) -> String {
    message.chars().take(MESSAGE_MAX).collect()
}
