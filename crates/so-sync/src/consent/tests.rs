use chrono::TimeZone;

use super::*;

fn ns(raw: &str) -> Namespace {
    Namespace::parse(raw).unwrap()
}

#[test]
fn customer_ids_need_this_shop_s_namespace_and_digits() {
    let uk = ns("uk:");
    assert_eq!(shopify_customer_id(Some("uk:42"), &uk), Ok(42));
    assert_eq!(
        shopify_customer_id(Some("us:42"), &uk),
        Err(Reason::OtherStoreNamespace)
    );
    assert_eq!(
        shopify_customer_id(Some("42"), &uk),
        Err(Reason::OtherStoreNamespace)
    );
    for bad in [None, Some(""), Some("uk:"), Some("uk:g-1f"), Some("uk:0")] {
        assert_eq!(
            shopify_customer_id(bad, &uk),
            Err(Reason::NoShopifyCustomerId),
            "{bad:?}"
        );
    }
    let blank = Namespace::default();
    assert_eq!(shopify_customer_id(Some(" 7 "), &blank), Ok(7));
    assert_eq!(
        shopify_customer_id(Some("uk:7"), &blank),
        Err(Reason::OtherStoreNamespace)
    );
    assert_eq!(
        shopify_customer_id(Some("99999999999999999999999"), &blank),
        Err(Reason::NoShopifyCustomerId)
    );
}

fn unsub(profile: Option<&str>, kind: &str, second: u32) -> Unsubscribe {
    Unsubscribe {
        email_address: None,
        profile_id: profile.map(str::to_owned),
        reason: None,
        timestamp: Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, second).unwrap(),
        kind: kind.to_owned(),
    }
}

#[test]
fn the_plan_sorts_skips_sms_and_keeps_each_profile_s_latest() {
    let planned = plan(vec![
        unsub(Some("a"), "link_unsubscribe", 30),
        unsub(Some("a"), "app", 10),
        unsub(Some("b"), "stopword_unsubscribe_TF", 20),
        unsub(Some("b"), "preferences_centre", 5),
        unsub(None, "app", 1),
    ]);
    let got: Vec<_> = planned
        .iter()
        .map(|(u, r)| (u.timestamp.format("%S").to_string(), *r))
        .collect();
    assert_eq!(
        got,
        [
            ("01".to_owned(), None),
            ("05".to_owned(), None),
            ("10".to_owned(), Some(Reason::DuplicateInWindow)),
            ("20".to_owned(), Some(Reason::SmsUnsubscribe)),
            ("30".to_owned(), None),
        ]
    );
}

#[test]
fn reasons_are_bounded_and_round_trip() {
    assert_eq!(decision_reasons().len(), Reason::ALL.len());
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
        assert!(decision_reasons().contains(&r.as_str()));
    }
    assert_eq!(decision_reasons()[0], "sent");
    assert_eq!(Reason::Sent.decision(), "sent");
    assert_eq!(Reason::ShopifyRefused.decision(), "skipped");
}
