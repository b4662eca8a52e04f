//! Instants written by people: command-line flags (`--since`, `--from`,
//! `--to`) and configuration values (`sync.consent_start`) share one form.

use chrono::{DateTime, NaiveDate, Utc};

/// `2026-11-01` (midnight UTC) or an RFC 3339 instant.
pub fn parse_date_time(raw: &str) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{raw:?} is neither YYYY-MM-DD nor an RFC 3339 time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_date_as_its_midnight_and_an_instant_as_utc() {
        assert_eq!(
            parse_date_time("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_date_time(" 2026-11-01T10:00:00+02:00 ")
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T08:00:00+00:00"
        );
    }

    #[test]
    fn names_the_accepted_forms_when_refusing() {
        let e = parse_date_time("yesterday").unwrap_err();
        assert_eq!(
            e,
            r#""yesterday" is neither YYYY-MM-DD nor an RFC 3339 time"#
        );
    }
}
