//! What tests see and switch: inspection and fault injection on a running
//! fake, as plain Rust calls (no HTTP, no rate limit).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use so_domain::ometria::RecordType;

use crate::config::RateLimit;
use crate::profiles::profiles;
use crate::records::{IgnoredIdentifier, RecordKey};
use crate::server::FakeOmetria;
use crate::state::RequestRecord;
use crate::unsubscribes::Unsubscribe;

type Record = Map<String, Value>;

/// Inspection.
impl FakeOmetria {
    /// Applied records of one type, in key order.
    pub fn records(&self, record_type: RecordType) -> Vec<Record> {
        let s = self.shared.lock();
        s.store
            .of_type(record_type)
            .map(|(_, r)| r.body.clone())
            .collect()
    }

    /// The applied record with this id (in any collection; the first by key
    /// order if several collections reuse it).
    pub fn record(&self, record_type: RecordType, id: &str) -> Option<Record> {
        let s = self.shared.lock();
        s.store
            .of_type(record_type)
            .find(|(k, _)| k.id == id)
            .map(|(_, r)| r.body.clone())
    }

    /// The applied record with this exact key.
    pub fn record_in(
        &self,
        record_type: RecordType,
        collection: Option<&str>,
        id: &str,
    ) -> Option<Record> {
        let key = RecordKey {
            record_type,
            collection: collection.map(str::to_owned),
            id: id.to_owned(),
        };
        self.shared.lock().store.get(&key).map(|r| r.body.clone())
    }

    /// The Ometria lists a contact (by id, any collection) is on.
    pub fn lists_of(&self, contact_id: &str) -> Vec<String> {
        let s = self.shared.lock();
        s.store
            .of_type(RecordType::Contact)
            .filter(|(k, _)| k.id == contact_id)
            .flat_map(|(_, r)| r.lists.iter().cloned())
            .collect()
    }

    /// Number of distinct applied records of one type.
    pub fn count(&self, record_type: RecordType) -> usize {
        self.shared.lock().store.of_type(record_type).count()
    }

    /// How many times records with this id were applied (all collections);
    /// more than one for the same content means a duplicate delivery.
    pub fn write_count(&self, record_type: RecordType, id: &str) -> u32 {
        let s = self.shared.lock();
        s.store
            .of_type(record_type)
            .filter(|(k, _)| k.id == id)
            .map(|(_, r)| r.writes)
            .sum()
    }

    /// Write counts of every applied record.
    pub fn write_counts(&self) -> BTreeMap<RecordKey, u32> {
        let s = self.shared.lock();
        s.store.all().map(|(k, r)| (k.clone(), r.writes)).collect()
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    /// `POST /v2/push` requests received, whatever the answer.
    pub fn push_requests(&self) -> u64 {
        self.shared.lock().push_requests
    }

    /// 429 responses sent (rate limit, backlog full or injected).
    pub fn rate_limited_responses(&self) -> u64 {
        self.shared.lock().rate_limited
    }

    /// Merge-profile jobs received, in order (`status` completed or failed).
    pub fn merges(&self) -> Vec<Value> {
        self.shared.lock().merges.clone()
    }

    /// Data-deletion requests received, in order, in Ometria's wire shape
    /// (`timestamp_completed` null while pending).
    pub fn erasure_requests(&self) -> Vec<Value> {
        let s = self.shared.lock();
        s.erasures.iter().map(|e| e.to_json()).collect()
    }

    /// Every error recorded, newest first, in the richer shape whatever
    /// `_errors` shows (visible yet or not): the independent evidence.
    pub fn push_errors(&self) -> Vec<Value> {
        self.shared
            .lock()
            .errors
            .iter()
            .rev()
            .map(|e| e.rich.clone())
            .collect()
    }

    /// Records accepted but not yet validated and applied.
    pub fn backlog_len(&self) -> usize {
        self.shared.lock().backlog.len()
    }

    /// Validates and applies every queued record now; returns how many.
    pub fn process_backlog(&self) -> usize {
        self.shared.lock().process(usize::MAX)
    }

    /// All profiles, clustered from the applied contacts.
    pub fn profiles(&self) -> Vec<Value> {
        profiles(&self.shared.lock().store)
    }

    /// Identifier values contact pushes carried but did not get, because
    /// another contact owned them (the post-2024 rule), in push order.
    pub fn ignored_identifiers(&self) -> Vec<IgnoredIdentifier> {
        self.shared.lock().store.ignored().to_vec()
    }

    /// The contact holding this identifier now (`email` case-insensitively,
    /// `customer_id`, `phone_number`).
    pub fn contact_holding(&self, field: &'static str, value: &str) -> Option<RecordKey> {
        self.shared.lock().store.holder(field, value).cloned()
    }

    /// The contact an order is linked to now, as Ometria links orders
    /// (ometria.md §2b): by `customer.id` (the contact with that
    /// `customer_id`), else by `customer.email` (the contact holding it).
    /// `None` if the order is unknown or links to no contact.
    pub fn order_contact(&self, order_id: &str) -> Option<RecordKey> {
        let s = self.shared.lock();
        let order = s
            .store
            .of_type(RecordType::Order)
            .find(|(k, _)| k.id == order_id)
            .map(|(_, r)| r.body.clone())?;
        let customer = order.get("customer")?;
        let by = |field: &'static str, key: &str| {
            customer
                .get(key)
                .and_then(Value::as_str)
                .and_then(|v| s.store.holder(field, v).cloned())
        };
        by("customer_id", "id").or_else(|| by("email", "email"))
    }

    /// Profiles one of whose contacts has this email (case-insensitive).
    pub fn profiles_by_email(&self, email: &str) -> Vec<Value> {
        let wanted = email.to_lowercase();
        let s = self.shared.lock();
        let holders: Vec<(Option<String>, String)> = s
            .store
            .of_type(RecordType::Contact)
            .filter(|(_, r)| {
                r.body
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
                    .as_deref()
                    == Some(wanted.as_str())
            })
            .map(|(k, _)| (k.collection.clone(), k.id.clone()))
            .collect();
        profiles(&s.store)
            .into_iter()
            .filter(|p| {
                p["identities"].as_array().is_some_and(|ids| {
                    ids.iter().any(|i| {
                        holders.iter().any(|(c, id)| {
                            i["id"] == id.as_str() && i["collection"].as_str() == c.as_deref()
                        })
                    })
                })
            })
            .collect()
    }
}

/// Fault switches. Each applies to every endpoint unless it says otherwise.
impl FakeOmetria {
    /// Answers the next `n` requests with `status` (e.g. 500, 503).
    pub fn fail_next(&self, n: u32, status: u16) {
        self.shared.lock().faults.fail_next = (n > 0).then_some((n, status));
    }

    /// Answers the next `n` requests with 429.
    pub fn rate_limit_next(&self, n: u32) {
        self.shared.lock().faults.rate_limit_next = n;
    }

    /// Delays every response by `delay` (`None` to stop), after the request
    /// took effect.
    pub fn delay_responses(&self, delay: Option<Duration>) {
        self.shared.lock().faults.delay_all = delay;
    }

    /// Delays the next `n` responses by `delay`, after they took effect.
    pub fn delay_next(&self, n: u32, delay: Duration) {
        self.shared.lock().faults.delay_next = (n > 0).then_some((n, delay));
    }

    /// Refuses records with these ids inside an otherwise accepted push:
    /// listed in `_errors`, and counted in `rejected` only under
    /// [`crate::ValidationMode::Synchronous`].
    pub fn reject_ids<I, S>(&self, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.shared
            .lock()
            .faults
            .reject_ids
            .extend(ids.into_iter().map(Into::into));
    }

    /// Refuses every record (of `record_type`, or any) carrying a non-null
    /// value at `path` (`lastname`, `properties.vip`): `not a valid value`
    /// at `root > lastname`, reported as [`FakeOmetria::reject_ids`] says.
    /// [`FakeOmetria::stop_rejecting`] (or `clear_faults`) ends it.
    pub fn reject_path(&self, record_type: Option<RecordType>, path: &str) {
        self.shared
            .lock()
            .faults
            .reject_paths
            .push(crate::rejections::PathRule::parse(record_type, path));
    }

    /// Ends [`FakeOmetria::reject_ids`] and [`FakeOmetria::reject_path`].
    pub fn stop_rejecting(&self) {
        let mut s = self.shared.lock();
        s.faults.reject_ids.clear();
        s.faults.reject_paths.clear();
    }

    /// Replaces how refusals are reported (mode, `_errors` shape, delay).
    pub fn set_validation(&self, validation: crate::Validation) {
        self.shared.lock().validation = validation;
    }

    /// `true`: every request gets 503 until `set_down(false)`. For refused
    /// connections use [`FakeOmetria::stop`].
    pub fn set_down(&self, down: bool) {
        self.shared.lock().faults.down = down;
    }

    /// Replaces the rate limit (the bucket starts full).
    pub fn set_rate_limit(&self, limit: RateLimit) {
        self.shared.lock().bucket.set(limit);
    }

    /// Replaces the backlog limit.
    pub fn set_backlog_limit(&self, limit: usize) {
        self.shared.lock().backlog_limit = limit;
    }

    /// Clears every fault switch (not the rate or backlog limits).
    pub fn clear_faults(&self) {
        self.shared.lock().faults = Default::default();
    }

    /// Adds an unsubscribe for `GET /v2/unsubscribes` to report (unless it
    /// is API-originated) and opts out the contacts it concerns: those of
    /// its profile if `profile_id` names one, else those with its email, so
    /// `/v2/profiles` shows them `EXPLICITLY_OPTEDOUT`. A missing
    /// `profile_id` is filled in from the email's profile, if any.
    pub fn add_unsubscribe(&self, unsubscribe: Unsubscribe) {
        self.shared.lock().unsubscribe(unsubscribe);
    }

    /// Unsubscribes the profile `profile_id` (with its email) as of `at`,
    /// like [`FakeOmetria::add_unsubscribe`]; the event recorded, or `None`
    /// if there is no such profile.
    pub fn unsubscribe_profile(
        &self,
        profile_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Option<Unsubscribe> {
        let mut s = self.shared.lock();
        let profile = profiles(&s.store)
            .into_iter()
            .find(|p| p["id"] == profile_id)?;
        let email = profile["email"].as_str().unwrap_or_default();
        let mut u = Unsubscribe::new(email, kind, at);
        u.profile_id = Some(profile_id.to_owned());
        Some(s.unsubscribe(u))
    }

    /// Opts the profile's contacts back in, as a re-subscribe in Ometria's
    /// preference centre would (the unsubscribe events stay listed). False
    /// if there is no such profile.
    pub fn resubscribe_profile(&self, profile_id: &str) -> bool {
        self.shared.lock().resubscribe_profile(profile_id)
    }

    /// Completes every pending data-deletion request now, anonymising the
    /// data of its email; returns how many completed.
    pub fn complete_erasures(&self) -> usize {
        self.shared.lock().complete_erasures()
    }

    /// Completes one pending data-deletion request now; false if it is
    /// unknown or already complete.
    pub fn complete_erasure(&self, id: &str) -> bool {
        self.shared.lock().complete_erasure(id)
    }

    /// Replaces the `POST /v2/data-deletion-requests` rate limit (the bucket
    /// starts full).
    pub fn set_gdpr_rate_limit(&self, limit: RateLimit) {
        self.shared.lock().gdpr_bucket.set(limit);
    }
}
