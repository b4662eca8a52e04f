//! Ometria's GDPR API, the "data anonymisation and deletion request API"
//! (ometria.md addendum §1): `POST /v2/data-deletion-requests` asks Ometria
//! to anonymise one email address's data, asynchronously ("within 14
//! days"); the list and detail `GET`s follow progress, which shows as
//! `timestamp_completed` being set.
//!
//! The `POST` has a lane of its own: at most
//! `ometria.gdpr_requests_per_minute` (Ometria documents 6) and never a
//! wait: a busy lane is returned as [`ErasureError::Busy`] for the caller to
//! retry through its own schedule, like merge-profile. The `GET`s share the
//! push lane's per-account budget.
//!
//! Assumptions [U]: the create body is `{"email": "…"}` (Ometria's published
//! copy breaks off at "The email ad…"); the create answer is a 2xx with the
//! created object; the detail path is `/v2/data-deletion-requests/{id}`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::Client;
use super::read::null_as_empty;
use crate::error::{Error, InvalidRequest};
use crate::timestamp;
use crate::wire::id_string;

/// One data-deletion (anonymisation) request as Ometria reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRequest {
    /// Ometria's id (a UUID), for [`Client::erasure_request`].
    pub id: String,
    /// `"anonymise"` in Ometria's example.
    pub action: Option<String>,
    /// When Ometria took the request (Postgres-style in Ometria's answers,
    /// `"2017-02-04 10:18:12.833949+00"`). Optional only because the create
    /// answer is undocumented; the documented object always has it.
    pub timestamp_created: Option<DateTime<Utc>>,
    /// When Ometria finished; `None` while pending.
    pub timestamp_completed: Option<DateTime<Utc>>,
    /// What was done, e.g. `"1 contact record anonymised, 15 events
    /// anonymised"`; `None` while pending.
    pub summary: Option<String>,
    /// Free-text comment, if the request had one.
    pub comment: Option<String>,
    /// The identities it concerns, as Ometria shows them after hashing:
    /// `"<32 hex>@anonymous.ometria"`. Never the address itself.
    pub hashed_emails: Vec<String>,
    /// `source.origin`: `"api"` for requests made here; others come from the
    /// Ometria app.
    pub origin: Option<String>,
    /// `source.api_request_id`, when made through the API.
    pub api_request_id: Option<String>,
}

impl ErasureRequest {
    /// True once Ometria has processed the request.
    pub fn completed(&self) -> bool {
        self.timestamp_completed.is_some()
    }
}

/// The wire object; a source's `user {email, name}` (in-app requests) is
/// personal data and is not kept.
#[derive(Deserialize)]
struct RawErasure {
    #[serde(deserialize_with = "required_id")]
    id: String,
    #[serde(default, deserialize_with = "id_string")]
    action: Option<String>,
    #[serde(default, deserialize_with = "timestamp::optional")]
    timestamp_created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "timestamp::optional")]
    timestamp_completed: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "id_string")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    identities: Vec<RawIdentity>,
    #[serde(default)]
    source: Option<RawSource>,
}

#[derive(Deserialize)]
struct RawIdentity {
    #[serde(default, deserialize_with = "id_string")]
    hashed_email: Option<String>,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(default, deserialize_with = "id_string")]
    origin: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    api_request_id: Option<String>,
}

impl<'de> Deserialize<'de> for ErasureRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawErasure::deserialize(d)?;
        let (origin, api_request_id) = raw
            .source
            .map_or((None, None), |s| (s.origin, s.api_request_id));
        Ok(ErasureRequest {
            id: raw.id,
            action: raw.action,
            timestamp_created: raw.timestamp_created,
            timestamp_completed: raw.timestamp_completed,
            summary: raw.summary,
            comment: raw.comment,
            hashed_emails: raw
                .identities
                .into_iter()
                .filter_map(|i| i.hashed_email)
                .collect(),
            origin,
            api_request_id,
        })
    }
}

fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    id_string(d)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| serde::de::Error::custom("missing id"))
}

/// Why a data-deletion request was not made or not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The GDPR lane's slot is taken (Ometria allows 6 a minute); free again
    /// after this. Nothing was sent.
    #[error("data-deletion requests are rate limited; next slot in {0:?}")]
    Busy(Duration),
    /// Refused locally, or sent and failed: classify with
    /// [`Error::disposition`].
    #[error("data-deletion request failed")]
    Failed(#[source] Error),
}

impl Client {
    /// `POST /v2/data-deletion-requests` with `{"email": …}`: asks Ometria to
    /// anonymise this address's data. One attempt, never a wait: a taken
    /// slot is [`ErasureError::Busy`]; a 429 pauses only this lane. The
    /// address is sent trimmed and never logged.
    pub async fn request_erasure(&self, email: &str) -> Result<ErasureRequest, ErasureError> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(ErasureError::Failed(Error::InvalidRequest {
                reason: InvalidRequest::NoEmail,
            }));
        }
        self.erasure_limiter
            .try_acquire()
            .map_err(ErasureError::Busy)?;
        let body = serde_json::json!({ "email": email });
        let response = self
            .post_json(
                self.endpoint(&["v2", "data-deletion-requests"]),
                body.to_string().into_bytes(),
            )
            .send()
            .await
            .map_err(|e| ErasureError::Failed(Error::from_send(e)))?;
        let response = self
            .check_status(response, &self.erasure_limiter)
            .await
            .map_err(ErasureError::Failed)?;
        let created: ErasureRequest = response
            .json()
            .await
            .map_err(|e| ErasureError::Failed(Error::from_body(e)))?;
        tracing::debug!(ometria_request = %created.id, "Ometria took a data-deletion request.");
        Ok(created)
    }

    /// `GET /v2/data-deletion-requests/{id}`; `None` when Ometria answers
    /// 404. One attempt on the push lane's budget.
    pub async fn erasure_request(&self, id: &str) -> Result<Option<ErasureRequest>, Error> {
        let url = self.endpoint(&["v2", "data-deletion-requests", id]);
        match self.read_or_absent(url).await? {
            Some(response) => response.json().await.map_err(Error::from_body),
            None => Ok(None),
        }
    }

    /// `GET /v2/data-deletion-requests`: every request of the account, made
    /// here or in the Ometria app. One attempt on the push lane's budget.
    pub async fn erasure_requests(&self) -> Result<Vec<ErasureRequest>, Error> {
        let response = self
            .read(self.endpoint(&["v2", "data-deletion-requests"]))
            .await?;
        let list: Option<Vec<ErasureRequest>> = response.json().await.map_err(Error::from_body)?;
        Ok(list.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_ometria_s_documented_object() {
        let r: ErasureRequest = serde_json::from_value(json!({
            "action": "anonymise",
            "comment": "GDPR request",
            "id": "3c1c6a2c-4d5e-4f60-8a9b-0c1d2e3f4a5b",
            "identities": [{"hashed_email": "0123456789abcdef0123456789abcdef@anonymous.ometria"}],
            "source": {"api_request_id": "r-1", "origin": "api",
                       "user": {"email": "ops@example.com", "name": "Ops"}},
            "summary": "1 contact record anonymised, 15 events anonymised",
            "timestamp_completed": "2017-02-05 11:00:00+00",
            "timestamp_created": "2017-02-04 10:18:12.833949+00",
        }))
        .unwrap();
        let created = Utc.with_ymd_and_hms(2017, 2, 4, 10, 18, 12).unwrap()
            + TimeDelta::microseconds(833_949);
        assert_eq!(
            r,
            ErasureRequest {
                id: "3c1c6a2c-4d5e-4f60-8a9b-0c1d2e3f4a5b".to_owned(),
                action: Some("anonymise".to_owned()),
                timestamp_created: Some(created),
                timestamp_completed: Some(Utc.with_ymd_and_hms(2017, 2, 5, 11, 0, 0).unwrap()),
                summary: Some("1 contact record anonymised, 15 events anonymised".to_owned()),
                comment: Some("GDPR request".to_owned()),
                hashed_emails: vec![
                    "0123456789abcdef0123456789abcdef@anonymous.ometria".to_owned()
                ],
                origin: Some("api".to_owned()),
                api_request_id: Some("r-1".to_owned()),
            }
        );
        assert!(r.completed());
        assert!(!format!("{r:?}").contains("ops@example.com"));
    }

    #[test]
    fn pending_and_sparse_objects_parse() {
        let pending: ErasureRequest = serde_json::from_value(json!({
            "id": "a", "summary": null, "timestamp_completed": null,
            "timestamp_created": "2017-02-04 10:18:12.833949+00", "identities": null, "source": null,
        }))
        .unwrap();
        assert!(!pending.completed());
        assert_eq!(pending.summary, None);
        assert!(pending.hashed_emails.is_empty());
        assert_eq!(pending.origin, None);

        let sparse: ErasureRequest = serde_json::from_value(json!({"id": "b"})).unwrap();
        assert_eq!(sparse.timestamp_created, None);
        assert!(!sparse.completed());

        assert!(serde_json::from_value::<ErasureRequest>(json!({"action": "anonymise"})).is_err());
        assert!(
            serde_json::from_value::<ErasureRequest>(
                json!({"id": "c", "timestamp_completed": "done"})
            )
            .is_err(),
            "an unreadable completion time is not taken as pending"
        );
    }
}
