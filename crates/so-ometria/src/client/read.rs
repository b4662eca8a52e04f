//! Reading data back (ometria.md §3): unsubscribes and profiles, for the
//! consent write-back. These `GET`s share the push lane's budget: Ometria's
//! 4 req/s is per account, whatever the endpoint.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::Client;
use crate::error::Error;
use crate::timestamp;
use crate::wire::id_string;

/// One entry of `GET /v2/unsubscribes`: an unsubscribe made in Ometria
/// (email client, link, preference centre, app, SMS stop word). Ometria does
/// not list unsubscribes made through its API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Unsubscribe {
    /// The contact's address (absent for some SMS unsubscribes).
    #[serde(default, deserialize_with = "id_string")]
    pub email_address: Option<String>,
    /// The Ometria profile; its `customer_id` leads to the Shopify customer.
    #[serde(default, deserialize_with = "id_string")]
    pub profile_id: Option<String>,
    /// Free text, if any.
    #[serde(default, deserialize_with = "id_string")]
    pub reason: Option<String>,
    /// When it happened. Ometria sends `"2017-05-17 22:08:07+00"`; ISO 8601
    /// is accepted too.
    #[serde(deserialize_with = "timestamp::required")]
    pub timestamp: DateTime<Utc>,
    /// `preferences_centre`, `app`, `list_unsubscribe`, `link_unsubscribe`,
    /// `stopword_unsubscribe_TF`, `stopword_unsubscribe_DO`, or a newer one.
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
}

/// A profile's `marketing_optin`. Ometria documents the three strings; its
/// profile example shows a boolean, which is read as in/out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketingOptin {
    /// `EXPLICITLY_OPTEDIN` (or `true`).
    ExplicitlyOptedIn,
    /// `EXPLICITLY_OPTEDOUT` (or `false`).
    ExplicitlyOptedOut,
    /// `NOT_SPECIFIED`.
    NotSpecified,
}

impl MarketingOptin {
    /// Ometria's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MarketingOptin::ExplicitlyOptedIn => "EXPLICITLY_OPTEDIN",
            MarketingOptin::ExplicitlyOptedOut => "EXPLICITLY_OPTEDOUT",
            MarketingOptin::NotSpecified => "NOT_SPECIFIED",
        }
    }

    /// Reads a JSON value; `None` for null and for values not listed above
    /// (an unknown value is not taken as a consent either way).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::Bool(true) => Some(MarketingOptin::ExplicitlyOptedIn),
            serde_json::Value::Bool(false) => Some(MarketingOptin::ExplicitlyOptedOut),
            serde_json::Value::String(s) => match s.trim().to_ascii_uppercase().as_str() {
                "EXPLICITLY_OPTEDIN" | "TRUE" => Some(MarketingOptin::ExplicitlyOptedIn),
                "EXPLICITLY_OPTEDOUT" | "FALSE" => Some(MarketingOptin::ExplicitlyOptedOut),
                "NOT_SPECIFIED" => Some(MarketingOptin::NotSpecified),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The part of an Ometria profile a consent write-back needs. Other fields
/// (names, dates, stats, properties, ...) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// Ometria's profile id, e.g. `"2695-c473e2-4aaf58"`.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The account id the profile's contacts carry: for contacts we pushed,
    /// the Shopify customer id (with any namespace prefix).
    #[serde(default, deserialize_with = "id_string")]
    pub customer_id: Option<String>,
    /// The profile's email address.
    #[serde(default, deserialize_with = "id_string")]
    pub email: Option<String>,
    /// The profile's resolved marketing consent.
    #[serde(default, deserialize_with = "optin")]
    pub marketing_optin: Option<MarketingOptin>,
    /// The contacts (listings) and other identities the profile joins.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub identities: Vec<ProfileIdentity>,
}

impl Profile {
    /// True when Ometria holds the profile as explicitly opted out.
    pub fn is_opted_out(&self) -> bool {
        self.marketing_optin == Some(MarketingOptin::ExplicitlyOptedOut)
    }
}

/// One entry of a profile's `identities`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProfileIdentity {
    /// The identity's id (a contact id for `type: "contact"`).
    #[serde(default, deserialize_with = "id_string")]
    pub id: Option<String>,
    /// Its type, e.g. `"contact"`.
    #[serde(rename = "type", default, deserialize_with = "id_string")]
    pub kind: Option<String>,
    /// The contact's collection, when Ometria says.
    #[serde(default, deserialize_with = "id_string")]
    pub collection: Option<String>,
}

fn optin<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MarketingOptin>, D::Error> {
    Ok(MarketingOptin::from_json(&serde_json::Value::deserialize(
        d,
    )?))
}

fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    id_string(d)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| serde::de::Error::custom("missing id"))
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(id_string(d)?.unwrap_or_default())
}

pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Client {
    /// `GET /v2/unsubscribes?since=…[&before=…]`: unsubscribes made in
    /// Ometria from `since` (inclusive) to `before`, both sent as UTC
    /// `YYYY-MM-DDTHH:MM:SS` (sub-second parts are dropped). One attempt after
    /// waiting on the push lane's limiter; a failure is classified as usual
    /// ([`Error::disposition`]) for the caller's own schedule. Ometria
    /// documents no pagination: the whole window comes back.
    pub async fn unsubscribes(
        &self,
        since: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Unsubscribe>, Error> {
        let mut url = self.endpoint(&["v2", "unsubscribes"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("since", &timestamp::query(since));
            if let Some(before) = before {
                q.append_pair("before", &timestamp::query(before));
            }
        }
        let response = self.read(url).await?;
        response.json().await.map_err(Error::from_body)
    }

    /// `GET /v2/profiles/{id}`; `None` when Ometria answers 404.
    pub async fn profile(&self, profile_id: &str) -> Result<Option<Profile>, Error> {
        let url = self.endpoint(&["v2", "profiles", profile_id]);
        match self.read_or_absent(url).await? {
            Some(response) => response.json().await.map_err(Error::from_body),
            None => Ok(None),
        }
    }

    /// `GET /v2/profiles?email=…`: the profiles with this address (several
    /// when one email has several customer ids). A 404 is read as none.
    pub async fn profiles_by_email(&self, email: &str) -> Result<Vec<Profile>, Error> {
        let mut url = self.endpoint(&["v2", "profiles"]);
        url.query_pairs_mut().append_pair("email", email);
        match self.read_or_absent(url).await? {
            Some(response) => {
                let list: Option<Vec<Profile>> = response.json().await.map_err(Error::from_body)?;
                Ok(list.unwrap_or_default())
            }
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn unsubscribes_parse_ometria_s_shape_and_timestamp() {
        let list: Vec<Unsubscribe> = serde_json::from_value(json!([
            {"email_address": "ann@example.com", "profile_id": "2695-c473e2-4aaf58",
             "reason": null, "timestamp": "2017-05-17 22:08:07+00", "type": "link_unsubscribe",
             "extra": 1},
            {"email_address": null, "profile_id": 123, "timestamp": "2017-05-17T22:08:07Z",
             "type": "stopword_unsubscribe_TF"},
        ]))
        .unwrap();
        let at = Utc.with_ymd_and_hms(2017, 5, 17, 22, 8, 7).unwrap();
        assert_eq!(
            list[0],
            Unsubscribe {
                email_address: Some("ann@example.com".to_owned()),
                profile_id: Some("2695-c473e2-4aaf58".to_owned()),
                reason: None,
                timestamp: at,
                kind: "link_unsubscribe".to_owned(),
            }
        );
        assert_eq!(list[1].email_address, None);
        assert_eq!(list[1].profile_id.as_deref(), Some("123"));
        assert_eq!(list[1].timestamp, at);
        let bad = serde_json::from_value::<Unsubscribe>(json!({"timestamp": "yesterday"}));
        assert!(bad.is_err());
    }

    #[test]
    fn marketing_optin_tolerates_null_bools_and_the_three_strings() {
        let cases = [
            (json!(null), None),
            (json!(true), Some(MarketingOptin::ExplicitlyOptedIn)),
            (json!(false), Some(MarketingOptin::ExplicitlyOptedOut)),
            (
                json!("EXPLICITLY_OPTEDIN"),
                Some(MarketingOptin::ExplicitlyOptedIn),
            ),
            (
                json!("explicitly_optedout"),
                Some(MarketingOptin::ExplicitlyOptedOut),
            ),
            (json!("NOT_SPECIFIED"), Some(MarketingOptin::NotSpecified)),
            (json!("EXPLICITYLY_OPTEDOUT"), None),
            (json!(1), None),
        ];
        for (value, expected) in cases {
            assert_eq!(MarketingOptin::from_json(&value), expected, "{value}");
            if let Some(o) = expected {
                assert_eq!(
                    MarketingOptin::from_json(&json!(o.as_str())),
                    Some(o),
                    "round trip"
                );
            }
        }
    }

    #[test]
    fn profile_keeps_what_a_write_back_needs_and_ignores_the_rest() {
        let p: Profile = serde_json::from_value(json!({
            "@type": "profile", "id": "2695-c473e2-4aaf58", "customer_id": 42,
            "email": "ann@example.com", "firstname": "Ann", "marketing_optin": "EXPLICITLY_OPTEDOUT",
            "identities": [{"id": "42", "type": "contact", "collection": "customers"}, {"id": 7, "type": "app_id"}],
            "dates": {"acquired": "2020-01-01"}, "stats": {"orders": 3}, "tags": [], "seen": true,
        }))
        .unwrap();
        assert_eq!(p.id, "2695-c473e2-4aaf58");
        assert_eq!(p.customer_id.as_deref(), Some("42"));
        assert_eq!(p.email.as_deref(), Some("ann@example.com"));
        assert!(p.is_opted_out());
        assert_eq!(
            p.identities[0],
            ProfileIdentity {
                id: Some("42".to_owned()),
                kind: Some("contact".to_owned()),
                collection: Some("customers".to_owned()),
            }
        );
        assert_eq!(p.identities[1].id.as_deref(), Some("7"));

        let bare: Profile = serde_json::from_value(json!({
            "id": "p", "customer_id": null, "marketing_optin": null, "identities": null
        }))
        .unwrap();
        assert_eq!(bare.marketing_optin, None);
        assert!(!bare.is_opted_out());
        assert!(bare.identities.is_empty());
        assert!(serde_json::from_value::<Profile>(json!({"email": "x@example.com"})).is_err());
    }
}
