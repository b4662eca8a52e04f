use super::*;

#[test]
fn webhook_ids_are_stable_short_and_distinct() {
    let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let a = backfill_webhook_id("shop.myshopify.com", "orders/updated", "1", Some(t));
    assert_eq!(
        a,
        backfill_webhook_id(" Shop.myshopify.com ", "orders/updated", "1", Some(t))
    );
    assert!(a.starts_with("bf-") && a.len() == 67, "{a}");
    assert!(a.bytes().all(|b| b.is_ascii_graphic()));
    // The length prefixes keep shifted boundaries apart.
    assert_ne!(
        backfill_webhook_id("s", "ab", "c", None),
        backfill_webhook_id("s", "a", "bc", None)
    );
}
