//! What a profile send sends: which profiles, the list they join, and the
//! activity range; checked before anything is read or published.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use so_domain::merchant::ProfileFilter;
use so_platform::ShopSettings;

use crate::SyncError;

/// On demand (`send-profiles`) or the daily automatic send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OnDemand,
    Auto,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OnDemand => "on_demand",
            Kind::Auto => "auto",
        }
    }
}

/// A send's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub profiles: ProfileFilter,
    /// The Ometria list every sent contact joins (`@add_to_lists`).
    pub list: Option<u64>,
    /// Activity range `[active_from, active_to)`: a customer updated, or
    /// with an order placed, in it (docs/mapping.md, "Profile sends").
    pub active_from: Option<DateTime<Utc>>,
    pub active_to: Option<DateTime<Utc>>,
}

/// What the command line asked for, before it is checked against the shop.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub profiles: Option<ProfileFilter>,
    pub list: Option<u64>,
    pub new_list: Option<String>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_to: Option<DateTime<Utc>>,
}

impl Request {
    /// The choices, or an error naming the option at fault.
    pub fn choices(&self, shop: &ShopSettings) -> Result<Choices, SyncError> {
        if self.new_list.is_some() && self.list.is_some() {
            return Err(invalid("--list and --new-list: choose one of them"));
        }
        if let Some(name) = &self.new_list {
            return Err(invalid(&format!(
                "--new-list {name:?}: Ometria's API documents no way to create a list; create it in the Ometria app, add its id to shops.\"<domain>\".profile_sends.allowed_lists and use --list ID"
            )));
        }
        check_list("--list", self.list, shop)?;
        if let (Some(from), Some(to)) = (self.active_from, self.active_to)
            && to <= from
        {
            return Err(invalid(&format!(
                "--active-to {} must be after --active-from {}",
                to.to_rfc3339(),
                from.to_rfc3339()
            )));
        }
        Ok(Choices {
            profiles: self.profiles.unwrap_or(shop.profiles),
            list: self.list,
            active_from: self.active_from,
            active_to: self.active_to,
        })
    }
}

/// `list` must be one of the shop's lists; `what` names the setting.
pub fn check_list(what: &str, list: Option<u64>, shop: &ShopSettings) -> Result<(), SyncError> {
    match list {
        Some(l) if !shop.sendable_lists().contains(&l) => Err(invalid(&format!(
            "{what} {l}: not one of this shop's lists ({:?}; add it to profile_sends.allowed_lists)",
            shop.sendable_lists()
        ))),
        _ => Ok(()),
    }
}

/// The automatic send's choices at `now`: its rolling range ends now.
pub fn auto_choices(shop: &ShopSettings, now: DateTime<Utc>) -> Result<Choices, SyncError> {
    let p = &shop.profile_sends;
    check_list("profile_sends.list", p.list, shop)?;
    Ok(Choices {
        profiles: p.profiles.unwrap_or(shop.profiles),
        list: p.list,
        active_from: p
            .active_days
            .map(|d| now - chrono::Duration::days(i64::from(d))),
        active_to: p.active_days.map(|_| now),
    })
}

/// `--active-from`/`--active-to`: an RFC 3339 instant, or a date in the
/// shop's time zone, which means its start (from) or its end (to: the
/// range includes the whole day).
pub fn parse_bound(
    option: &str,
    raw: &str,
    zone: chrono_tz::Tz,
    end: bool,
) -> Result<DateTime<Utc>, SyncError> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        invalid(&format!(
            "{option} {raw:?}: neither YYYY-MM-DD nor an RFC 3339 time"
        ))
    })?;
    let day = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(super::schedule::Daily {
        at: chrono::NaiveTime::MIN,
        zone,
    }
    .slot(day))
}

fn invalid(text: &str) -> SyncError {
    SyncError::Invalid(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopSettings {
        let mut s = ShopSettings::default();
        s.lists.every_contact = vec![10];
        s.profile_sends.allowed_lists = vec![77];
        s
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn bad_requests_name_the_option() {
        let cases = [
            (
                Request {
                    list: Some(5),
                    ..Request::default()
                },
                "--list 5",
            ),
            (
                Request {
                    list: Some(77),
                    new_list: Some("VIP".to_owned()),
                    ..Request::default()
                },
                "--list and --new-list",
            ),
            (
                Request {
                    new_list: Some("VIP".to_owned()),
                    ..Request::default()
                },
                "--new-list \"VIP\": Ometria's API documents no way to create a list",
            ),
            (
                Request {
                    active_from: Some(t("2026-07-02T00:00:00Z")),
                    active_to: Some(t("2026-07-01T00:00:00Z")),
                    ..Request::default()
                },
                "--active-to",
            ),
        ];
        for (request, text) in cases {
            let e = request.choices(&shop()).unwrap_err().to_string();
            assert!(e.contains(text), "{e}");
        }
        let ok = Request {
            list: Some(77),
            ..Request::default()
        };
        assert_eq!(ok.choices(&shop()).unwrap().list, Some(77));
    }

    #[test]
    fn dates_are_whole_days_in_the_shops_zone() {
        let london = chrono_tz::Europe::London;
        let from = parse_bound("--active-from", "2026-07-01", london, false).unwrap();
        let to = parse_bound("--active-to", "2026-07-31", london, true).unwrap();
        assert_eq!(from, t("2026-06-30T23:00:00Z"));
        assert_eq!(to, t("2026-07-31T23:00:00Z"));
        let e = parse_bound("--active-to", "31/07", london, true).unwrap_err();
        assert!(e.to_string().starts_with("--active-to \"31/07\""), "{e}");
    }
}
