//! `GET /v2/unsubscribes` data: tests add entries, the endpoint filters them.
//!
//! An unsubscribe is also a consent change: the contacts it concerns are
//! opted out (as by a preference-centre change, which beats every unforced
//! push), so `/v2/profiles` shows them `EXPLICITLY_OPTEDOUT` until a test
//! re-subscribes them or a forced opt-in is pushed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};
use so_domain::ometria::RecordType;

use crate::profiles::{members, profiles};
use crate::records::RecordKey;
use crate::state::State;

/// Where an unsubscribe came from. Ometria does not return API-originated
/// ones from `/v2/unsubscribes` (ometria.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeOrigin {
    /// Email client, link, preference centre, app, SMS stop word.
    Ometria,
    /// Made through the Data API; never listed.
    Api,
}

/// One unsubscribe event.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsubscribe {
    /// The contact's email address.
    pub email_address: String,
    /// Ometria profile id, if known.
    pub profile_id: Option<String>,
    /// Free-text reason.
    pub reason: Option<String>,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// `preferences_centre`, `app`, `list_unsubscribe`, `link_unsubscribe`,
    /// `stopword_unsubscribe_TF`, `stopword_unsubscribe_DO`.
    pub kind: String,
    /// Whether the endpoint lists it.
    pub origin: UnsubscribeOrigin,
}

impl Unsubscribe {
    /// A listed (non-API) unsubscribe of the given type.
    pub fn new(email_address: &str, kind: &str, timestamp: DateTime<Utc>) -> Self {
        Unsubscribe {
            email_address: email_address.to_owned(),
            profile_id: None,
            reason: None,
            timestamp,
            kind: kind.to_owned(),
            origin: UnsubscribeOrigin::Ometria,
        }
    }

    /// Ometria's wire shape; note the non-ISO `"YYYY-MM-DD HH:MM:SS+00"`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "email_address": self.email_address,
            "profile_id": self.profile_id,
            "reason": self.reason,
            "timestamp": self.timestamp.format("%Y-%m-%d %H:%M:%S+00").to_string(),
            "type": self.kind,
        })
    }
}

impl State {
    /// Records `u` and opts out the contacts it concerns: those of its
    /// profile when `profile_id` names one, else those with its email. A
    /// missing `profile_id` is filled in from the first profile with the
    /// email, as Ometria reports one.
    pub(crate) fn unsubscribe(&mut self, mut u: Unsubscribe) -> Unsubscribe {
        let all = profiles(&self.store);
        let by_id = u
            .profile_id
            .as_ref()
            .and_then(|id| all.iter().find(|p| p["id"] == id.as_str()));
        let keys = match by_id {
            Some(profile) => members(profile),
            None => {
                let keys = self.contacts_with_email(&u.email_address);
                if u.profile_id.is_none() {
                    u.profile_id = all
                        .iter()
                        .find(|p| members(p).iter().any(|k| keys.contains(k)))
                        .and_then(|p| p["id"].as_str())
                        .map(str::to_owned);
                }
                keys
            }
        };
        for key in &keys {
            self.store.set_preference(key, false);
        }
        self.unsubscribes.push(u.clone());
        u
    }

    /// Opts the contacts of a profile back in, as a preference-centre change
    /// would. False if there is no such profile.
    pub(crate) fn resubscribe_profile(&mut self, profile_id: &str) -> bool {
        let Some(profile) = profiles(&self.store)
            .into_iter()
            .find(|p| p["id"] == profile_id)
        else {
            return false;
        };
        for key in members(&profile) {
            self.store.set_preference(&key, true);
        }
        true
    }

    /// Contacts whose email is `email` (case-insensitive).
    pub(crate) fn contacts_with_email(&self, email: &str) -> Vec<RecordKey> {
        let wanted = email.trim().to_lowercase();
        if wanted.is_empty() {
            return Vec::new();
        }
        self.store
            .of_type(RecordType::Contact)
            .filter(|(_, r)| {
                r.body
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.trim().to_lowercase() == wanted)
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Query filter: `since` inclusive, `before` exclusive, optional `type`.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) before: Option<DateTime<Utc>>,
    pub(crate) kind: Option<String>,
}

impl Filter {
    pub(crate) fn matches(&self, u: &Unsubscribe) -> bool {
        u.origin == UnsubscribeOrigin::Ometria
            && self.since.is_none_or(|s| u.timestamp >= s)
            && self.before.is_none_or(|b| u.timestamp < b)
            && self.kind.as_ref().is_none_or(|k| *k == u.kind)
    }
}

/// Ometria documents `YYYY-MM-DDTHH:MM:SS` (UTC); RFC 3339 and a bare date
/// are tolerated.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamp_like_ometria_and_parses_query_times() {
        let t = parse_time("2017-05-17T22:08:07").unwrap();
        let u = Unsubscribe::new("a@b.c", "link_unsubscribe", t);
        assert_eq!(u.to_json()["timestamp"], "2017-05-17 22:08:07+00");
        assert_eq!(parse_time("2017-05-17T22:08:07Z"), Some(t));
        assert!(parse_time("2017-05-17").is_some());
        assert!(parse_time("May 17").is_none());
    }

    #[test]
    fn filter_excludes_api_origin_and_respects_window() {
        let t = parse_time("2020-01-01T00:00:00").unwrap();
        let mut u = Unsubscribe::new("a@b.c", "app", t);
        let f = Filter {
            since: Some(t),
            before: None,
            kind: Some("app".into()),
        };
        assert!(f.matches(&u));
        assert!(
            !Filter {
                before: Some(t),
                ..Filter::default()
            }
            .matches(&u)
        );
        u.origin = UnsubscribeOrigin::Api;
        assert!(!f.matches(&u));
    }
}
