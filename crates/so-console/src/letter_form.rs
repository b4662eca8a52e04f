//! The Dead letters page's inputs as typed (filter, time range, page, selection, pace) turned
//! into `so-ops` values, with the same rules as the CLI and the admin API. A bad value becomes a
//! [`Problem`] naming its field, shown inline on the page; nothing is done.

use chrono::{DateTime, NaiveDateTime, Utc};
use so_ops::{Filter, OpsError, limits};

use crate::pages::letters::LetterQuery;

/// A refused input: the field and why, shown next to the form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) field: &'static str,
    pub(crate) detail: String,
}

impl Problem {
    fn new(field: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            field,
            detail: detail.into(),
        }
    }

    /// An input `so-ops` refused, as a problem to show inline; any other error is given back.
    pub(crate) fn from_ops(e: OpsError) -> Result<Problem, OpsError> {
        match e {
            OpsError::InvalidInput { field, detail } => Ok(Problem::new(field, detail)),
            other => Err(other),
        }
    }
}

/// Comma-separated values, as the admin API's query parameters.
pub(crate) fn split(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The filter of `q` and `ids`, its time range read as [`time`] reads it.
pub(crate) fn filter(q: &LetterQuery, ids: &[String]) -> Result<Filter, Problem> {
    let filter = Filter {
        ids: ids.to_vec(),
        topics: split(&q.topic),
        shops: split(&q.shop),
        reasons: split(&q.reason),
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
        ..Filter::default()
    };
    filter.validate().map_err(|e| {
        Problem::from_ops(e).unwrap_or_else(|e| Problem::new("filter", e.to_string()))
    })?;
    Ok(filter)
}

/// A time bound: empty for none; a `datetime-local` value (`2026-12-07T10:30`, seconds
/// optional), which carries no zone and is read in UTC as the page states; otherwise what
/// `so_ops::filter::parse_time` takes (a date, or RFC 3339), by its rules.
pub(crate) fn time(field: &'static str, raw: &str) -> Result<Option<DateTime<Utc>>, Problem> {
    if raw.is_empty() {
        return Ok(None);
    }
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok());
    if let Some(t) = local {
        return Ok(Some(t.and_utc()));
    }
    so_ops::filter::parse_time(field, raw)
        .map(Some)
        .map_err(|e| match Problem::from_ops(e) {
            Ok(p) => Problem::new(p.field, format!("{}, or YYYY-MM-DDTHH:MM in UTC", p.detail)),
            Err(e) => Problem::new(field, e.to_string()),
        })
}

/// The page's first match: empty for the first page.
pub(crate) fn offset(raw: &str) -> Result<u64, Problem> {
    let raw = (!raw.is_empty()).then_some(raw);
    limits::count("offset", raw, 0, limits::LIST_OFFSET)
        .map(u64::from)
        .map_err(|e| Problem::from_ops(e).unwrap_or_else(|e| Problem::new("offset", e.to_string())))
}

/// A replay's pace in messages per second: empty for as fast as confirms come; otherwise
/// within `so_ops::limits::RATE`.
pub(crate) fn rate(raw: &str) -> Result<Option<f64>, Problem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let rate: f64 = raw.parse().map_err(|_| {
        Problem::new(
            "rate",
            format!("{raw:?} is not a number of messages per second"),
        )
    })?;
    limits::rate(rate)
        .map(Some)
        .map_err(|e| Problem::from_ops(e).unwrap_or_else(|e| Problem::new("rate", e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_read_in_utc_and_the_shared_forms_still_work() {
        let at = |raw| time("since", raw).unwrap().unwrap().to_rfc3339();
        assert_eq!(at("2026-12-07T10:30"), "2026-12-07T10:30:00+00:00");
        assert_eq!(at("2026-12-07T10:30:05"), "2026-12-07T10:30:05+00:00");
        assert_eq!(at("2026-12-07"), "2026-12-07T00:00:00+00:00");
        assert_eq!(at("2026-12-07T10:30:00+02:00"), "2026-12-07T08:30:00+00:00");
        assert_eq!(time("until", "").unwrap(), None);
    }

    #[test]
    fn bad_values_name_their_field() {
        for (field, raw) in [
            ("since", "yesterday"),
            ("until", " 2026-12-07"),
            ("until", "2026-13-01T10:00"),
        ] {
            let p = time(field, raw).unwrap_err();
            assert_eq!(p.field, field, "{raw}: {p:?}");
        }
        for raw in ["0", "-1", "x", "1e9", "NaN"] {
            assert_eq!(rate(raw).unwrap_err().field, "rate", "{raw}");
        }
        assert_eq!(rate(" 2.5 ").unwrap(), Some(2.5));
        assert_eq!(rate("").unwrap(), None);
        assert_eq!(offset("x").unwrap_err().field, "offset");
        assert_eq!(offset("").unwrap(), 0);
        let q = LetterQuery {
            shop: "not a shop".to_owned(),
            ..LetterQuery::default()
        };
        assert_eq!(filter(&q, &[]).unwrap_err().field, "shop");
    }
}
