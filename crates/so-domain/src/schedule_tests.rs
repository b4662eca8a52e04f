use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::Daily;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn daily(at: &str, zone: Tz) -> Daily {
    Daily {
        at: NaiveTime::parse_from_str(at, "%H:%M").unwrap(),
        zone,
    }
}

/// Steps a clock through `[from, to)` a minute at a time, running the send
/// whenever it is due; returns the instants it ran.
fn runs(d: &Daily, from: &str, to: &str, mut last: Option<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
    let (mut now, end) = (utc(from), utc(to));
    let mut out = Vec::new();
    while now < end {
        if d.due(now, last) {
            out.push(now);
            last = Some(now);
        }
        now += chrono::Duration::minutes(1);
    }
    out
}

#[test]
fn fires_once_per_local_day_at_its_time_not_before() {
    let d = daily("06:30", chrono_tz::Europe::London);
    // Summer: 06:30 BST is 05:30 UTC.
    let got = runs(&d, "2026-07-01T00:00:00Z", "2026-07-04T00:00:00Z", None);
    assert_eq!(
        got,
        [
            utc("2026-07-01T05:30:00Z"),
            utc("2026-07-02T05:30:00Z"),
            utc("2026-07-03T05:30:00Z")
        ]
    );
    assert!(!d.due(utc("2026-07-01T05:29:00Z"), None));
}

#[test]
fn london_spring_gap_runs_at_the_next_valid_instant_and_autumn_repeat_runs_once() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 01:30 does not exist.
    let d = daily("01:30", chrono_tz::Europe::London);
    let got = runs(&d, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z", None);
    assert_eq!(
        got,
        [
            utc("2026-03-28T01:30:00Z"),
            // 02:00 BST, the first instant after the gap.
            utc("2026-03-29T01:00:00Z"),
            utc("2026-03-30T00:30:00Z"),
        ]
    );
    // 2026-10-25: 02:00 BST falls back to 01:00 GMT; 01:30 happens twice.
    let last = Some(utc("2026-10-24T00:30:00Z"));
    let got = runs(&d, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z", last);
    assert_eq!(
        got,
        [utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]
    );
}

#[test]
fn new_york_changes_keep_the_local_time() {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    let d = daily("02:30", chrono_tz::America::New_York);
    let last = Some(utc("2026-03-06T07:30:00Z"));
    let got = runs(&d, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z", last);
    assert_eq!(
        got,
        [
            utc("2026-03-07T07:30:00Z"),
            // The gap: 03:00 EDT.
            utc("2026-03-08T07:00:00Z"),
            utc("2026-03-09T06:30:00Z"),
        ]
    );
    let d = daily("01:30", chrono_tz::America::New_York);
    let last = Some(utc("2026-10-31T05:30:00Z"));
    let got = runs(&d, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z", last);
    // 01:30 EDT (05:30 UTC) on the change, not again at 01:30 EST.
    assert_eq!(
        got,
        [utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z")]
    );
}

#[test]
fn catches_up_once_after_downtime() {
    let d = daily("06:00", chrono_tz::UTC);
    let last = Some(utc("2026-07-01T06:00:00Z"));
    // Down from 07-01 to 07-05 10:00: one run on start, then the next day's.
    let got = runs(&d, "2026-07-05T10:00:00Z", "2026-07-06T12:00:00Z", last);
    assert_eq!(
        got,
        [utc("2026-07-05T10:00:00Z"), utc("2026-07-06T06:00:00Z")]
    );
}

#[test]
fn next_planned_send() {
    let d = daily("06:30", chrono_tz::Europe::London);
    let last = Some(utc("2026-07-01T05:30:00Z"));
    assert_eq!(
        d.next(utc("2026-07-01T09:00:00Z"), last),
        utc("2026-07-02T05:30:00Z")
    );
    assert_eq!(
        d.next(utc("2026-07-01T04:00:00Z"), None),
        utc("2026-07-01T05:30:00Z")
    );
    let missed = utc("2026-07-03T09:00:00Z");
    assert_eq!(d.next(missed, last), missed);
}

#[test]
fn a_send_switched_on_after_todays_time_runs_at_once_then_daily() {
    let d = daily("06:00", chrono_tz::UTC);
    assert!(!d.due(utc("2026-07-01T05:59:00Z"), None));
    let got = runs(&d, "2026-07-01T09:00:00Z", "2026-07-02T12:00:00Z", None);
    assert_eq!(
        got,
        [utc("2026-07-01T09:00:00Z"), utc("2026-07-02T06:00:00Z")]
    );
}

#[test]
fn the_next_planned_send_keeps_the_local_time_across_dst_changes() {
    let d = daily("06:30", chrono_tz::Europe::London);
    // Sent on Saturday 28 March 2026 at 06:30 GMT; the clocks go forward
    // that night: Sunday's 06:30 is BST, an hour earlier in UTC.
    let last = Some(utc("2026-03-28T06:30:00Z"));
    assert_eq!(
        d.next(utc("2026-03-28T12:00:00Z"), last),
        utc("2026-03-29T05:30:00Z")
    );
    // Autumn: Saturday 24 October 06:30 BST, then Sunday's 06:30 GMT.
    let last = Some(utc("2026-10-24T05:30:00Z"));
    assert_eq!(
        d.next(utc("2026-10-24T12:00:00Z"), last),
        utc("2026-10-25T06:30:00Z")
    );
    // A time inside the spring gap is planned at the gap's end.
    let gap = daily("01:30", chrono_tz::Europe::London);
    let last = Some(utc("2026-03-28T01:30:00Z"));
    assert_eq!(
        gap.next(utc("2026-03-28T12:00:00Z"), last),
        utc("2026-03-29T01:00:00Z")
    );
}
