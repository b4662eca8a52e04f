//! Customers mapping tests.

use super::*;

#[test]
fn a_2025_customer_update_never_clears_consent_or_tags() {
    let c: Customer = parse(
        &json!({"id": BIG, "email": "a@b.co", "first_name": "A", "state": "enabled",
                                    "created_at": "2025-02-01T00:00:00Z"})
        .to_string(),
    );
    let records = map_customer(&ctx(""), &customer_ref("", BIG), &c, LegacyParts::ALL).unwrap();
    let body = &records[0].body;
    assert_eq!(
        (body["id"].as_str(), body["customer_id"].as_str()),
        (Some("820982911946154508"), Some("820982911946154508"))
    );
    assert_eq!(body["@collection"], "shopify_customers");
    assert_eq!(body["timestamp_acquired"], "2025-02-01T00:00:00Z");
    for absent in ["marketing_optin", "channels", "lastname", "phone_number"] {
        assert!(body.get(absent).is_none(), "{absent} must be omitted");
    }
    assert_eq!(body["properties"], json!({"shopify_state": "enabled"}));
}

#[test]
fn a_legacy_customer_update_maps_consent_and_tags_unless_told_to_skip() {
    let raw = json!({"id": 1, "tags": "VIP, b", "email_marketing_consent":
        {"state": "subscribed", "consent_updated_at": "2024-05-05T05:00:00-04:00"}})
    .to_string();
    let c: Customer = parse(&raw);
    let body = map_customer(&ctx(""), &customer_ref("", 1), &c, LegacyParts::ALL)
        .unwrap()
        .remove(0)
        .body;
    assert_eq!(body["marketing_optin"], "EXPLICITLY_OPTEDIN");
    assert_eq!(body["timestamp_subscribed"], "2024-05-05T05:00:00-04:00");
    assert_eq!(body["properties"]["shopify_tags"], json!(["b", "VIP"]));
    let skip = LegacyParts {
        email_consent: Part::Skip,
        tags: Part::Skip,
        ..LegacyParts::ALL
    };
    let body = map_customer(&ctx(""), &customer_ref("", 1), &c, skip)
        .unwrap()
        .remove(0)
        .body;
    assert!(body.get("marketing_optin").is_none() && body.get("properties").is_none());
}

#[test]
fn consent_states_map_to_explicit_values_only_when_explicit() {
    let update = |state: &str, at: Value| -> EmailConsentUpdate {
        parse(
            &json!({"customer_id": 1, "email_address": "a@b.co",
                      "email_marketing_consent": {"state": state, "consent_updated_at": at}})
            .to_string(),
        )
    };
    let out = map_email_consent(
        &ctx(""),
        &customer_ref("", 1),
        &update("unsubscribed", json!("2026-01-01T00:00:00Z")),
    )
    .unwrap();
    assert_eq!(out[0].body["marketing_optin"], "EXPLICITLY_OPTEDOUT");
    assert_eq!(
        out[0].body["timestamp_unsubscribed"],
        "2026-01-01T00:00:00Z"
    );
    let out = map_email_consent(
        &ctx(""),
        &customer_ref("", 1),
        &update("subscribed", Value::Null),
    )
    .unwrap();
    assert_eq!(
        out[0].body["timestamp_subscribed"], "2026-01-02T03:04:05Z",
        "falls back to event time"
    );
    for state in ["not_subscribed", "pending", "invalid", "redacted"] {
        let out =
            map_email_consent(&ctx(""), &customer_ref("", 1), &update(state, Value::Null)).unwrap();
        assert_eq!(out[0].body["marketing_optin"], "NOT_SPECIFIED", "{state}");
    }
}

#[test]
fn sms_consent_sets_the_sms_channel() {
    let u: SmsConsentUpdate = parse(
        r#"{"id":1,"phone":"+33612345678","sms_marketing_consent":
        {"state":"subscribed","consent_updated_at":"2026-01-01T00:00:00Z"}}"#,
    );
    let body = map_sms_consent(&ctx(""), &customer_ref("", 1), &u)
        .unwrap()
        .remove(0)
        .body;
    assert_eq!(body["phone_number"], "+33612345678");
    assert_eq!(
        body["channels"],
        json!({"sms": {"allow_marketing": true, "dt_updated_marketing": "2026-01-01T00:00:00Z"}})
    );
}

#[test]
fn tags_and_purchasing_summary_go_to_properties() {
    let tags = apply_tag_change(&TagSet::default(), &["VIP".to_owned()], &[]);
    let body = map_tags(&ctx(""), &customer_ref("", 1), &tags)
        .unwrap()
        .remove(0)
        .body;
    assert_eq!(body["properties"], json!({"shopify_tags": ["VIP"]}));
    let s: crate::shopify::PurchasingSummary = parse(&format!(
        r#"{{"customerId":"gid://shopify/Customer/1","numberOfOrders":"3",
            "amountSpent":{{"amount":"12.30","currencyCode":"EUR"}},"lastOrderId":"gid://shopify/Order/{BIG}"}}"#
    ));
    let body = map_purchasing_summary(&ctx("uk:"), &customer_ref("uk:", 1), &s)
        .unwrap()
        .remove(0)
        .body;
    assert_eq!(
        body["properties"],
        json!({"shopify_orders_count": 3, "shopify_total_spent": 12.3,
        "shopify_total_spent_currency": "EUR", "shopify_last_order_id": format!("uk:{BIG}")})
    );
}

#[test]
fn consent_history_decides_force_and_not_specified() {
    let update = |state: &str, at: Value| -> EmailConsentUpdate {
        parse(
            &json!({"customer_id": 1, "email_address": "a@b.co",
                      "email_marketing_consent": {"state": state, "consent_updated_at": at}})
            .to_string(),
        )
    };
    let unsubscribed_in_ometria: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let after = ConsentHistory {
        set_before: true,
        forced_before: false,
        ometria_unsubscribed_at: Some(unsubscribed_in_ometria),
    };
    let settle = |u: &EmailConsentUpdate, h: &ConsentHistory| {
        let mut out = map_email_consent(&ctx(""), &customer_ref("", 1), u).unwrap();
        let effect = settle_email_consent(&mut out, u.email_marketing_consent.as_ref().unwrap(), h);
        (out.remove(0).body, effect)
    };
    // An explicit opt-in newer than the Ometria unsubscribe is forced.
    let (body, effect) = settle(&update("subscribed", json!("2026-03-02T00:00:00Z")), &after);
    assert_eq!(body["@force_optin"], true);
    assert_eq!(body["marketing_optin"], "EXPLICITLY_OPTEDIN");
    assert_eq!(effect, ConsentEffect::SetExplicitly { forced: true });
    // Older than it, without a time, or with no unsubscribe known: not.
    for (u, h) in [
        (update("subscribed", json!("2026-02-28T00:00:00Z")), after),
        (update("subscribed", Value::Null), after),
        (
            update("subscribed", json!("2026-03-02T00:00:00Z")),
            ConsentHistory::default(),
        ),
        (update("unsubscribed", json!("2026-03-02T00:00:00Z")), after),
    ] {
        let (body, _) = settle(&u, &h);
        assert!(!body.contains_key("@force_optin"), "{body:?}");
    }
    // After a forced value every explicit one is forced (only a forced
    // update overrides a forced one), a non-explicit one still is not.
    let forced = ConsentHistory {
        forced_before: true,
        ..after
    };
    let (body, effect) = settle(
        &update("unsubscribed", json!("2026-03-03T00:00:00Z")),
        &forced,
    );
    assert_eq!(body["@force_optin"], true);
    assert_eq!(effect, ConsentEffect::SetExplicitly { forced: true });
    let (body, _) = settle(&update("pending", json!("2026-03-03T00:00:00Z")), &forced);
    assert!(!body.contains_key("@force_optin"));
    // A non-explicit state never forces; over a contact never set
    // explicitly it is not sent at all, over our own value it is.
    for state in ["not_subscribed", "pending", "invalid"] {
        let u = update(state, json!("2026-03-02T00:00:00Z"));
        let (body, effect) = settle(&u, &after);
        assert!(!body.contains_key("@force_optin"));
        assert_eq!(body["marketing_optin"], "NOT_SPECIFIED");
        assert_eq!(effect, ConsentEffect::Unchanged);
        let (body, effect) = settle(&u, &ConsentHistory::default());
        assert!(!body.contains_key("marketing_optin"), "{state}: {body:?}");
        assert_eq!(effect, ConsentEffect::NotSpecifiedLeftOut);
        assert_eq!(body["email"], "a@b.co");
    }
}
