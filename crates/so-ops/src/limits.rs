//! The documented range of every numeric input of the operator actions
//! (admin API and CLI), checked before anything runs: an out-of-range value
//! is refused naming its field, never clamped silently or left to panic
//! deeper down (a tiny `rate` once overflowed the pacing interval).

use std::ops::RangeInclusive;

use crate::OpsError;

/// `GET /admin/dead-letters?limit=`: matches returned (all are counted).
pub const LIST_LIMIT: RangeInclusive<u32> = 0..=10_000;
pub const LIST_LIMIT_DEFAULT: u32 = 100;
/// `GET /admin/dead-letters?offset=`: matches skipped (a page's start).
pub const LIST_OFFSET: RangeInclusive<u32> = 0..=100_000_000;
/// `GET /admin/history?limit=`: audit records returned.
pub const HISTORY_LIMIT: RangeInclusive<u32> = 0..=1_000;
pub const HISTORY_LIMIT_DEFAULT: u32 = 50;
/// `GET /admin/exports?limit=`: exports returned.
pub const EXPORTS_LIMIT: RangeInclusive<u32> = 0..=1_000;
pub const EXPORTS_LIMIT_DEFAULT: u32 = 100;
/// `GET /admin/shops/{shop}/activity?limit=`: entries of each kind.
pub const ACTIVITY_LIMIT: RangeInclusive<u32> = 0..=100;
pub const ACTIVITY_LIMIT_DEFAULT: u32 = 20;
/// Replay pace, messages per second: from one per 100 s to as fast as any
/// broker confirms.
pub const RATE: RangeInclusive<f64> = 0.01..=100_000.0;

/// A count from its text form (a query parameter), `default` when absent.
pub fn count(
    field: &'static str,
    raw: Option<&str>,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32, OpsError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            OpsError::invalid(
                field,
                format!(
                    "{raw:?}: must be an integer {}..={}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// A replay pace in messages per second.
pub fn rate(rate: f64) -> Result<f64, OpsError> {
    if RATE.contains(&rate) {
        Ok(rate)
    } else {
        Err(OpsError::invalid(
            "rate",
            format!(
                "{rate}: must be {}..={} messages per second",
                RATE.start(),
                RATE.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_their_range_name_the_field() {
        assert_eq!(count("limit", None, 7, 0..=10).unwrap(), 7);
        assert_eq!(count("limit", Some("10"), 7, 0..=10).unwrap(), 10);
        for bad in ["11", "-1", "1.5", "", "x", "99999999999999999999"] {
            let e = count("limit", Some(bad), 7, 0..=10)
                .unwrap_err()
                .to_string();
            assert!(e.contains("`limit`"), "{bad}: {e}");
        }
    }

    #[test]
    fn rates_that_would_overflow_the_pace_are_refused() {
        assert_eq!(rate(50.0).unwrap(), 50.0);
        for bad in [5e-324, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e6] {
            let e = rate(bad).unwrap_err().to_string();
            assert!(e.contains("`rate`"), "{bad}: {e}");
        }
    }
}
