use std::time::Duration;

use super::*;

#[test]
fn page_marks_round_trip_through_the_checkpoint() {
    for mark in [
        PageMark::START,
        PageMark {
            start_index: 500,
            cursor: Some("eyJsYXN0X2lkIjo1MDB9:x".to_owned()),
        },
    ] {
        assert_eq!(PageMark::parse(&mark.to_text()), Some(mark));
    }
    assert_eq!(PageMark::parse("gid://shopify/BulkOperation/1"), None);
}

#[test]
fn options_make_the_search_filter_and_the_resume_signature() {
    let since = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let o = Options {
        entities: vec![Entity::Customers],
        since: Some(since),
        only: Only::Subscribers,
        checkpoint_every: 1,
        poll_interval: Duration::from_millis(1),
    };
    assert_eq!(
        o.filter(Entity::Customers).as_deref(),
        Some("updated_at:>='2026-01-01T00:00:00Z' AND email_marketing_state:SUBSCRIBED")
    );
    assert_eq!(
        o.filter(Entity::Orders).as_deref(),
        Some("updated_at:>='2026-01-01T00:00:00Z'")
    );
    assert_ne!(
        o.signature(Entity::Customers),
        Options {
            only: Only::All,
            ..o
        }
        .signature(Entity::Customers)
    );
    assert_eq!(Entity::parse(" Orders "), Some(Entity::Orders));
    assert_eq!(Entity::parse("refunds"), None);
}

#[test]
fn completion_times_show_in_the_shops_zone() {
    let at = DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        in_time_zone(at, Some("Europe/London")),
        "2026-07-01 13:00:00 BST (Europe/London)"
    );
    assert_eq!(
        in_time_zone(at, Some("Nowhere/City")),
        "2026-07-01 12:00:00 (UTC)"
    );
}
