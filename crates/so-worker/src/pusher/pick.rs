//! Two decisions of the loop: which record type the next request carries,
//! and how long a granted slot waits for its request to fill.

use std::time::Duration;

use so_domain::ometria::RecordType;
use tokio::time::Instant;

/// How long a granted slot waits for more records when its request is not
/// full yet and producers are still preparing some, while the budget is
/// not the limit: without a backlog it is the most a record waits for
/// company.
pub(super) const FILL_WINDOW: Duration = Duration::from_millis(50);

/// How long a record may wait while fuller requests of other types go
/// first. Without a bound a type that never fills a request (the few
/// minimal products an order needs ahead of it) waits for as long as the
/// others keep coming, and so does everything behind it.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(1);

/// One record type's queue, as [`pick`] sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    pub(super) record_type: RecordType,
    pub(super) len: usize,
    /// Submission order of its oldest record (smaller is older).
    pub(super) oldest: u64,
    pub(super) age: Duration,
}

/// Which type the next request carries: the one with the most records
/// waiting (the fullest request), unless a record of some type has waited
/// `max_wait` or more; then the type of the oldest record.
pub(super) fn pick(heads: &[Head], max_wait: Duration) -> Option<RecordType> {
    let oldest = heads.iter().min_by_key(|h| h.oldest)?;
    if oldest.age >= max_wait {
        return Some(oldest.record_type);
    }
    heads
        .iter()
        .max_by_key(|h| (h.len, std::cmp::Reverse(h.oldest)))
        .map(|h| h.record_type)
}

/// When a granted slot's request leaves if no type has a full request
/// waiting yet (a full one leaves at once). `preparing`: producers that
/// were preparing records when the slot was granted.
/// - None is preparing: at once. Nothing is coming, so a lone event is
///   pushed without waiting for company.
/// - Otherwise once they have handed over, but within four fifths of the
///   slot interval: the next slot is booked already, so holding this one
///   costs no budget, and its request leaves full instead of taking part
///   of what arrives a moment later. At least [`FILL_WINDOW`], the short
///   wait of before, which is also all it waits when the interval is tiny
///   (no budget to speak of).
///
/// The loop ends the wait early when a type fills or the last of those
/// producers hands over.
pub(super) fn fill_until(granted: Instant, preparing: usize, interval: Duration) -> Instant {
    if preparing == 0 {
        granted
    } else {
        granted + (interval * 4 / 5).max(FILL_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use so_domain::ometria::RecordType;
    use tokio::time::Instant;

    use super::{FILL_WINDOW, Head, fill_until, pick};

    const QUARTER: Duration = Duration::from_millis(250);

    #[test]
    fn a_lone_event_is_pushed_without_waiting_for_company() {
        let now = Instant::now();
        assert_eq!(fill_until(now, 0, QUARTER), now);
    }

    #[test]
    fn a_slot_waits_for_the_producers_preparing_but_never_into_the_next_slot() {
        let now = Instant::now();
        let until = fill_until(now, 2, QUARTER);
        assert_eq!(until, now + Duration::from_millis(200));
        assert!(until < now + QUARTER, "the next slot is not delayed");
        assert_eq!(
            fill_until(now, 2, Duration::from_micros(100)),
            now + FILL_WINDOW,
            "a tiny interval (no budget to speak of) keeps the short window"
        );
    }

    fn head(record_type: RecordType, len: usize, oldest: u64, age_ms: u64) -> Head {
        Head {
            record_type,
            len,
            oldest,
            age: Duration::from_millis(age_ms),
        }
    }

    #[test]
    fn the_fullest_type_goes_first_while_nothing_waited_long() {
        let heads = [
            head(RecordType::Product, 4, 1, 900),
            head(RecordType::Order, 100, 2, 800),
            head(RecordType::Contact, 60, 3, 700),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Order)
        );
    }

    #[test]
    fn a_type_that_never_fills_a_request_goes_once_it_waited_long_enough() {
        let heads = [
            head(RecordType::Order, 100, 7, 300),
            head(RecordType::Product, 4, 3, 1_000),
            head(RecordType::Contact, 100, 5, 600),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Product)
        );
    }

    #[test]
    fn equally_full_types_go_oldest_first() {
        let heads = [
            head(RecordType::Contact, 100, 9, 200),
            head(RecordType::Order, 100, 4, 400),
        ];
        assert_eq!(
            pick(&heads, Duration::from_secs(1)),
            Some(RecordType::Order)
        );
        assert_eq!(pick(&[], Duration::from_secs(1)), None);
    }
}
