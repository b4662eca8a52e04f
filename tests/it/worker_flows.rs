//! Signed webhook -> ingress -> RabbitMQ -> worker -> fake Ometria state.

use so_domain::ometria::RecordType;
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, fixtures};

use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 4,
        ..TestAppOptions::default()
    })
    .await
}

async fn send(app: &TestApp, topic: &str, body: &serde_json::Value) -> Webhook {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap());
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
    wh
}

fn order_id() -> String {
    ORDER_ID.to_string()
}

#[tokio::test]
async fn every_documented_sample_reaches_ometria_or_is_parked_with_a_reason() {
    let app = app(Backend::Sqlite).await;
    let samples = fixtures::samples();
    for s in &samples {
        // The shop lifecycle samples go to a shop of their own: after an
        // uninstall or a shop redact, a shop's older events are parked.
        let hook = Webhook::new(&s.topic, s.body.clone());
        let hook = if matches!(s.topic.as_str(), "app/uninstalled" | "shop/redact") {
            hook.shop("gone-shop.myshopify.com")
        } else {
            hook
        };
        let res = app.send(&hook).await;
        assert_eq!(res.status(), 200, "{}", s.topic);
    }
    app.wait_settled(samples.len()).await;
    let fake = app.ometria();
    assert!(fake.count(RecordType::Order) >= 1, "orders arrived");
    assert!(fake.count(RecordType::Contact) >= 1, "customers arrived");
    assert!(fake.count(RecordType::Product) >= 1, "products arrived");
    assert!(
        fake.push_errors().is_empty(),
        "Ometria found nothing invalid: {:?}",
        fake.push_errors()
    );
    let dead = app.take_dead_letters().await;
    let reasons: Vec<_> = dead
        .iter()
        .map(|m| m.header("x-death-reason").unwrap_or("?").to_owned())
        .collect();
    assert!(dead.is_empty(), "dead letters: {reasons:?}");
    let page = app.metrics().await;
    let parked = so_testkit::metrics::value(&page, "so_events_parked_total", &[]);
    assert_eq!(parked, 0.0, "every sample topic is handled");
    for outcome in ["redacted", "exported", "uninstalled", "shop_redacted"] {
        let n =
            so_testkit::metrics::value(&page, "so_events_processed_total", &[("outcome", outcome)]);
        assert_eq!(n, 1.0, "{outcome}");
    }
    assert_eq!(
        fake.erasure_requests().len(),
        1,
        "the redacted customer's erasure"
    );
    app.teardown().await;
}

#[tokio::test]
async fn guest_order_then_account_creation_is_one_person_in_ometria_sqlite() {
    guest_then_account(Backend::Sqlite).await;
}

#[tokio::test]
async fn guest_order_then_account_creation_is_one_person_in_ometria_postgres() {
    guest_then_account(Backend::Postgres).await;
}

async fn guest_then_account(backend: Backend) {
    {
        let app = app(backend).await;
        let email = "Jon.Snow@Example.com";
        send(
            &app,
            "orders/create",
            &payloads::order(ORDER_ID, None, email, "2026-11-20T10:00:00+00:00", "paid"),
        )
        .await;
        app.wait_settled(1).await;
        send(
            &app,
            "customers/create",
            &payloads::customer(
                CUSTOMER_ID,
                "jon.snow@example.com",
                "2026-11-20T11:00:00+00:00",
            ),
        )
        .await;
        app.wait_settled(2).await;
        let second_order = ORDER_ID + 1;
        send(
            &app,
            "orders/create",
            &payloads::order(
                second_order,
                None,
                email,
                "2026-11-20T12:00:00+00:00",
                "paid",
            ),
        )
        .await;
        app.wait_settled(3).await;

        let fake = app.ometria();
        let profiles = fake.profiles_by_email("jon.snow@example.com");
        assert_eq!(profiles.len(), 1, "{backend:?}: one profile: {profiles:?}");
        let first = fake.record(RecordType::Order, &order_id()).unwrap();
        let second = fake
            .record(RecordType::Order, &second_order.to_string())
            .unwrap();
        // The guest's later order links to the customer account.
        assert_eq!(
            second["customer"]["id"],
            CUSTOMER_ID.to_string(),
            "{backend:?}: {second:?}"
        );
        assert!(first["customer"].is_object());
        for contact in fake.records(RecordType::Contact) {
            let id = contact["id"].as_str().unwrap();
            assert!(
                !id.contains('@') && !id.contains("example"),
                "no PII in ids: {id}"
            );
        }
        app.teardown().await;
    }
}

#[tokio::test]
async fn an_account_then_a_guest_checkout_with_its_email_is_one_person() {
    let app = app(Backend::Sqlite).await;
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, "arya@example.com", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            None,
            " ARYA@example.com ",
            "2026-11-20T11:00:00+00:00",
            "paid",
        ),
    )
    .await;
    app.wait_settled(2).await;
    let fake = app.ometria();
    let order = fake.record(RecordType::Order, &order_id()).unwrap();
    assert_eq!(
        order["customer"]["id"],
        CUSTOMER_ID.to_string(),
        "{order:?}"
    );
    assert_eq!(
        fake.count(RecordType::Contact),
        1,
        "no guest listing beside the account"
    );
    app.teardown().await;
}

#[tokio::test]
async fn an_email_change_keeps_the_contact() {
    let app = app(Backend::Sqlite).await;
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, "old@example.com", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, "new@example.com", "2026-11-20T11:00:00+00:00"),
    )
    .await;
    app.wait_settled(2).await;
    let fake = app.ometria();
    let contacts = fake.records(RecordType::Contact);
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert_eq!(contacts[0]["id"], CUSTOMER_ID.to_string());
    assert_eq!(contacts[0]["customer_id"], CUSTOMER_ID.to_string());
    assert_eq!(contacts[0]["email"], "new@example.com");
    app.teardown().await;
}

#[tokio::test]
async fn partial_then_full_refund_nets_out_revenue() {
    let app = app(Backend::Sqlite).await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((CUSTOMER_ID, "a@example.com")),
            "a@example.com",
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "refunds/create",
        &payloads::refund(5001, ORDER_ID, 1001, 1, "30.00"),
    )
    .await;
    app.wait_settled(2).await;
    let order = app
        .ometria()
        .record(RecordType::Order, &order_id())
        .unwrap();
    assert_eq!(order["status"], "partial_refund", "{order:?}");
    assert_eq!(order["is_valid"], true);
    let line = order["lineitems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "IPOD-1")
        .unwrap()
        .clone();
    assert_eq!(line["quantity_refunded"], 1, "{line:?}");
    assert!(
        line["refunded"].as_f64().unwrap_or_else(|| line["refunded"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap())
            > 0.0
    );

    send(
        &app,
        "refunds/create",
        &payloads::refund(6001, ORDER_ID, 1002, 1, "70.00"),
    )
    .await;
    app.wait_settled(3).await;
    let order = app
        .ometria()
        .record(RecordType::Order, &order_id())
        .unwrap();
    assert_eq!(order["status"], "refunded", "{order:?}");
    assert_eq!(order["is_valid"], false);
    // Revenue nets out through is_valid; the order keeps its original total and day.
    let total = &order["grand_total"];
    assert!(total == 100.0 || total == "100.00", "grand_total {total:?}");
    app.teardown().await;
}

#[tokio::test]
async fn orders_updated_before_orders_create_keeps_the_newer_state() {
    let app = app(Backend::Sqlite).await;
    send(
        &app,
        "orders/updated",
        &payloads::order(
            ORDER_ID,
            None,
            "b@example.com",
            "2026-11-20T12:00:00+00:00",
            "paid",
        ),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            None,
            "b@example.com",
            "2026-11-20T10:00:00+00:00",
            "pending",
        ),
    )
    .await;
    app.wait_settled(2).await;
    let fake = app.ometria();
    let order = fake.record(RecordType::Order, &order_id()).unwrap();
    assert_eq!(
        order["status"], "paid",
        "the older create did not overwrite: {order:?}"
    );
    assert_eq!(
        fake.write_count(RecordType::Order, &order_id()),
        1,
        "the stale create was not pushed"
    );
    assert_eq!(
        app.counter("so_events_processed_total", &[("outcome", "stale")])
            .await,
        1.0
    );
    app.teardown().await;
}

#[tokio::test]
async fn the_same_webhook_delivered_three_times_changes_nothing_twice() {
    let app = app(Backend::Sqlite).await;
    let body = serde_json::to_vec(&payloads::customer(
        CUSTOMER_ID,
        "c@example.com",
        "2026-11-20T10:00:00+00:00",
    ))
    .unwrap();
    let wh = Webhook::new("customers/update", body).id("same-delivery-id");
    for _ in 0..3 {
        assert_eq!(app.send(&wh).await.status(), 200);
    }
    app.wait_settled(3).await;
    // And once more after the first was committed (Shopify retries up to 4 h later).
    assert_eq!(app.send(&wh).await.status(), 200);
    app.wait_settled(4).await;
    let fake = app.ometria();
    assert_eq!(
        fake.write_count(RecordType::Contact, &CUSTOMER_ID.to_string()),
        1
    );
    assert_eq!(
        app.counter("so_events_processed_total", &[("outcome", "duplicate")])
            .await,
        3.0
    );
    app.teardown().await;
}

#[tokio::test]
async fn an_older_consent_change_never_overrides_a_newer_one() {
    let app = app(Backend::Sqlite).await;
    send(
        &app,
        "customers_email_marketing_consent/update",
        &payloads::consent(
            CUSTOMER_ID,
            "d@example.com",
            "unsubscribed",
            "2026-11-20T12:00:00+00:00",
        ),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "customers_email_marketing_consent/update",
        &payloads::consent(
            CUSTOMER_ID,
            "d@example.com",
            "subscribed",
            "2026-11-20T09:00:00+00:00",
        ),
    )
    .await;
    app.wait_settled(2).await;
    let contact = app
        .ometria()
        .record(RecordType::Contact, &CUSTOMER_ID.to_string())
        .unwrap();
    assert_eq!(
        contact["marketing_optin"], "EXPLICITLY_OPTEDOUT",
        "{contact:?}"
    );
    assert_eq!(
        app.counter("so_events_processed_total", &[("outcome", "stale")])
            .await,
        1.0
    );
    app.teardown().await;
}

#[tokio::test]
async fn a_completed_merge_merges_the_ometria_profiles_and_later_events_follow_the_survivor() {
    let app = app(Backend::Sqlite).await;
    let (kept, gone) = (42_u64, 77_u64);
    let at = "2026-11-20T10:00:00+00:00";
    send(
        &app,
        "customers/create",
        &payloads::customer(kept, "kept@example.com", at),
    )
    .await;
    send(
        &app,
        "customers/create",
        &payloads::customer(gone, "gone@example.com", at),
    )
    .await;
    app.wait_settled(2).await;
    let fake = app.ometria();
    assert!(
        fake.record(RecordType::Contact, &gone.to_string())
            .is_some()
    );

    // Shopify's failed sample changes nothing; a completed merge is sent on.
    let failed = fixtures::samples()
        .into_iter()
        .find(|s| s.topic == "customers/merge")
        .expect("Shopify's customers/merge sample");
    let failed: serde_json::Value = serde_json::from_slice(&failed.body).unwrap();
    assert_eq!(failed["status"], "failed");
    send(&app, "customers/merge", &failed).await;
    let merge = serde_json::json!({
        "admin_graphql_api_customer_kept_id": format!("gid://shopify/Customer/{kept}"),
        "admin_graphql_api_customer_deleted_id": format!("gid://shopify/Customer/{gone}"),
        "admin_graphql_api_job_id": null,
        "status": "completed",
        "errors": []
    });
    send(&app, "customers/merge", &merge).await;
    app.wait_settled(4).await;
    let jobs = fake.merges();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0]["survivor"],
        serde_json::json!({"type": "customer_id", "value": "42"})
    );
    assert_eq!(
        jobs[0]["customers_to_merge"],
        serde_json::json!([{"type": "customer_id", "value": "77"}])
    );
    assert_eq!(jobs[0]["status"], "completed");
    assert!(
        fake.record(RecordType::Contact, &gone.to_string())
            .is_none(),
        "the merged-away listing is gone"
    );

    // An order still carrying the merged-away customer goes to the survivor.
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((gone, "gone@example.com")),
            "gone@example.com",
            at,
            "paid",
        ),
    )
    .await;
    app.wait_settled(5).await;
    let order = fake
        .record(RecordType::Order, &order_id())
        .expect("order pushed");
    assert_eq!(order["customer"]["id"], kept.to_string());
    assert!(
        fake.record(RecordType::Contact, &gone.to_string())
            .is_none()
    );
    app.teardown().await;
}
