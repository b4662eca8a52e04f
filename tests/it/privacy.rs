//! Privacy topics end to end: redaction erases here and in Ometria and
//! keeps the person out; a data request exports what is held; shop/redact
//! forgets the shop; app/uninstalled parks the shop's events until it is
//! back.

use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook, eventually};

use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

const SHOP: &str = "test-shop.myshopify.com";
const ADMIN_TOKEN: &str = "admin-token-0123456789";

async fn app(env: Vec<(String, String)>) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Sqlite,
        partitions: 2,
        env,
        ..TestAppOptions::default()
    })
    .await
}

async fn send(app: &TestApp, topic: &str, body: &Value) {
    send_at(app, topic, body, "2026-11-22T10:00:00.000Z").await;
}

async fn send_at(app: &TestApp, topic: &str, body: &Value, triggered_at: &str) {
    let mut wh = Webhook::new(topic, serde_json::to_vec(body).unwrap());
    wh.triggered_at = Some(triggered_at.to_owned());
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

fn redact(customer: u64, email: &str) -> Value {
    json!({
        "shop_id": 954_889,
        "shop_domain": SHOP,
        "customer": {"id": customer, "email": email, "phone": "555-625-1199"},
        "orders_to_redact": [ORDER_ID]
    })
}

#[tokio::test]
async fn redaction_erases_the_person_here_and_in_ometria_and_keeps_them_out() {
    let app = app(vec![("SO_WORKER__ERASURE_POLL_SECS".into(), "1".into())]).await;
    let email = "gone@example.com";
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, email, "2026-11-20T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((CUSTOMER_ID, email)),
            email,
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    let fake = app.ometria();
    // The customer and its behavioural attributes are in Ometria.
    eventually(Duration::from_secs(30), || async {
        match fake.record(RecordType::Contact, &CUSTOMER_ID.to_string()) {
            Some(c)
                if c.get("email").is_some()
                    && c.get("properties")
                        .is_some_and(|p| p.get("shopify_orders_count").is_some()) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    app.wait_settled(2).await;
    // A contact whose property snapshot moved on while an older one was
    // being pushed is sent once more by the outbox drain
    // (docs/identity.md); wait until none is due, so that no push was in
    // flight when the redaction came.
    let outbox = app.store().await;
    eventually(Duration::from_secs(30), || async {
        match outbox.dirty_contacts(10, &[]).await {
            Ok(d) if d.is_empty() => Ok(()),
            other => Err(format!("behavioural attributes due: {other:?}")),
        }
    })
    .await;

    send(&app, "customers/redact", &redact(CUSTOMER_ID, email)).await;
    app.wait_outcome("redacted", 1.0).await;
    // Ometria was asked to erase the person, by email.
    let requests = fake.erasure_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    // Nothing of them is left in the store, and they are suppressed.
    let store = app.store().await;
    let shop = ShopDomain::parse(SHOP).unwrap();
    let e = so_domain::identity::normalise_email(email).unwrap();
    assert!(store.guest_for_email(&shop, &e).await.unwrap().is_none());
    assert!(store.email_suppressed(&shop, &e).await.unwrap());
    let open = store.open_erasures().await.unwrap();
    assert_eq!(open.len(), 1, "tracked until Ometria completes it");

    // Late news about them pushes nothing; a later guest order with their
    // email goes out without the person.
    let writes = fake.write_count(RecordType::Contact, &CUSTOMER_ID.to_string());
    let contacts = fake.count(RecordType::Contact);
    send(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, email, "2026-11-25T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID + 7,
            None,
            email,
            "2026-11-25T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    let order = eventually(Duration::from_secs(30), || async {
        fake.record(RecordType::Order, &(ORDER_ID + 7).to_string())
            .ok_or_else(|| "late order not yet in Ometria".to_owned())
    })
    .await;
    assert!(order.get("customer").is_none(), "{order:?}");
    assert_eq!(
        fake.write_count(RecordType::Contact, &CUSTOMER_ID.to_string()),
        writes
    );
    assert_eq!(
        fake.count(RecordType::Contact),
        contacts,
        "no new guest contact for the redacted email"
    );

    // Ometria completes the erasure: the tracker sees it.
    assert_eq!(fake.complete_erasures(), 1);
    eventually(Duration::from_secs(30), || async {
        let open = store.open_erasures().await.map_err(|e| e.to_string())?;
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("{} open erasures", open.len()))
        }
    })
    .await;
    // A replayed redaction does not ask Ometria twice.
    send(&app, "customers/redact", &redact(CUSTOMER_ID, email)).await;
    app.wait_outcome("redacted", 2.0).await;
    assert_eq!(fake.erasure_requests().len(), 1);
    app.teardown().await;
}

#[tokio::test]
async fn a_data_request_exports_what_is_held_about_the_person() {
    // Arrange: the person has an order; the admin API is on.
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend: Backend::Sqlite,
        partitions: 2,
        admin_token: Some(ADMIN_TOKEN.to_owned()),
        ..TestAppOptions::default()
    })
    .await;
    let email = "asks@example.com";
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((CUSTOMER_ID, email)),
            email,
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    app.wait_settled(1).await;
    let request = json!({
        "shop_id": 954_889, "shop_domain": SHOP,
        "customer": {"id": CUSTOMER_ID, "email": email, "phone": null},
        "orders_requested": [ORDER_ID], "data_request": {"id": 9999}
    });

    // Act: the request, and the same request again under another webhook id.
    send(&app, "customers/data_request", &request).await;
    app.wait_outcome("exported", 1.0).await;
    send(&app, "customers/data_request", &request).await;
    app.wait_outcome("exported", 2.0).await;

    // Assert: one export, found through the admin API, nothing on disk.
    let admin = |path: &str| {
        app.client
            .get(format!("{}/admin/{path}", app.ops_address))
            .bearer_auth(ADMIN_TOKEN)
            .header("X-Actor", "dpo")
    };
    let listed: Value = admin(&format!("exports?shop={SHOP}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exports = listed["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 1, "a redelivery keeps one export: {listed}");
    assert_eq!(exports[0]["request"], "9999");
    assert_eq!(exports[0]["customer_id"], CUSTOMER_ID.to_string());
    assert!(
        exports[0].get("content").is_none(),
        "listing shows no customer data"
    );
    let id = exports[0]["id"].as_str().unwrap();
    let res = admin(&format!("exports/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let export: Value = res.json().await.unwrap();
    let content = &export["content"];
    assert_eq!(content["customer_id"], CUSTOMER_ID.to_string());
    assert_eq!(content["email"], email);
    assert_eq!(content["orders"][0]["order_id"], ORDER_ID.to_string());
    let other: Value = admin("exports?shop=other.myshopify.com")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other["exports"], json!([]));
    let missing = admin("exports/unknown").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    app.teardown().await;
}

#[tokio::test]
async fn shop_redact_forgets_the_shop_and_uninstall_parks_until_the_app_is_back() {
    let app = app(Vec::new()).await;
    let shop = ShopDomain::parse(SHOP).unwrap();
    let store = app.store().await;
    let email = "jon@example.com";
    send(
        &app,
        "orders/create",
        &payloads::order(
            ORDER_ID,
            Some((CUSTOMER_ID, email)),
            email,
            "2026-11-20T10:00:00+00:00",
            "paid",
        ),
    )
    .await;
    app.wait_settled(1).await;
    assert!(
        store
            .order_state(&shop, so_domain::ShopifyId::new(ORDER_ID))
            .await
            .unwrap()
            .is_some()
    );

    // Uninstalled: an event from before it is parked, one from after it
    // means the app is back.
    let body = json!({"id": 548_380_009, "name": "Super Toys", "myshopify_domain": SHOP});
    send_at(&app, "app/uninstalled", &body, "2026-11-23T10:00:00.000Z").await;
    app.wait_outcome("uninstalled", 1.0).await;
    send_at(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, email, "2026-11-22T10:00:00+00:00"),
        "2026-11-22T10:00:00.000Z",
    )
    .await;
    app.wait_outcome("parked", 1.0).await;
    let parked = app
        .counter("so_events_parked_total", &[("reason", "shop_uninstalled")])
        .await;
    assert_eq!(parked, 1.0);
    send_at(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, email, "2026-11-24T10:00:00+00:00"),
        "2026-11-24T10:00:00.000Z",
    )
    .await;
    eventually(Duration::from_secs(30), || async {
        app.ometria()
            .record(RecordType::Contact, &CUSTOMER_ID.to_string())
            .filter(|c| c.get("email").is_some())
            .map(|_| ())
            .ok_or_else(|| "the newer event was not processed".to_owned())
    })
    .await;
    assert_eq!(
        store.shop_status(&shop).await.unwrap(),
        None,
        "installed again"
    );

    send(
        &app,
        "shop/redact",
        &json!({"shop_id": 954_889, "shop_domain": SHOP}),
    )
    .await;
    app.wait_outcome("shop_redacted", 1.0).await;
    assert!(
        store
            .order_state(&shop, so_domain::ShopifyId::new(ORDER_ID))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .guest_for_email(&shop, &so_domain::identity::normalise_email(email).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.shop_status(&shop).await.unwrap().map(|s| s.0),
        Some(so_store::ShopStatus::Redacted)
    );
    app.teardown().await;
}
