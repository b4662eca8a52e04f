//! When a shop's daily automatic profile send runs: a pure function of the
//! time now, the shop's time of day and zone, and the last automatic send.
//! The scheduler (`so-sync`) runs sends by it and a shop's status
//! (`so-ops`) shows the next one by it, so both agree.
//!
//! The send's slot on a local day is the first instant at or after the
//! local time of day: a time skipped by a DST change (01:30 on the spring
//! change in London) runs at the first valid instant after the gap, and a
//! repeated one (01:30 twice in autumn) runs at its first occurrence only.
//! After downtime the send runs once (the latest slot missed), not once per
//! missed day.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A daily send's time: a time of day in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daily {
    pub at: NaiveTime,
    pub zone: Tz,
}

impl Daily {
    /// The instant of the send on local day `date`.
    pub fn slot(&self, date: NaiveDate) -> DateTime<Utc> {
        let mut local = date.and_time(self.at);
        // A DST gap is at most a few hours; minutes step to its end.
        for _ in 0..(24 * 60) {
            match self.zone.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return t.with_timezone(&Utc);
                }
                LocalResult::None => local += Duration::minutes(1),
            }
        }
        // Unreachable for real zones; UTC reading keeps the function total.
        Utc.from_utc_datetime(&date.and_time(self.at))
    }

    /// The latest slot at or before `now`.
    pub fn latest_slot(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.with_timezone(&self.zone).date_naive();
        let slot = self.slot(today);
        if slot <= now {
            slot
        } else {
            self.slot(today.pred_opt().unwrap_or(today))
        }
    }

    /// Whether the send is due at `now`, given the start of the last
    /// automatic send. With no send yet, today's slot counts once passed:
    /// a send switched on after today's time runs at once, like a
    /// catch-up, and then daily at its time.
    pub fn due(&self, now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> bool {
        match last {
            Some(last) => last < self.latest_slot(now),
            None => self.slot(now.with_timezone(&self.zone).date_naive()) <= now,
        }
    }

    /// The next instant the send runs: `now` when due, else the next slot.
    pub fn next(&self, now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
        if self.due(now, last) {
            return now;
        }
        let today = now.with_timezone(&self.zone).date_naive();
        let slot = self.slot(today);
        if slot > now {
            slot
        } else {
            self.slot(today.succ_opt().unwrap_or(today))
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
