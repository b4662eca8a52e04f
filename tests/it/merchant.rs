//! Merchant-configurable sync, end to end: field mappings, behavioural
//! attributes, lists, the subscribers-only filter, abandoned checkouts and
//! several shops with their own Ometria accounts.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

const SHOP: &str = "test-shop.myshopify.com";

async fn app_with(toml: &str) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Sqlite,
        partitions: 2,
        config_toml: Some(toml.to_owned()),
        ..TestAppOptions::default()
    })
    .await
}

async fn send_to(app: &TestApp, shop: &str, topic: &str, body: &Value) {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap()).shop(shop);
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

async fn send(app: &TestApp, topic: &str, body: &Value) {
    send_to(app, SHOP, topic, body).await;
}

/// Waits for a record of the fake `fake` to satisfy `ok`.
async fn record_where(
    fake: &FakeOmetria,
    t: RecordType,
    id: &str,
    ok: impl Fn(&serde_json::Map<String, Value>) -> bool,
) -> serde_json::Map<String, Value> {
    eventually(Duration::from_secs(30), || async {
        match fake.record(t, id) {
            Some(r) if ok(&r) => Ok(r),
            other => Err(format!("{} {id}: {other:?}", t.as_str())),
        }
    })
    .await
}

#[tokio::test]
async fn each_kind_of_field_mapping_reaches_ometria() {
    let app = app_with(&format!(
        r#"
[shops."{SHOP}".mappings.contact]
loyalty_tier = "metafields.custom.loyalty_tier"
points = "metafields.loyalty.points"
home_city = "default_address.city"
customer_note = "note"
[shops."{SHOP}".mappings.order]
gift_message = "note_attributes.gift_message"
order_tags = "tags"
channel_source = "source_name"
delivery_city = "shipping_address.city"
codes = "discount_codes"
[shops."{SHOP}".mappings.product]
brand = "vendor"
category = "product_type"
labels = "tags"
"#
    ))
    .await;
    let mut customer =
        payloads::customer(CUSTOMER_ID, "jon@example.com", "2026-11-20T10:00:00+00:00");
    customer["note"] = json!("prefers email");
    customer["default_address"] = json!({"city": "Winterfell", "country_code": "GB"});
    customer["metafields"] = json!([
        {"namespace": "custom", "key": "loyalty_tier", "value": "gold", "type": "single_line_text_field"},
        {"namespace": "loyalty", "key": "points", "value": "1250", "type": "number_integer"}
    ]);
    send(&app, "customers/update", &customer).await;
    let mut order = payloads::order(
        ORDER_ID,
        Some((CUSTOMER_ID, "jon@example.com")),
        "jon@example.com",
        "2026-11-20T10:00:00+00:00",
        "paid",
    );
    order["note_attributes"] = json!([{"name": "gift_message", "value": "Happy birthday"}]);
    order["tags"] = json!("gift, vip");
    order["source_name"] = json!("web");
    order["shipping_address"] = json!({"city": "Castle Black", "country_code": "GB"});
    order["discount_codes"] = json!([{"code": "WINTER", "amount": "5.00", "type": "fixed_amount"}]);
    send(&app, "orders/create", &order).await;
    let product = json!({
        "id": 632_910_392, "title": "iPod", "handle": "ipod", "vendor": "Apple",
        "product_type": "Music players", "status": "active", "tags": "audio, portable",
        "updated_at": "2026-11-20T10:00:00+00:00",
        "variants": [{"id": 808_950_810, "sku": "IPOD-1", "price": "30.00", "title": "Pink"}]
    });
    send(&app, "products/update", &product).await;

    let fake = app.ometria();
    let c = record_where(fake, RecordType::Contact, &CUSTOMER_ID.to_string(), |r| {
        r.get("properties")
            .is_some_and(|p| p.get("loyalty_tier").is_some())
    })
    .await;
    let p = &c["properties"];
    assert_eq!(p["loyalty_tier"], "gold");
    assert_eq!(p["points"], 1250);
    assert_eq!(p["home_city"], "Winterfell");
    assert_eq!(p["customer_note"], "prefers email");
    let o = record_where(fake, RecordType::Order, &ORDER_ID.to_string(), |r| {
        r.get("properties")
            .is_some_and(|p| p.get("gift_message").is_some())
    })
    .await;
    let p = &o["properties"];
    assert_eq!(p["gift_message"], "Happy birthday");
    assert_eq!(p["order_tags"], json!(["gift", "vip"]));
    assert_eq!(p["channel_source"], "web");
    assert_eq!(p["delivery_city"], "Castle Black");
    assert_eq!(p["codes"], json!(["WINTER"]));
    let pr = record_where(fake, RecordType::Product, "632910392", |r| {
        r.get("properties")
            .is_some_and(|p| p.get("brand").is_some())
    })
    .await;
    assert_eq!(pr["properties"]["brand"], "Apple");
    assert_eq!(pr["properties"]["category"], "Music players");
    assert_eq!(pr["properties"]["labels"], json!(["audio", "portable"]));
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn behavioural_attributes_follow_orders_a_partial_refund_and_a_cancellation() {
    let app = app_with(&format!(
        "[shops.\"{SHOP}\"]\nbehaviour = {{ last_order_quantity = false }}\n"
    ))
    .await;
    let buyer = Some((CUSTOMER_ID, "jon@example.com"));
    let order = |id: u64, day: u32, status: &str| {
        let mut o = payloads::order(
            id,
            buyer,
            "jon@example.com",
            &format!("2026-11-{day:02}T10:00:00+00:00"),
            status,
        );
        o["created_at"] = json!(format!("2026-11-{day:02}T09:00:00+00:00"));
        o["processed_at"] = json!(format!("2026-11-{day:02}T09:00:00+00:00"));
        o
    };
    // Three orders of 100.00 each.
    send(&app, "orders/create", &order(ORDER_ID, 1, "paid")).await;
    send(&app, "orders/create", &order(ORDER_ID + 1, 2, "paid")).await;
    send(&app, "orders/create", &order(ORDER_ID + 2, 3, "paid")).await;
    let fake = app.ometria();
    let id = CUSTOMER_ID.to_string();
    let props = |want: u64| {
        move |r: &serde_json::Map<String, Value>| {
            r.get("properties")
                .and_then(|p| p.get("shopify_orders_count"))
                == Some(&json!(want))
        }
    };
    let c = record_where(fake, RecordType::Contact, &id, props(3)).await;
    assert_eq!(c["properties"]["shopify_total_spent"], json!(300.0));
    assert_eq!(c["properties"]["shopify_average_order_value"], json!(100.0));
    assert_eq!(
        c["properties"]["shopify_first_order_at"],
        "2026-11-01T09:00:00+00:00"
    );
    assert_eq!(
        c["properties"]["shopify_last_order_at"],
        "2026-11-03T09:00:00+00:00"
    );
    assert_eq!(c["properties"]["shopify_last_order_total"], json!(100.0));
    assert_eq!(c["properties"]["shopify_currency"], "GBP");
    assert!(
        c["properties"].get("shopify_last_order_quantity").is_none(),
        "switched off for this shop"
    );
    // A partial refund of 40.00 on the last order.
    send(
        &app,
        "refunds/create",
        &payloads::refund(9_001, ORDER_ID + 2, 1001, 1, "40.00"),
    )
    .await;
    let c = record_where(fake, RecordType::Contact, &id, |r| {
        r["properties"].get("shopify_total_spent") == Some(&json!(260.0))
    })
    .await;
    assert_eq!(c["properties"]["shopify_last_order_total"], json!(60.0));
    assert_eq!(c["properties"]["shopify_orders_count"], 3);
    // The first order is cancelled: it no longer counts.
    let mut cancelled = order(ORDER_ID, 1, "voided");
    cancelled["updated_at"] = json!("2026-11-05T10:00:00+00:00");
    cancelled["cancelled_at"] = json!("2026-11-05T10:00:00+00:00");
    send(&app, "orders/cancelled", &cancelled).await;
    let c = record_where(fake, RecordType::Contact, &id, props(2)).await;
    assert_eq!(c["properties"]["shopify_total_spent"], json!(160.0));
    assert_eq!(c["properties"]["shopify_average_order_value"], json!(80.0));
    assert_eq!(
        c["properties"]["shopify_first_order_at"],
        "2026-11-02T09:00:00+00:00"
    );
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn shopifys_purchasing_summary_owns_count_and_total_once_it_arrives() {
    let app = app_with(&format!("[shops.\"{SHOP}\"]\n")).await;
    let summary = json!({
        "customerId": format!("gid://shopify/Customer/{CUSTOMER_ID}"),
        "numberOfOrders": 10,
        "amountSpent": {"amount": "500.00", "currencyCode": "GBP"},
        "lastOrderId": format!("gid://shopify/Order/{ORDER_ID}"),
        "occurredAt": "2026-11-20T09:00:00.000Z"
    });
    send(&app, "customers/purchasing_summary", &summary).await;
    let fake = app.ometria();
    let id = CUSTOMER_ID.to_string();
    record_where(fake, RecordType::Contact, &id, |r| {
        r.get("properties")
            .and_then(|p| p.get("shopify_average_order_value"))
            == Some(&json!(50.0))
    })
    .await;
    // An order the service sees: the dates and last order come from it, the
    // count and total stay Shopify's (which knows the earlier nine).
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((CUSTOMER_ID, "jon@example.com")),
            "jon@example.com",
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    let c = record_where(fake, RecordType::Contact, &id, |r| {
        r["properties"].get("shopify_last_order_total").is_some()
    })
    .await;
    let p = &c["properties"];
    assert_eq!(p["shopify_orders_count"], 10);
    assert_eq!(p["shopify_total_spent"], json!(500.0));
    assert_eq!(p["shopify_average_order_value"], json!(50.0));
    assert_eq!(p["shopify_last_order_total"], json!(100.0));
    app.teardown().await;
}

fn checkout(token: &str, customer: u64, email: &str, updated_at: &str, completed: bool) -> Value {
    json!({
        "token": token,
        "cart_token": format!("cart-{token}"),
        "email": email,
        "created_at": "2026-11-20T10:00:00+00:00",
        "updated_at": updated_at,
        "completed_at": if completed { json!(updated_at) } else { Value::Null },
        "abandoned_checkout_url": format!("https://{SHOP}/1/checkouts/ac/{token}/recover?key=k"),
        "currency": "GBP",
        "total_price": "60.00",
        "customer": {"id": customer, "email": email, "first_name": "Jon"},
        "line_items": [{"product_id": 632_910_392, "variant_id": 808_950_810, "sku": "IPOD-1", "quantity": 2, "price": "30.00"}]
    })
}

#[tokio::test]
async fn an_abandoned_checkout_fires_once_after_the_delay_and_never_when_completed() {
    // One second: the delay queue is a real broker queue with that TTL.
    let app = app_with(&format!(
        "[shops.\"{SHOP}\"]\nnamespace = \"uk:\"\nabandoned_checkouts = {{ enabled = true, delay_secs = 1, event_type = \"checkout_left\" }}\n"
    ))
    .await;
    let (a, b, c) = (CUSTOMER_ID, CUSTOMER_ID + 1, CUSTOMER_ID + 2);
    // A: abandoned. Updated once, so only the later version counts.
    send(
        &app,
        "checkouts/create",
        &checkout(
            "tok-a",
            a,
            "a@example.com",
            "2026-11-20T10:00:00+00:00",
            false,
        ),
    )
    .await;
    send(
        &app,
        "checkouts/update",
        &checkout(
            "tok-a",
            a,
            "a@example.com",
            "2026-11-20T10:05:00+00:00",
            false,
        ),
    )
    .await;
    // B: completes (completed_at set) before the delay.
    send(
        &app,
        "checkouts/create",
        &checkout(
            "tok-b",
            b,
            "b@example.com",
            "2026-11-20T10:00:00+00:00",
            false,
        ),
    )
    .await;
    send(
        &app,
        "checkouts/update",
        &checkout(
            "tok-b",
            b,
            "b@example.com",
            "2026-11-20T10:01:00+00:00",
            true,
        ),
    )
    .await;
    // C: an order arrives carrying its checkout token.
    send(
        &app,
        "checkouts/create",
        &checkout(
            "tok-c",
            c,
            "c@example.com",
            "2026-11-20T10:00:00+00:00",
            false,
        ),
    )
    .await;
    let mut order = payloads::order(
        ORDER_ID,
        Some((c, "c@example.com")),
        "c@example.com",
        "2026-11-20T10:02:00+00:00",
        "paid",
    );
    order["checkout_token"] = json!("tok-c");
    send(&app, "orders/create", &order).await;

    let fake = app.ometria();
    let event = record_where(fake, RecordType::CustomEvent, "uk:checkout_tok-a", |_| true).await;
    assert_eq!(event["event_type"], "checkout_left");
    assert_eq!(event["identity_account_id"], format!("uk:{a}"));
    assert_eq!(event["identity_email"], "a@example.com");
    assert_eq!(event["timestamp"], "2026-11-20T10:05:00+00:00");
    let p = &event["properties"];
    assert_eq!(
        p["checkout_url"],
        format!("https://{SHOP}/1/checkouts/ac/tok-a/recover?key=k")
    );
    assert_eq!(p["total"], json!(60.0));
    assert_eq!(p["currency"], "GBP");
    assert_eq!(p["quantity"], 2);
    assert_eq!(p["product_id"], json!(["uk:632910392"]));
    assert_eq!(p["variant_id"], json!(["uk:632910392_808950810"]));
    // Every scheduled check has come back and been decided: A's first
    // version (updated since), A's second (sent), B's two and C's one.
    app.wait_outcome("checkout_updated", 1.0).await;
    app.wait_outcome("checkout_completed", 2.0).await;
    assert_eq!(
        fake.count(RecordType::CustomEvent),
        1,
        "only A was abandoned"
    );
    assert_eq!(
        fake.write_count(RecordType::CustomEvent, "uk:checkout_tok-a"),
        1,
        "once"
    );
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn subscribers_only_holds_a_contact_until_it_subscribes_then_sends_its_history_and_lists_follow_consent()
 {
    let app = app_with(&format!(
        "[shops.\"{SHOP}\"]\nprofiles = \"subscribers\"\nlists = {{ every_contact = [7], subscribers = [42] }}\n"
    ))
    .await;
    let fake = app.ometria();
    let (held, other) = (CUSTOMER_ID, CUSTOMER_ID + 1);
    send(
        &app,
        "customers/create",
        &payloads::customer(held, "held@example.com", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((held, "held@example.com")),
            "held@example.com",
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    // A second person, not subscribed: their consent says so explicitly.
    send(
        &app,
        "customers_email_marketing_consent/update",
        &payloads::consent(
            other,
            "other@example.com",
            "not_subscribed",
            "2026-11-20T10:00:00+00:00",
        ),
    )
    .await;
    app.wait_outcome("held_not_subscribed", 3.0).await;
    assert_eq!(
        fake.count(RecordType::Contact),
        0,
        "nothing of non-subscribers"
    );
    assert_eq!(fake.count(RecordType::Order), 0);

    // The first one subscribes: contact, its order and its list arrive.
    send(
        &app,
        "customers_email_marketing_consent/update",
        &payloads::consent(
            held,
            "held@example.com",
            "subscribed",
            "2026-11-21T10:00:00+00:00",
        ),
    )
    .await;
    let id = held.to_string();
    let c = record_where(fake, RecordType::Contact, &id, |r| {
        r.get("marketing_optin").is_some()
    })
    .await;
    assert_eq!(c["marketing_optin"], "EXPLICITLY_OPTEDIN");
    assert_eq!(
        c["email"], "held@example.com",
        "the held customer record came along"
    );
    assert_eq!(c["firstname"], "Jon");
    record_where(fake, RecordType::Order, &ORDER_ID.to_string(), |_| true).await;
    let mut lists = fake.lists_of(&id);
    lists.sort();
    assert_eq!(lists, ["42", "7"]);
    assert!(
        fake.record(RecordType::Contact, &other.to_string())
            .is_none()
    );

    // Unsubscribing reaches Ometria, and the contact leaves the list.
    send(
        &app,
        "customers_email_marketing_consent/update",
        &payloads::consent(
            held,
            "held@example.com",
            "unsubscribed",
            "2026-11-22T10:00:00+00:00",
        ),
    )
    .await;
    record_where(fake, RecordType::Contact, &id, |r| {
        r.get("marketing_optin") == Some(&json!("EXPLICITLY_OPTEDOUT"))
    })
    .await;
    assert_eq!(fake.lists_of(&id), ["7"]);
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn one_shops_rate_limited_ometria_does_not_slow_another_shop() {
    let slow = FakeOmetria::start(FakeConfig {
        api_key: "uk-key-0123456789".to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    // uk's account answers 429 until the test lifts it.
    slow.rate_limit_next(u32::MAX);
    let fast = FakeOmetria::start(FakeConfig {
        api_key: "de-key-9876543210".to_owned(),
        ..FakeConfig::unlimited()
    })
    .await;
    let (uk, de) = ("uk-store.myshopify.com", "de-store.myshopify.com");
    let app = app_with(&format!(
        r#"
[shops."{uk}"]
namespace = "uk:"
[shops."{uk}".ometria]
api_url = "{}"
api_key = "uk-key-0123456789"
requests_per_second = 20
[shops."{de}"]
namespace = "de:"
[shops."{de}".ometria]
api_url = "{}"
api_key = "de-key-9876543210"
requests_per_second = 50
"#,
        slow.url(),
        fast.url()
    ))
    .await;
    let n = 60_u64;
    for i in 0..n {
        let body = payloads::customer(
            CUSTOMER_ID + i,
            &format!("p{i}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        send_to(&app, uk, "customers/update", &body).await;
        send_to(&app, de, "customers/update", &body).await;
    }
    eventually(Duration::from_secs(30), || async {
        let have = fast.count(RecordType::Contact) as u64;
        if have == n {
            Ok(())
        } else {
            Err(format!("{have} of {n} de contacts"))
        }
    })
    .await;
    // Every de record carries its namespace and went to its own account.
    for r in fast.records(RecordType::Contact) {
        assert!(r["id"].as_str().unwrap().starts_with("de:"), "{r:?}");
    }
    assert!(
        slow.rate_limited_responses() > 0,
        "uk's Ometria was limiting"
    );
    assert_eq!(
        slow.count(RecordType::Contact),
        0,
        "uk was still rate limited when de had finished"
    );
    // Nothing of uk is lost: it arrives once its Ometria admits it.
    slow.clear_faults();
    eventually(Duration::from_secs(60), || async {
        let have = slow.count(RecordType::Contact) as u64;
        if have == n {
            Ok(())
        } else {
            Err(format!("{have} of {n} uk contacts"))
        }
    })
    .await;
    assert!(
        slow.records(RecordType::Contact)
            .iter()
            .all(|r| r["id"].as_str().unwrap().starts_with("uk:"))
    );
    let page = app.metrics().await;
    assert!(
        so_testkit::metrics::value(
            &page,
            "so_events_retried_total",
            &[("reason", "ometria_rate_limited")]
        ) > 0.0,
        "uk's events waited on the broker, not in the batch"
    );
    app.teardown().await;
}
