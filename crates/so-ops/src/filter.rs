//! Which messages an action applies to. Every given criterion must hold;
//! a list criterion holds when any of its values matches.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::OpsError;
use crate::letter::LetterSummary;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// Webhook ids (`message_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shops: Vec<String>,
    /// Reason codes, e.g. `invalid_payload`, `delivery_limit`, `shop_paused`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// Dead-lettered (parked: received) at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Dead-lettered (parked: received) before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

fn any_of(wanted: &[String], actual: Option<&str>) -> bool {
    wanted.is_empty() || actual.is_some_and(|a| wanted.iter().any(|w| w.eq_ignore_ascii_case(a)))
}

impl Filter {
    /// No criterion at all: matches everything.
    pub fn is_empty(&self) -> bool {
        self == &Filter::default()
    }

    pub fn matches(&self, m: &LetterSummary) -> bool {
        (self.ids.is_empty() || self.ids.contains(&m.id))
            && any_of(&self.topics, m.topic.as_deref())
            && any_of(&self.shops, m.shop.as_deref())
            && any_of(&self.reasons, m.reason.as_deref())
            && any_of(&self.stages, m.stage.as_deref())
            && self.since.is_none_or(|s| m.at.is_some_and(|at| at >= s))
            && self.until.is_none_or(|u| m.at.is_some_and(|at| at < u))
    }

    /// Sets the time range from its text form (see [`parse_time`]), as the
    /// CLI and the admin API receive it.
    pub fn with_time_range(
        mut self,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Filter, OpsError> {
        self.since = since.map(|s| parse_time("since", s)).transpose()?;
        self.until = until.map(|s| parse_time("until", s)).transpose()?;
        Ok(self)
    }

    /// Checks the values, naming the field that is wrong. A `since` not
    /// before `until` is not an error: the range is empty and matches
    /// nothing (the admin API's document can state every refusal, and a
    /// relation between two fields is not one it can express).
    pub fn validate(&self) -> Result<(), OpsError> {
        for shop in &self.shops {
            so_domain::ShopDomain::parse(shop)
                .map_err(|e| OpsError::invalid("shop", format!("{shop:?}: {e}")))?;
        }
        for topic in &self.topics {
            so_domain::TopicName::parse(topic)
                .map_err(|e| OpsError::invalid("topic", format!("{topic:?}: {e}")))?;
        }
        Ok(())
    }
}

/// Parses a time bound: RFC 3339 (`2026-11-22T10:00:00Z`) or a date
/// (`2026-11-22`, meaning its start in UTC).
pub fn parse_time(field: &'static str, raw: &str) -> Result<DateTime<Utc>, OpsError> {
    // The admin API documents exact formats: surrounding blanks are refused
    // here, though the shared parser would forgive them.
    if raw.trim() != raw {
        return Err(OpsError::invalid(
            field,
            format!("{raw:?} has blanks around it"),
        ));
    }
    so_domain::time::parse_date_time(raw).map_err(|e| OpsError::invalid(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> LetterSummary {
        LetterSummary {
            id: "w1".into(),
            position: 0,
            topic: Some("orders/create".into()),
            shop: Some("a.myshopify.com".into()),
            entity: Some("order:1".into()),
            reason: Some("invalid_payload".into()),
            stage: Some("decode".into()),
            detail: None,
            attempts: Some(1),
            at: Some("2026-11-22T10:00:00Z".parse().unwrap()),
            received_at: None,
            triggered_at: None,
            routing_key: "work.1".into(),
            body_bytes: 10,
        }
    }

    #[test]
    fn every_criterion_must_hold() {
        let m = letter();
        assert!(Filter::default().matches(&m));
        let f = Filter {
            topics: vec!["orders/create".into(), "orders/paid".into()],
            reasons: vec!["invalid_payload".into()],
            ..Filter::default()
        };
        assert!(f.matches(&m));
        let f = Filter {
            shops: vec!["b.myshopify.com".into()],
            ..Filter::default()
        };
        assert!(!f.matches(&m));
        let f = Filter {
            since: Some(parse_time("since", "2026-11-22").unwrap()),
            until: Some(parse_time("until", "2026-11-22T10:00:00Z").unwrap()),
            ..Filter::default()
        };
        assert!(!f.matches(&m), "until is exclusive");
    }

    #[test]
    fn bad_values_name_their_field() {
        let e = parse_time("until", "yesterday").unwrap_err().to_string();
        assert!(e.contains("`until`"), "{e}");
        let f = Filter {
            shops: vec!["not a shop".into()],
            ..Filter::default()
        };
        assert!(f.validate().unwrap_err().to_string().contains("`shop`"));
    }
}
