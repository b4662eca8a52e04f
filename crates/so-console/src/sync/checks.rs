//! The Data Sync forms' checks: `send-profiles`' own (`so_sync::profiles::choices`) and
//! start-up's (`so_platform::config`), each refusal naming its form field.

use so_domain::merchant::ProfileFilter;
use so_platform::ShopSettings;
use so_platform::shops_live;
use so_sync::SyncError;
use so_sync::profiles::{self, Choices, Request};

use super::{AutoForm, FieldError, OnDemandForm};

/// Whether the console writes settings key `k` back through `so_ops::ShopOps::set_settings`:
/// every key it takes (its `SETTINGS_KEYS`) but `enabled`, since the pause is kept apart and
/// the settings read here are the effective ones.
pub(crate) fn settable(k: &str) -> bool {
    k != "enabled" && so_ops::shops::SETTINGS_KEYS.contains(&k)
}

/// The On Demand choices, or the field at fault: the same checks as `send-profiles`.
pub(super) fn on_demand_choices(
    f: &OnDemandForm,
    settings: &ShopSettings,
) -> Result<Choices, FieldError> {
    let zone = settings.time_zone();
    let bound = |field: &'static str, label: &str, raw: &str, end: bool| {
        let raw = raw.trim();
        (!raw.is_empty())
            .then(|| profiles::choices::parse_bound(label, raw, zone, end))
            .transpose()
            .map_err(|e| FieldError {
                field,
                message: message_of(e),
            })
    };
    let request = Request {
        profiles: profile_filter(&f.profiles),
        list: list_id("list", &f.list)?,
        new_list: Some(f.new_list.trim().to_owned()).filter(|n| !n.is_empty()),
        active_from: bound("active_from", "Active from", &f.active_from, false)?,
        active_to: bound("active_to", "Active to", &f.active_to, true)?,
    };
    request.choices(settings).map_err(|e| {
        let message = message_of(e);
        let field = if message.starts_with("--list and") || message.starts_with("--new-list") {
            "new_list"
        } else if message.starts_with("--list") {
            "list"
        } else {
            "active_to"
        };
        FieldError {
            field,
            message: labels(&message),
        }
    })
}

/// The shop's settings with the automatic send's replaced, as the shop settings path takes
/// them; a bad value names its field.
pub(super) fn auto_settings(
    f: &AutoForm,
    settings: &ShopSettings,
) -> Result<serde_json::Value, FieldError> {
    let daily = f.daily.is_some();
    let at = Some(f.at.trim().to_owned()).filter(|a| !a.is_empty());
    if let Some(a) = &at {
        so_platform::config::parse_at(a).map_err(|e| FieldError {
            field: "at",
            message: format!("Time of day: {e}"),
        })?;
    } else if daily {
        return Err(FieldError {
            field: "at",
            message: "Time of day: needed for the daily send".to_owned(),
        });
    }
    let list = list_id("auto_list", &f.list)?;
    profiles::choices::check_list("List", list, settings).map_err(|e| FieldError {
        field: "auto_list",
        message: message_of(e),
    })?;
    let days = f.active_days.trim();
    let active_days =
        if days.is_empty() {
            None
        } else {
            Some(days.parse::<u32>().ok().filter(|d| {
            (1..=so_platform::config::MAX_ACTIVE_DAYS).contains(d)
        }).ok_or_else(|| FieldError {
            field: "active_days",
            message: format!(
                "Active in the last (days): {days:?} is not a number of days from 1 to {}",
                so_platform::config::MAX_ACTIVE_DAYS
            ),
        })?)
        };
    let mut value = shops_live::to_stored(settings);
    if let Some(o) = value.as_object_mut() {
        // The shop settings path replaces a shop's settings whole and refuses keys it does
        // not take: keep those it takes, with the automatic send's set.
        o.retain(|k, _| settable(k));
        o.insert(
            "profile_sends".to_owned(),
            serde_json::json!({
                "daily": daily,
                "at": at,
                "profiles": profile_filter(&f.profiles),
                "list": list,
                "active_days": active_days,
                "allowed_lists": settings.profile_sends.allowed_lists,
            }),
        );
    }
    Ok(value)
}

fn profile_filter(raw: &str) -> Option<ProfileFilter> {
    match raw {
        "all" => Some(ProfileFilter::All),
        "subscribers" => Some(ProfileFilter::Subscribers),
        _ => None,
    }
}

fn list_id(field: &'static str, raw: &str) -> Result<Option<u64>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| FieldError {
        field,
        message: format!("List: {raw:?} is not an Ometria list id"),
    })
}

pub(super) fn message_of(e: SyncError) -> String {
    match e {
        SyncError::Invalid(m) => m,
        other => other.to_string(),
    }
}

/// `send-profiles`' option names as the form's labels.
fn labels(message: &str) -> String {
    message
        .replace("--new-list", "New list")
        .replace("--list", "List")
        .replace("--active-from", "Active from")
        .replace("--active-to", "Active to")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopSettings {
        let mut s = ShopSettings {
            timezone: Some("Europe/Paris".to_owned()),
            ..ShopSettings::default()
        };
        s.profile_sends.allowed_lists = vec![77];
        s
    }

    fn on_demand(list: &str, new_list: &str, from: &str, to: &str) -> OnDemandForm {
        OnDemandForm {
            list: list.to_owned(),
            new_list: new_list.to_owned(),
            active_from: from.to_owned(),
            active_to: to.to_owned(),
            ..OnDemandForm::default()
        }
    }

    #[test]
    fn bad_on_demand_input_names_its_field() {
        let cases = [
            (
                on_demand("5", "", "", ""),
                "list",
                "List 5: not one of this shop's lists",
            ),
            (on_demand("x", "", "", ""), "list", "List: \"x\" is not"),
            (
                on_demand("", "VIP", "", ""),
                "new_list",
                "New list \"VIP\": Ometria's API",
            ),
            (
                on_demand("77", "VIP", "", ""),
                "new_list",
                "List and New list",
            ),
            (
                on_demand("", "", "31/07", ""),
                "active_from",
                "Active from \"31/07\"",
            ),
            (
                on_demand("", "", "2026-07-02", "2026-07-01"),
                "active_to",
                "Active to ",
            ),
        ];
        for (form, field, text) in cases {
            let e = on_demand_choices(&form, &shop()).unwrap_err();
            assert_eq!(e.field, field, "{}", e.message);
            assert!(e.message.starts_with(text), "{}", e.message);
        }
    }

    #[test]
    fn dates_are_whole_days_in_the_shops_time_zone() {
        let c =
            on_demand_choices(&on_demand("77", "", "2026-07-01", "2026-07-01"), &shop()).unwrap();
        assert_eq!(c.list, Some(77));
        assert_eq!(
            c.active_from.unwrap().to_rfc3339(),
            "2026-06-30T22:00:00+00:00"
        );
        assert_eq!(
            c.active_to.unwrap().to_rfc3339(),
            "2026-07-01T22:00:00+00:00"
        );
    }

    #[test]
    pub(super) fn auto_settings_are_checked_and_keep_only_settable_keys() {
        let form = |daily: bool, at: &str, list: &str, days: &str| AutoForm {
            daily: daily.then(|| "on".to_owned()),
            at: at.to_owned(),
            list: list.to_owned(),
            active_days: days.to_owned(),
            ..AutoForm::default()
        };
        let field = |f: AutoForm| auto_settings(&f, &shop()).unwrap_err().field;
        assert_eq!(field(form(true, "", "", "")), "at");
        assert_eq!(field(form(false, "25:00", "", "")), "at");
        assert_eq!(field(form(false, "", "5", "")), "auto_list");
        assert_eq!(field(form(false, "", "", "0")), "active_days");
        let v = auto_settings(&form(true, "07:30", "77", "30"), &shop()).unwrap();
        let p = &v["profile_sends"];
        assert_eq!(p["daily"], true);
        assert_eq!(p["at"], "07:30");
        assert_eq!(p["list"], 77);
        assert_eq!(p["active_days"], 30);
        assert_eq!(p["allowed_lists"], serde_json::json!([77]));
        for k in v.as_object().unwrap().keys() {
            assert!(k == "profile_sends" || settable(k), "{k}");
        }
    }
}
