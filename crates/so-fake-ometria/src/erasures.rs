//! GDPR data-deletion (anonymisation) requests, per the ometria.md addendum
//! §1: `POST /v2/data-deletion-requests` creates one for an email address,
//! the list and detail `GET`s follow its progress. Requests are processed
//! asynchronously: `timestamp_completed` is null until then. On completion
//! the personal data tied to the email is removed:
//! - every contact with that email, and the other listings of their
//!   profiles, lose email, phone number, names and date of birth (ids,
//!   `customer_id` and consent stay: ids carry no PII);
//! - orders of that email or of those customers lose the customer's email
//!   and names and the names on their addresses;
//! - custom events lose `identity_email`;
//! - unsubscribe events show the hashed email instead of the address.
//!
//! [U] The request body field (`email`), the response status (201) and body
//! (the created object), the 32 hex digits (MD5 of the lower-cased email)
//! and the summary wording beyond the documented example are assumptions.

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;

use crate::profiles::{members, profiles};
use crate::records::RecordKey;
use crate::state::{Refusal, State};

/// Contact fields removed by anonymisation.
const CONTACT_PII: [&str; 7] = [
    "email",
    "phone_number",
    "prefix",
    "firstname",
    "middlename",
    "lastname",
    "date_of_birth",
];
/// Fields removed from an order's `customer` and addresses.
const ORDER_PII: [&str; 4] = ["email", "firstname", "lastname", "phone_number"];

/// One data-deletion request.
#[derive(Debug, Clone)]
pub(crate) struct Erasure {
    pub(crate) id: String,
    /// The address to anonymise; dropped once the request completes.
    email: Option<String>,
    hashed_email: String,
    comment: Option<String>,
    api_request_id: String,
    created: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    summary: Option<String>,
}

impl Erasure {
    pub(crate) fn is_pending(&self) -> bool {
        self.completed.is_none()
    }

    /// Ometria's wire shape (the documented 200 example, without
    /// `source.user`, which only in-app requests would have).
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "action": "anonymise",
            "comment": self.comment,
            "id": self.id,
            "identities": [{"hashed_email": self.hashed_email}],
            "source": {"api_request_id": self.api_request_id, "origin": "api"},
            "summary": self.summary,
            "timestamp_completed": self.completed.map(postgres_time),
            "timestamp_created": postgres_time(self.created),
        })
    }
}

/// Postgres' default text form, as Ometria shows it:
/// `"2017-02-04 10:18:12.833949+00"`.
pub(crate) fn postgres_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// `"<32 hex>@anonymous.ometria"` for an email address.
pub(crate) fn hashed_email(email: &str) -> String {
    let digest = Md5::digest(email.trim().to_lowercase().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@anonymous.ometria")
}

fn same_email(value: Option<&Value>, wanted: &str) -> bool {
    value
        .and_then(Value::as_str)
        .is_some_and(|e| e.trim().to_lowercase() == wanted)
}

fn strip(body: &mut Map<String, Value>, fields: &[&str]) {
    for f in fields {
        body.remove(*f);
    }
}

fn plural(n: usize, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {what}{s} anonymised")
}

impl State {
    /// Validates a create request and records it; the created object.
    pub(crate) fn request_erasure(&mut self, body: &[u8]) -> Result<Value, Refusal> {
        let bad = Refusal {
            status: 400,
            message: "Body must be a JSON object with an email address in \"email\"",
        };
        let parsed: Value = serde_json::from_slice(body).map_err(|_| bad)?;
        let email = parsed
            .get("email")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| e.contains('@') && e.len() > 2)
            .ok_or(bad)?;
        if !self.gdpr_bucket.try_take() {
            return Err(Refusal {
                status: 429,
                message: "Too many data deletion requests (6 per minute)",
            });
        }
        let erasure = Erasure {
            id: uuid::Uuid::new_v4().to_string(),
            hashed_email: hashed_email(email),
            email: Some(email.to_owned()),
            comment: parsed
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            api_request_id: uuid::Uuid::new_v4().to_string(),
            created: Utc::now(),
            completed: None,
            summary: None,
        };
        let created = erasure.to_json();
        self.erasures.push(erasure);
        Ok(created)
    }

    /// Completes one pending request now; false if unknown or done.
    pub(crate) fn complete_erasure(&mut self, id: &str) -> bool {
        let Some(i) = self
            .erasures
            .iter()
            .position(|e| e.id == id && e.is_pending())
        else {
            return false;
        };
        let email = self.erasures[i].email.take().unwrap_or_default();
        let hashed = self.erasures[i].hashed_email.clone();
        let summary = self.anonymise(&email, &hashed);
        let e = &mut self.erasures[i];
        e.summary = Some(summary);
        e.completed = Some(Utc::now());
        true
    }

    /// Completes every pending request now; how many.
    pub(crate) fn complete_erasures(&mut self) -> usize {
        let pending: Vec<String> = self
            .erasures
            .iter()
            .filter(|e| e.is_pending())
            .map(|e| e.id.clone())
            .collect();
        pending
            .iter()
            .filter(|id| self.complete_erasure(id))
            .count()
    }

    /// Removes the personal data tied to `email`; the summary.
    fn anonymise(&mut self, email: &str, hashed: &str) -> String {
        let wanted = email.trim().to_lowercase();
        let direct = self.contacts_with_email(&wanted);
        let mut contacts: Vec<RecordKey> = direct.clone();
        for profile in profiles(&self.store) {
            let m = members(&profile);
            if m.iter().any(|k| direct.contains(k)) {
                for k in m {
                    if !contacts.contains(&k) {
                        contacts.push(k);
                    }
                }
            }
        }
        let mut customer_ids = Vec::new();
        for key in &contacts {
            if let Some(body) = self.store.body_mut(key) {
                if let Some(cid) = body.get("customer_id").filter(|v| !v.is_null()) {
                    customer_ids.push(cid.clone());
                }
                strip(body, &CONTACT_PII);
            }
        }

        let orders: Vec<RecordKey> = self
            .store
            .of_type(RecordType::Order)
            .filter(|(_, r)| {
                let customer = r.body.get("customer");
                same_email(customer.and_then(|c| c.get("email")), &wanted)
                    || customer
                        .and_then(|c| c.get("id"))
                        .is_some_and(|id| customer_ids.contains(id))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &orders {
            if let Some(body) = self.store.body_mut(key) {
                for part in ["customer", "billing_address", "shipping_address"] {
                    if let Some(Value::Object(o)) = body.get_mut(part) {
                        strip(o, &ORDER_PII);
                    }
                }
            }
        }

        let events: Vec<RecordKey> = self
            .store
            .of_type(RecordType::CustomEvent)
            .filter(|(_, r)| same_email(r.body.get("identity_email"), &wanted))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &events {
            if let Some(body) = self.store.body_mut(key) {
                body.remove("identity_email");
            }
        }

        for u in &mut self.unsubscribes {
            if u.email_address.trim().to_lowercase() == wanted {
                hashed.clone_into(&mut u.email_address);
            }
        }

        let mut summary = plural(contacts.len(), "contact record");
        if !orders.is_empty() {
            summary = format!("{summary}, {}", plural(orders.len(), "order"));
        }
        if !events.is_empty() {
            summary = format!("{summary}, {}", plural(events.len(), "event"));
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::config::FakeConfig;
    use crate::state::Shared;

    #[tokio::test(start_paused = true)]
    async fn six_a_minute_with_a_burst_of_six_then_one_every_ten_seconds() {
        let shared = Shared::new(&FakeConfig::default());
        let body = br#"{"email": "a@example.com"}"#;
        let status = || {
            shared
                .lock()
                .request_erasure(body)
                .map_or_else(|r| r.status, |_| 201)
        };
        for _ in 0..6 {
            assert_eq!(status(), 201);
        }
        assert_eq!(status(), 429);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(status(), 201);
        assert_eq!(status(), 429);
        let s = shared.lock();
        assert_eq!(s.erasures.len(), 7);
    }

    #[test]
    fn timestamps_are_postgres_style_and_hashes_are_32_hex() {
        let t = Utc
            .with_ymd_and_hms(2017, 2, 4, 10, 18, 12)
            .unwrap()
            .checked_add_signed(chrono::TimeDelta::microseconds(833_949))
            .unwrap();
        assert_eq!(postgres_time(t), "2017-02-04 10:18:12.833949+00");
        let h = hashed_email(" Ann@Example.com ");
        assert_eq!(h, hashed_email("ann@example.com"));
        let (hex, domain) = h.split_once('@').unwrap();
        assert_eq!(domain, "anonymous.ometria");
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(plural(1, "contact record"), "1 contact record anonymised");
        assert_eq!(plural(0, "order"), "0 orders anonymised");
    }
}
