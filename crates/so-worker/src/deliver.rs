//! Stage 2: push the batch's records and find out, per event, whether all
//! of its records were accepted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use so_domain::ometria::{MAX_RECORD_BYTES, PushRecord, RecordType};
use so_domain::{Disposition, ReasonCode, ShopDomain, error_chain};
use so_ometria::{Client, Coalescing};
use tokio::sync::oneshot::Receiver;

use crate::accounts::Account;
use crate::pusher::{Preparing, Pusher, Sent};
use crate::rejections::Origin;
use so_platform::metrics;

/// Same key as the client's coalescing: type, collection and id.
pub(crate) type RecordKey = (RecordType, Option<String>, String);

pub(crate) fn key(r: &PushRecord) -> RecordKey {
    let collection = r
        .body
        .get("@collection")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    (r.record_type, collection, r.id.clone())
}

/// Pushes every record of `events` (index, account, records), each to its
/// shop's Ometria account, and returns how each event's records fared
/// (done only when every one of them was accepted). Accounts are
/// pushed to concurrently; with `hand_off`, an account that is pausing
/// after a 429 gets none of this batch's records: they go to a broker
/// retry tier at once rather than making the others' events wait.
/// `origins` are the events' messages by index, remembered with each
/// accepted request in the account's journal for the rejection watcher.
/// `preparing` ends once every account has the batch's first records (a
/// slot that came meanwhile waited for them).
pub(crate) async fn deliver(
    events: Vec<(usize, Arc<Account>, Vec<PushRecord>)>,
    origins: &HashMap<usize, Arc<Origin>>,
    hand_off: bool,
    coalescing: Coalescing,
    preparing: Preparing,
) -> Delivered {
    let mut groups: Vec<(Arc<Account>, Vec<Indexed>)> = Vec::new();
    for (i, account, records) in events {
        match groups.iter_mut().find(|(a, _)| Arc::ptr_eq(a, &account)) {
            Some((_, g)) => g.push((i, records)),
            None => groups.push((account, vec![(i, records)])),
        }
    }
    let started: Vec<Started> = groups
        .into_iter()
        .map(|(account, group)| start(account, group, hand_off, coalescing))
        .collect();
    drop(preparing);
    let finished = futures::future::join_all(started.into_iter().map(|s| s.finish(origins))).await;
    let mut out = Delivered::default();
    for (fates, shops) in finished {
        out.fates.extend(fates);
        out.accepted_shops.extend(shops);
    }
    out
}

/// What a batch's delivery came to.
#[derive(Default)]
pub(crate) struct Delivered {
    /// Each pushed event's fate, by index.
    pub(crate) fates: HashMap<usize, Disposition>,
    /// The shops with records in a request Ometria accepted, for their status.
    pub(crate) accepted_shops: HashSet<ShopDomain>,
}

/// An event's records, by the event's index in the batch.
type Indexed = (usize, Vec<PushRecord>);

/// Each event's fate so far, and the events each record belongs to.
#[derive(Default)]
struct Fates {
    owners: HashMap<RecordKey, Vec<usize>>,
    by_event: HashMap<usize, Disposition>,
}

impl Fates {
    /// Every event that owns the record `k` fares at least as badly as it.
    fn mark(&mut self, k: &RecordKey, fate: Disposition) {
        for e in self.owners.get(k).into_iter().flatten() {
            let current = self.by_event.remove(e).unwrap_or(Disposition::Done);
            self.by_event.insert(*e, current.worse(fate.clone()));
        }
    }
}

/// One type's records handed to the pusher: their keys and the answer.
type Submitted = (RecordType, Vec<RecordKey>, Option<Receiver<Vec<Sent>>>);

/// One account's part of the batch once its first records are handed over.
enum Started {
    /// Pausing after a 429: every event to a retry tier.
    HandedOff(Vec<(usize, Disposition)>),
    Pushing {
        account: Arc<Account>,
        fates: Fates,
        first: Vec<Submitted>,
        /// Handed over once `first` is answered.
        then: Vec<(RecordType, Vec<PushRecord>)>,
    },
}

/// Plans one account's records and hands the first of them over: products
/// first, the other types after them, since an order line must name a
/// product Ometria already has (a minimal product pushed for an order's
/// unknown line travels in the same batch as the order).
fn start(
    account: Arc<Account>,
    events: Vec<Indexed>,
    hand_off: bool,
    coalescing: Coalescing,
) -> Started {
    if let (true, Some(pause)) = (hand_off, account.client.rate_limiter().paused_for()) {
        let fate = Disposition::Retry {
            reason: ReasonCode::OmetriaRateLimited,
            detail: "this shop's Ometria account is pausing after a 429".to_owned(),
            after: Some(pause),
        };
        return Started::HandedOff(events.into_iter().map(|(i, _)| (i, fate.clone())).collect());
    }
    let (fates, by_type) = plan(&account.client, events, coalescing);
    let (products, rest): (Vec<_>, Vec<_>) = by_type
        .into_iter()
        .partition(|(t, _)| *t == RecordType::Product);
    let (first, then) = if products.is_empty() {
        (rest, Vec::new())
    } else {
        (products, rest)
    };
    let first = submit(&account.pusher, first);
    Started::Pushing {
        account,
        fates,
        first,
        then,
    }
}

impl Started {
    /// Waits for the answers (handing `then` over once `first` is
    /// answered) and returns each event's fate and the shops whose records
    /// were in an accepted request.
    async fn finish(
        self,
        origins: &HashMap<usize, Arc<Origin>>,
    ) -> (Vec<(usize, Disposition)>, HashSet<ShopDomain>) {
        let mut accepted = HashSet::new();
        let (account, mut fates, first, then) = match self {
            Started::HandedOff(fates) => return (fates, accepted),
            Started::Pushing {
                account,
                fates,
                first,
                then,
            } => (account, fates, first, then),
        };
        let mut answers = answered(first).await;
        if !then.is_empty() {
            answers.extend(answered(submit(&account.pusher, then)).await);
        }
        for (record_type, submitted, answer) in answers {
            let Some(parts) = answer else {
                // The pusher stopped (shutdown): try again later.
                for k in &submitted {
                    fates.mark(
                        k,
                        Disposition::Retry {
                            reason: ReasonCode::Internal,
                            detail: "the Ometria pusher has stopped".to_owned(),
                            after: None,
                        },
                    );
                }
                continue;
            };
            for part in parts {
                journal(&account, &fates, origins, &part);
                if part.result.is_ok() {
                    accepted.extend(shops_of(&fates, origins, &part));
                }
                mark_sent(&mut fates, &account.client, record_type, &part).await;
            }
        }
        (fates.by_event.into_iter().collect(), accepted)
    }
}

/// Coalesces (unless off), sets aside what must not be sent (their events
/// dead-lettered in the fates) and groups the rest by type.
fn plan(
    client: &Client,
    events: Vec<Indexed>,
    coalescing: Coalescing,
) -> (Fates, Vec<(RecordType, Vec<PushRecord>)>) {
    let mut fates = Fates::default();
    let mut all = Vec::new();
    for (event, records) in events {
        fates.by_event.insert(event, Disposition::Done);
        for r in records {
            fates.owners.entry(key(&r)).or_default().push(event);
            all.push(r);
        }
    }
    let plan = client.plan_batches_with(all, coalescing);
    metrics::records_coalesced(plan.coalesced);
    for o in &plan.oversized {
        let detail = format!(
            "{} record {} is {} bytes (limit {MAX_RECORD_BYTES})",
            o.record.record_type.as_str(),
            o.record.id,
            o.size_bytes
        );
        fates.mark(
            &key(&o.record),
            Disposition::DeadLetter {
                reason: so_ometria::Oversized::REASON,
                detail,
            },
        );
    }
    for (record, why) in &plan.invalid {
        fates.mark(
            &key(record),
            Disposition::DeadLetter {
                reason: so_ometria::Invalid::REASON,
                detail: format!(
                    "{} record {} breaks a documented Ometria rule: {why}",
                    record.record_type.as_str(),
                    record.id
                ),
            },
        );
    }
    // Every record of one type goes to the process's pusher in one
    // submission; it comes back in parts, one per request that carried some.
    let mut by_type: Vec<(RecordType, Vec<PushRecord>)> = Vec::new();
    for batch in plan.batches {
        match by_type.iter_mut().find(|(t, _)| *t == batch.record_type) {
            Some((_, records)) => records.extend(batch.records),
            None => by_type.push((batch.record_type, batch.records)),
        }
    }
    (fates, by_type)
}

/// Remembers an accepted request, its records and their events, so the
/// watcher can tie Ometria's later errors to them.
fn journal(account: &Account, fates: &Fates, origins: &HashMap<usize, Arc<Origin>>, part: &Sent) {
    if let Ok(outcome) = &*part.result {
        account.journal.record(
            &outcome.request_id,
            outcome.rejected > 0,
            &part.records,
            |r| {
                fates
                    .owners
                    .get(&key(r))
                    .into_iter()
                    .flatten()
                    .filter_map(|e| origins.get(e).cloned())
                    .collect()
            },
        );
    }
}

/// The shops of the events whose records `part` carried.
fn shops_of<'a>(
    fates: &'a Fates,
    origins: &'a HashMap<usize, Arc<Origin>>,
    part: &'a Sent,
) -> impl Iterator<Item = ShopDomain> + 'a {
    part.records
        .iter()
        .filter_map(|r| fates.owners.get(&key(r)))
        .flatten()
        .filter_map(|e| origins.get(e))
        .map(|o| o.meta.shop.clone())
}

/// Hands each type's records to the pusher now.
fn submit(pusher: &Pusher, by_type: Vec<(RecordType, Vec<PushRecord>)>) -> Vec<Submitted> {
    by_type
        .into_iter()
        .map(|(t, records)| {
            let keys: Vec<RecordKey> = records.iter().map(key).collect();
            (t, keys, pusher.submit(t, records))
        })
        .collect()
}

/// The pusher's answers for each type's records (`None`: it stopped).
async fn answered(
    submitted: Vec<Submitted>,
) -> Vec<(RecordType, Vec<RecordKey>, Option<Vec<Sent>>)> {
    let mut out = Vec::with_capacity(submitted.len());
    for (t, keys, answer) in submitted {
        let parts = match answer {
            Some(rx) => rx.await.ok(),
            None => None,
        };
        out.push((t, keys, parts));
    }
    out
}

/// How the records of one request fared: rejected ones are dead letters, a
/// failed request fails all of its records as the classifier says.
async fn mark_sent(fates: &mut Fates, client: &Client, record_type: RecordType, part: &Sent) {
    match &*part.result {
        Ok(outcome) => {
            if outcome.rejected > 0 {
                for (k, why) in
                    rejected(client, &outcome.request_id, record_type, &part.records).await
                {
                    fates.mark(
                        &k,
                        Disposition::DeadLetter {
                            reason: ReasonCode::OmetriaRecordRejected,
                            detail: why,
                        },
                    );
                }
            }
        }
        Err(failure) => {
            let detail = error_chain(failure);
            let fate = match &failure.disposition {
                Disposition::Retry { after, reason, .. } => Disposition::Retry {
                    reason: *reason,
                    detail,
                    after: *after,
                },
                Disposition::DeadLetter { reason, .. } => Disposition::DeadLetter {
                    reason: *reason,
                    detail,
                },
                Disposition::Done => Disposition::Done,
            };
            for r in &part.records {
                fates.mark(&key(r), fate.clone());
            }
        }
    }
}

/// The records of one request that Ometria rejected, with its reasons,
/// matched through `/v2/push/_errors`. When Ometria does not say which
/// record it refused, every record of the request is treated as refused
/// rather than guessing: dead letters can be replayed, silent loss cannot.
async fn rejected(
    client: &Client,
    request_id: &str,
    record_type: RecordType,
    records: &[PushRecord],
) -> Vec<(RecordKey, String)> {
    let errors = client.push_errors().await.unwrap_or_default();
    let mine: Vec<_> = errors
        .iter()
        .filter(|e| e.request_id.as_deref() == Some(request_id))
        .filter(|e| {
            e.record_type
                .as_deref()
                .is_none_or(|t| t == record_type.as_str())
        })
        .collect();
    let by_id: HashMap<&str, String> = mine
        .iter()
        .filter_map(|e| {
            let why = match &e.error_path {
                Some(path) => format!("{} ({path})", e.error_message),
                None => e.error_message.clone(),
            };
            e.record_id.as_deref().map(|id| (id, why))
        })
        .collect();
    if by_id.is_empty() {
        let why = format!("Ometria rejected records of request {request_id} without naming them");
        return records.iter().map(|r| (key(r), why.clone())).collect();
    }
    records
        .iter()
        .filter_map(|r| by_id.get(r.id.as_str()).map(|why| (key(r), why.clone())))
        .collect()
}

pub(crate) fn status_label(code: u16) -> &'static str {
    const EXACT: &[(u16, &str)] = &[
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (408, "408"),
        (413, "413"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    match EXACT.iter().find(|(c, _)| *c == code) {
        Some((_, label)) => label,
        None if (400..500).contains(&code) => "4xx",
        None if (500..600).contains(&code) => "5xx",
        None => "other",
    }
}
