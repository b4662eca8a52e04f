//! The fake's whole state behind one mutex, and the request rules that act on
//! it. No HTTP types here: `routes.rs` translates.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use so_domain::ometria::{MAX_RECORD_BYTES, MAX_RECORDS_PER_REQUEST, RecordType};
use tokio::time::Instant;

use crate::bucket::TokenBucket;
use crate::config::{Drain, ErasureCompletion, FakeConfig, RateLimit};
use crate::erasures::Erasure;
use crate::in_flight::Pending;
use crate::records::{RecordKey, Store, id_of};
use crate::rejections::{ErrorItem, PathRule, Validation, ValidationMode};
use crate::unsubscribes::Unsubscribe;
use crate::validate::{FieldError, TOO_LARGE, validate};
use crate::write_log::WriteLog;

/// `_errors` keeps this many entries (ometria.md: "the 100 most recent").
const ERRORS_KEPT: usize = 100;
/// Message for records refused by [`crate::FakeOmetria::reject_ids`].
pub const REJECTED_BY_FAULT: &str = "Payload invalid: record rejected (fault injected).";

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Route, e.g. `/v2/push`.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// Records in the body (push only).
    pub records: usize,
    /// The request's `@type` (push only, when the body was readable).
    pub record_type: Option<RecordType>,
    /// Length of the request body in bytes (push only; 0 elsewhere).
    pub bytes: usize,
    /// Monotonic arrival time, for spacing assertions.
    pub at: Instant,
    /// Wall-clock arrival time.
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) down: bool,
    pub(crate) fail_next: Option<(u32, u16)>,
    pub(crate) rate_limit_next: u32,
    pub(crate) delay_all: Option<Duration>,
    pub(crate) delay_next: Option<(u32, Duration)>,
    pub(crate) reject_ids: HashSet<String>,
    /// Refuse records with a value at one of these paths.
    pub(crate) reject_paths: Vec<PathRule>,
}

#[derive(Debug)]
pub(crate) struct Queued {
    request_id: String,
    record_type: RecordType,
    key: RecordKey,
    body: Map<String, Value>,
    /// Refused at push time but reported only when validated
    /// ([`ValidationMode::Asynchronous`]): `(message, path)`.
    refused: Option<(String, String)>,
}

/// A refused request: status and a short message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) message: &'static str,
}

const fn refuse(status: u16, message: &'static str) -> Refusal {
    Refusal { status, message }
}

/// A push that got past every check.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) request_id: String,
    pub(crate) accepted: usize,
    pub(crate) rejected: usize,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) api_key: String,
    pub(crate) bucket: TokenBucket,
    pub(crate) backlog_limit: usize,
    pub(crate) drain: Drain,
    pub(crate) faults: Faults,
    pub(crate) store: Store,
    pub(crate) backlog: VecDeque<Queued>,
    pub(crate) errors: VecDeque<ErrorItem>,
    pub(crate) validation: Validation,
    pub(crate) log: Vec<RequestRecord>,
    pub(crate) push_requests: u64,
    pub(crate) rate_limited: u64,
    pub(crate) unsubscribes: Vec<Unsubscribe>,
    pub(crate) merge_bucket: TokenBucket,
    /// Merge-profile jobs, in arrival order, with their outcome.
    pub(crate) merges: Vec<Value>,
    pub(crate) gdpr_bucket: TokenBucket,
    pub(crate) erasure_completion: ErasureCompletion,
    /// Data-deletion requests, in arrival order.
    pub(crate) erasures: Vec<Erasure>,
    /// [`FakeConfig::require_known_products`].
    pub(crate) require_known_products: bool,
    /// Every applied write, in order.
    pub(crate) writes: WriteLog,
    /// Applied pushes not answered yet.
    pub(crate) pending: Pending,
}

#[derive(Debug)]
pub(crate) struct Shared(Mutex<State>);

impl Shared {
    pub(crate) fn new(config: &FakeConfig) -> Self {
        Shared(Mutex::new(State {
            api_key: config.api_key.clone(),
            bucket: TokenBucket::new(config.rate_limit),
            backlog_limit: config.backlog_limit,
            drain: config.drain,
            faults: Faults::default(),
            store: Store::new(config.identity_rule, config.properties),
            backlog: VecDeque::new(),
            errors: VecDeque::new(),
            validation: config.validation,
            log: Vec::new(),
            push_requests: 0,
            rate_limited: 0,
            unsubscribes: Vec::new(),
            merge_bucket: TokenBucket::new(RateLimit::PerSecond {
                rate: config.merges_per_minute / 60.0,
                burst: 1,
            }),
            merges: Vec::new(),
            gdpr_bucket: TokenBucket::new(RateLimit::PerSecond {
                rate: config.gdpr_requests_per_minute / 60.0,
                // Saturating float-to-int cast; at least one.
                burst: config.gdpr_requests_per_minute.ceil().max(1.0) as u32,
            }),
            erasure_completion: config.erasure_completion,
            erasures: Vec::new(),
            require_known_products: config.require_known_products,
            writes: WriteLog::default(),
            pending: Pending::default(),
        }))
    }

    /// Never held across an `.await`. A panic while holding it (a test
    /// assertion in a callback) leaves the state usable, so poison is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Checks that apply to every endpoint, in the order a real gateway would
    /// apply them: availability, injected failures, auth, rate limit.
    pub(crate) fn admit(&mut self, auth: Option<&str>) -> Result<(), Refusal> {
        let f = &mut self.faults;
        if f.down {
            return Err(refuse(503, "Service unavailable"));
        }
        if let Some((n, status)) = f.fail_next.as_mut() {
            let status = *status;
            *n -= 1;
            if *n == 0 {
                f.fail_next = None;
            }
            return Err(refuse(status, "Injected failure"));
        }
        if f.rate_limit_next > 0 {
            f.rate_limit_next -= 1;
            return Err(refuse(429, "Too many requests"));
        }
        if auth != Some(self.api_key.as_str()) {
            return Err(refuse(
                403,
                "API key is not authorised to access this resource.",
            ));
        }
        if !self.bucket.try_take() {
            return Err(refuse(429, "Too many requests"));
        }
        Ok(())
    }

    /// The response delay for this request, if one is injected.
    pub(crate) fn take_delay(&mut self) -> Option<Duration> {
        let f = &mut self.faults;
        if let Some((n, d)) = f.delay_next.as_mut() {
            let d = *d;
            *n -= 1;
            if *n == 0 {
                f.delay_next = None;
            }
            return Some(d);
        }
        f.delay_all
    }

    pub(crate) fn queue_remaining(&self) -> usize {
        self.backlog_limit.saturating_sub(self.backlog.len())
    }

    /// Request-level checks of `POST /v2/push` (any failure refuses the whole
    /// request), then per-record size and injected rejections.
    pub(crate) fn push(&mut self, records: Vec<Value>) -> Result<Accepted, Refusal> {
        let record_type = check_request(&records)?;
        if self.backlog.len() + records.len() > self.backlog_limit {
            return Err(refuse(429, "Push queue is full"));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let (mut accepted, mut rejected) = (0, 0);
        for record in records {
            let Value::Object(body) = record else {
                continue;
            };
            let Some(key) = RecordKey::of(record_type, &body) else {
                continue;
            };
            let refusal = self.refusal(record_type, &key, &body);
            if let (Some((message, path)), ValidationMode::Synchronous) =
                (&refusal, self.validation.mode)
            {
                rejected += 1;
                let error = FieldError {
                    message: message.clone(),
                    path: path.clone(),
                };
                self.record_error(&request_id, record_type, &key.id, &body, &error);
            } else {
                accepted += 1;
                let q = Queued {
                    request_id: request_id.clone(),
                    record_type,
                    key,
                    body,
                    refused: refusal,
                };
                self.backlog.push_back(q);
            }
        }
        if self.drain == Drain::Immediate {
            self.process(usize::MAX);
        }
        Ok(Accepted {
            request_id,
            accepted,
            rejected,
        })
    }

    /// Why a record is refused before field validation: over the size
    /// limit, or an injected fault (its id or a value at a path).
    fn refusal(
        &self,
        record_type: RecordType,
        key: &RecordKey,
        body: &Map<String, Value>,
    ) -> Option<(String, String)> {
        let size = serde_json::to_vec(body).map_or(usize::MAX, |b| b.len());
        if size > MAX_RECORD_BYTES {
            return Some((TOO_LARGE.to_owned(), "root".to_owned()));
        }
        if self.faults.reject_ids.contains(&key.id) {
            return Some((REJECTED_BY_FAULT.to_owned(), "root".to_owned()));
        }
        self.faults
            .reject_paths
            .iter()
            .find_map(|rule| rule.refuses(record_type, body))
            .map(|(message, path)| (message.to_owned(), path))
    }

    /// `_errors` as the client sees it: visible items, newest first.
    pub(crate) fn visible_errors(&self) -> Vec<Value> {
        let now = Instant::now();
        self.errors
            .iter()
            .rev()
            .filter(|e| e.visible_at <= now)
            .map(|e| e.render(self.validation.shape))
            .collect()
    }

    /// Validates and applies up to `max` queued records; returns how many.
    pub(crate) fn process(&mut self, max: usize) -> usize {
        let mut done = 0;
        while done < max {
            let Some(q) = self.backlog.pop_front() else {
                break;
            };
            done += 1;
            if let Some((message, path)) = &q.refused {
                let error = FieldError {
                    message: message.clone(),
                    path: path.clone(),
                };
                self.record_error(&q.request_id, q.record_type, &q.key.id, &q.body, &error);
                continue;
            }
            let merged = self.store.merged(&q.key, &q.body);
            let mut errors = validate(q.record_type, &q.body, &merged);
            if self.require_known_products {
                errors.extend(crate::known_products::unknown_products(
                    &self.store,
                    q.record_type,
                    &q.body,
                ));
            }
            for e in &errors {
                self.record_error(&q.request_id, q.record_type, &q.key.id, &q.body, e);
            }
            if errors.is_empty() {
                self.writes.record(&q.key, &q.body);
                self.store.upsert(q.key, &q.body);
            }
        }
        done
    }

    fn record_error(
        &mut self,
        request_id: &str,
        record_type: RecordType,
        record_id: &str,
        record: &Map<String, Value>,
        error: &FieldError,
    ) {
        // Kept in the richer shape, a superset of the plain one; `_errors`
        // renders the configured one.
        self.errors.push_back(ErrorItem::new(
            request_id,
            record_type,
            record_id,
            record,
            &error.message,
            &error.path,
            self.validation.visible_after,
        ));
        while self.errors.len() > ERRORS_KEPT {
            self.errors.pop_front();
        }
    }

    pub(crate) fn log(&mut self, entry: RequestRecord) {
        if entry.status == 429 {
            self.rate_limited += 1;
        }
        self.log.push(entry);
    }
}

/// The request's single `@type`, or why the request is refused whole.
pub(crate) fn check_request(records: &[Value]) -> Result<RecordType, Refusal> {
    if records.is_empty() {
        return Err(refuse(400, "No records"));
    }
    if records.len() > MAX_RECORDS_PER_REQUEST {
        return Err(refuse(400, "Too many records: at most 100 per request"));
    }
    let mut found = None;
    for record in records {
        let Value::Object(body) = record else {
            return Err(refuse(400, "Every record must be a JSON object"));
        };
        let record_type = body
            .get("@type")
            .and_then(|t| serde_json::from_value::<RecordType>(t.clone()).ok())
            .ok_or(refuse(400, "Every record needs a known @type"))?;
        if id_of(body).is_none() {
            return Err(refuse(400, "Every record needs an id"));
        }
        match found {
            None => found = Some(record_type),
            Some(t) if t != record_type => {
                return Err(refuse(400, "One @type per request: do not mix types"));
            }
            Some(_) => {}
        }
    }
    found.ok_or(refuse(400, "No records"))
}

/// The `@type` of a push body, for the request log, if it is readable.
pub(crate) fn request_type(records: &[Value]) -> Option<RecordType> {
    records
        .first()?
        .get("@type")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
}
