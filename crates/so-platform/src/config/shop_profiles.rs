//! `[shops."<domain>".profile_sends]` and `timezone`: the daily automatic
//! profile send of one shop (Adestra Data Sync's "Auto Send") and the time
//! zone its time of day and every shown time are read in.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use so_domain::merchant::ProfileFilter;

use super::ShopSettings;

/// Most days a rolling activity range may look back.
pub const MAX_ACTIVE_DAYS: u32 = 3650;

/// `[shops."<domain>".profile_sends]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileSends {
    /// Whether the automatic send runs once a day.
    pub daily: bool,
    /// Local time of day (`HH:MM`, in the shop's `timezone`) of the daily
    /// send. Kept as written so a bad value is reported with the others.
    pub at: Option<String>,
    /// `all` or `subscribers`; unset: the shop's `profiles`.
    pub profiles: Option<ProfileFilter>,
    /// The Ometria list every contact of an automatic send joins.
    pub list: Option<u64>,
    /// Only customers active (ordered or updated) in the last this many
    /// days; unset: every customer.
    pub active_days: Option<u32>,
    /// Lists an on-demand send (`send-profiles --list`) may choose besides
    /// the shop's `lists.every_contact` and `lists.subscribers`.
    pub allowed_lists: Vec<u64>,
}

impl ProfileSends {
    /// The time of day of the daily send (`at`), once valid.
    pub fn time_of_day(&self) -> Option<NaiveTime> {
        self.at.as_deref().and_then(|a| parse_at(a).ok())
    }
}

/// `HH:MM` (24 h).
pub fn parse_at(raw: &str) -> Result<NaiveTime, String> {
    let ok = raw.len() == 5 && raw.as_bytes()[2] == b':';
    ok.then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("{raw:?} is not a time of day HH:MM (00:00 to 23:59)"))
}

/// An IANA time zone name (`Europe/London`).
pub fn parse_timezone(raw: &str) -> Result<chrono_tz::Tz, String> {
    raw.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{raw:?} is not an IANA time zone name, e.g. Europe/London"))
}

impl ShopSettings {
    /// The shop's time zone; UTC when unset (or invalid, which validation
    /// reports).
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.timezone
            .as_deref()
            .and_then(|z| parse_timezone(z).ok())
            .unwrap_or(chrono_tz::UTC)
    }

    /// `at` in the shop's time zone, e.g. `2026-12-01 09:30:00 GMT (Europe/London)`.
    pub fn local_time(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        let zone = self.time_zone();
        format!(
            "{} ({zone})",
            at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z")
        )
    }

    /// Lists a profile send of this shop may add contacts to.
    pub fn sendable_lists(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .lists
            .every_contact
            .iter()
            .chain(&self.lists.subscribers)
            .chain(&self.profile_sends.allowed_lists)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

impl super::Config {
    /// Daily sends that cannot run: the send reads the Admin API.
    pub(super) fn profile_send_warnings(&self) -> Vec<String> {
        self.shops
            .iter()
            .filter(|(_, s)| s.profile_sends.daily && !s.admin.has_access())
            .map(|(d, _)| format!("shops.\"{d}\".profile_sends.daily is on but the shop has no Admin API access (admin.*): the daily send cannot run"))
            .collect()
    }
}

/// Invalid `timezone` and `profile_sends` values, each naming its key
/// relative to the shop.
pub(super) fn problems(shop: &ShopSettings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Err(e)) = shop.timezone.as_deref().map(parse_timezone) {
        out.push(format!("timezone: {e}"));
    }
    let p = &shop.profile_sends;
    if let Some(Err(e)) = p.at.as_deref().map(parse_at) {
        out.push(format!("profile_sends.at: {e}"));
    }
    if p.daily && p.at.is_none() {
        out.push("profile_sends.at: a daily send needs its time of day (HH:MM)".to_owned());
    }
    if p.active_days.is_some_and(|d| d == 0 || d > MAX_ACTIVE_DAYS) {
        out.push(format!(
            "profile_sends.active_days must be 1 to {MAX_ACTIVE_DAYS}"
        ));
    }
    if p.allowed_lists.len() > 20 || p.allowed_lists.contains(&0) {
        out.push(
            "profile_sends.allowed_lists must hold at most 20 Ometria list ids, none of them 0"
                .to_owned(),
        );
    }
    match p.list {
        Some(0) => out.push("profile_sends.list must be an Ometria list id, not 0".to_owned()),
        Some(l) if !shop.sendable_lists().contains(&l) => out.push(format!(
            "profile_sends.list {l} is not one of the shop's lists (lists.every_contact, lists.subscribers, profile_sends.allowed_lists)"
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load(shop: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let text =
            format!("[shops.\"uk.myshopify.com\"]\nlists = {{ every_contact = [10] }}\n{shop}\n");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), [("X", "")]).map_err(|e| e.to_string())
    }

    #[test]
    fn daily_send_settings_load_with_the_shops_time_zone() {
        let c = load(
            "timezone = \"Europe/London\"\n[shops.\"uk.myshopify.com\".profile_sends]\n\
             daily = true\nat = \"06:30\"\nprofiles = \"subscribers\"\nlist = 77\n\
             active_days = 30\nallowed_lists = [77]",
        )
        .unwrap();
        let s = &c.shops["uk.myshopify.com"];
        assert_eq!(s.time_zone(), chrono_tz::Europe::London);
        assert_eq!(
            s.profile_sends.time_of_day(),
            chrono::NaiveTime::from_hms_opt(6, 30, 0)
        );
        assert_eq!(s.sendable_lists(), [10, 77]);
        assert!(
            c.warnings()
                .iter()
                .any(|w| w
                    .contains("profile_sends.daily is on but the shop has no Admin API access")),
            "{:?}",
            c.warnings()
        );
        let plain = load("").unwrap();
        assert_eq!(plain.shops["uk.myshopify.com"].time_zone(), chrono_tz::UTC);
    }

    #[test]
    fn bad_values_are_errors_naming_their_key() {
        for (toml, key) in [
            (
                "timezone = \"Europe/Londres\"",
                "shops.\"uk.myshopify.com\".timezone",
            ),
            (
                "profile_sends = { daily = true, at = \"25:00\" }",
                "shops.\"uk.myshopify.com\".profile_sends.at",
            ),
            (
                "profile_sends = { daily = true, at = \"6:30\" }",
                "shops.\"uk.myshopify.com\".profile_sends.at",
            ),
            (
                "profile_sends = { daily = true }",
                "shops.\"uk.myshopify.com\".profile_sends.at",
            ),
            (
                "profile_sends = { list = 99 }",
                "shops.\"uk.myshopify.com\".profile_sends.list",
            ),
            (
                "profile_sends = { active_days = 0 }",
                "shops.\"uk.myshopify.com\".profile_sends.active_days",
            ),
        ] {
            let e = load(toml).unwrap_err();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }
}
