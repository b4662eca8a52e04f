//! Identity under Ometria's post-2024 rule (the first contact to carry an
//! identifier owns it), end to end, read from the fake Ometria's state
//! (never from our store), on both store backends.

use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeOmetria, PropertiesMerge, RecordKey};
use so_testkit::{Backend, TestApp, TestAppOptions, Webhook};
use sqlx::{Any, AnyConnection, Connection, Row};

use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

pub(crate) const SHOP: &str = "test-shop.myshopify.com";

pub(crate) async fn app(
    backend: Backend,
    properties: PropertiesMerge,
    toml: Option<String>,
) -> TestApp {
    let defaults = TestAppOptions::default();
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 4,
        config_toml: toml,
        fake: so_fake_ometria::FakeConfig {
            properties,
            ..defaults.fake.clone()
        },
        ..defaults
    })
    .await
}

pub(crate) async fn send(app: &TestApp, topic: &str, body: &Value) {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap()).shop(SHOP);
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

fn guest_order(id: u64, email: &str, at: &str) -> Value {
    payloads::order(id, None, email, at, "paid")
}

pub(crate) fn customer_order(id: u64, customer: u64, email: &str, at: &str) -> Value {
    payloads::order(id, Some((customer, email)), email, at, "paid")
}

/// Contacts in the fake that carry this email or this customer id.
fn contacts_of(fake: &FakeOmetria, email: &str, customer_id: &str) -> Vec<Map<String, Value>> {
    fake.records(RecordType::Contact)
        .into_iter()
        .filter(|c| {
            c.get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
                || c.get("customer_id") == Some(&json!(customer_id))
        })
        .collect()
}

/// Exactly one contact holds both identifiers, and no other holds either.
fn one_contact(fake: &FakeOmetria, email: &str, customer_id: &str) -> RecordKey {
    let found = contacts_of(fake, email, customer_id);
    assert_eq!(found.len(), 1, "one contact for the person: {found:?}");
    assert_eq!(found[0]["customer_id"], customer_id, "{found:?}");
    assert!(
        found[0]["email"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(email)),
        "{found:?}"
    );
    let holder = fake.contact_holding("email", email).expect("email held");
    assert_eq!(
        fake.contact_holding("customer_id", customer_id),
        Some(holder.clone())
    );
    holder
}

/// Every value of every column of every table of the store, as text.
async fn stored_text(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let sqlite = url.starts_with("sqlite:");
    let tables: Vec<String> = if sqlite {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
    } else {
        sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
    }
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = if sqlite {
            sqlx::query_scalar::<Any, String>(&format!(
                "SELECT name FROM pragma_table_info('{table}')"
            ))
            .fetch_all(&mut conn)
            .await
            .unwrap()
        } else {
            sqlx::query_scalar::<Any, String>(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(&table)
            .fetch_all(&mut conn)
            .await
            .unwrap()
        };
        for column in columns {
            // Binary columns (sqlx's migration checksums) hold no text.
            let skip_blobs = if sqlite {
                format!(" WHERE typeof({column}) <> 'blob'")
            } else {
                String::new()
            };
            let rows = sqlx::query(&format!(
                "SELECT CAST({column} AS TEXT) FROM {table}{skip_blobs}"
            ))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            out.extend(
                rows.iter()
                    .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten()),
            );
        }
    }
    assert!(!out.is_empty(), "the store was read");
    out
}

#[tokio::test]
async fn guest_then_account_is_one_contact_with_both_identifiers_sqlite() {
    guest_then_account(Backend::Sqlite).await;
}

#[tokio::test]
async fn guest_then_account_is_one_contact_with_both_identifiers_postgres() {
    guest_then_account(Backend::Postgres).await;
}

/// A guest order, the same person opens an account, then orders as a guest
/// again: one contact holds the email and the customer id, and every order
/// links to it. The store keeps the guest's email only as a keyed
/// fingerprint.
async fn guest_then_account(backend: Backend) {
    let app = app(backend, PropertiesMerge::Replace, None).await;
    let (email, cid) = ("Jo.Snow@Example.com", CUSTOMER_ID.to_string());
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID, email, "2026-11-20T10:00:00+00:00"),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "customers/create",
        &payloads::customer(
            CUSTOMER_ID,
            "jo.snow@example.com",
            "2026-11-20T11:00:00+00:00",
        ),
    )
    .await;
    app.wait_settled(2).await;
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID + 1, email, "2026-11-20T12:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &customer_order(
            ORDER_ID + 2,
            CUSTOMER_ID,
            email,
            "2026-11-20T13:00:00+00:00",
        ),
    )
    .await;
    app.wait_settled(4).await;

    let fake = app.ometria();
    let person = one_contact(fake, "jo.snow@example.com", &cid);
    assert_eq!(
        person.collection.as_deref(),
        Some("shopify_guests"),
        "the guest's listing"
    );
    for order in [ORDER_ID, ORDER_ID + 1, ORDER_ID + 2] {
        assert_eq!(
            fake.order_contact(&order.to_string()),
            Some(person.clone()),
            "{backend:?}: order {order} links to the person"
        );
    }
    assert!(
        fake.ignored_identifiers().is_empty(),
        "no push claimed an identifier another contact owns: {:?}",
        fake.ignored_identifiers()
    );
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());

    let url = &app.database.as_ref().unwrap().url;
    let text = stored_text(url).await;
    let leaks: Vec<&String> = text
        .iter()
        .filter(|v| v.to_lowercase().contains("jo.snow"))
        .collect();
    assert!(
        leaks.is_empty(),
        "{backend:?}: the store holds the email: {leaks:?}"
    );
    app.teardown().await;
}

#[tokio::test]
async fn an_email_change_moves_the_email_and_guest_orders_follow_sqlite() {
    email_change(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_email_change_moves_the_email_and_guest_orders_follow_postgres() {
    email_change(Backend::Postgres).await;
}

async fn email_change(backend: Backend) {
    let app = app(backend, PropertiesMerge::Replace, None).await;
    let cid = CUSTOMER_ID.to_string();
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, "jo@old.example", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, "Jo@New.example", "2026-11-20T11:00:00+00:00"),
    )
    .await;
    app.wait_settled(2).await;
    // Guest checkouts with the new and with the old address.
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID, "jo@new.example", "2026-11-20T12:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID + 1, "jo@old.example", "2026-11-20T12:30:00+00:00"),
    )
    .await;
    app.wait_settled(4).await;

    let fake = app.ometria();
    let person = one_contact(fake, "jo@new.example", &cid);
    assert_eq!(
        fake.contact_holding("email", "jo@old.example"),
        None,
        "released"
    );
    for order in [ORDER_ID, ORDER_ID + 1] {
        assert_eq!(
            fake.order_contact(&order.to_string()),
            Some(person.clone()),
            "{backend:?}"
        );
    }
    assert!(
        fake.ignored_identifiers().is_empty(),
        "{:?}",
        fake.ignored_identifiers()
    );
    app.teardown().await;
}

#[tokio::test]
async fn an_email_change_to_a_guests_email_merges_the_guest_in_sqlite() {
    email_change_to_a_guest(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_email_change_to_a_guests_email_merges_the_guest_in_postgres() {
    email_change_to_a_guest(Backend::Postgres).await;
}

/// The account already has its own listing when it takes an email a guest
/// listing owns: the account cannot adopt the guest any more, so Ometria is
/// asked to merge the guest (by email) into the account; then the account
/// holds the email and the guest's order.
async fn email_change_to_a_guest(backend: Backend) {
    let app = app(backend, PropertiesMerge::Replace, None).await;
    let cid = CUSTOMER_ID.to_string();
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, "jo@old.example", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID, "jo@new.example", "2026-11-20T10:30:00+00:00"),
    )
    .await;
    app.wait_settled(2).await;
    send(
        &app,
        "customers/update",
        &payloads::customer(CUSTOMER_ID, "jo@new.example", "2026-11-20T11:00:00+00:00"),
    )
    .await;
    app.wait_settled(3).await;

    let fake = app.ometria();
    let jobs = fake.merges();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0]["survivor"],
        json!({"type": "customer_id", "value": cid})
    );
    assert_eq!(
        jobs[0]["customers_to_merge"],
        json!([{"type": "email_address", "value": "jo@new.example"}])
    );
    assert_eq!(jobs[0]["status"], "completed", "{jobs:?}");
    let person = one_contact(fake, "jo@new.example", &cid);
    assert_eq!(person.collection.as_deref(), Some("shopify_customers"));
    assert_eq!(
        fake.order_contact(&ORDER_ID.to_string()),
        Some(person),
        "{backend:?}"
    );
    app.teardown().await;
}

#[tokio::test]
async fn a_shopify_merge_into_an_adopted_account_merges_in_ometria_sqlite() {
    shopify_merge(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_shopify_merge_into_an_adopted_account_merges_in_ometria_postgres() {
    shopify_merge(Backend::Postgres).await;
}

/// The survivor of a Shopify merge is an account that adopted a guest
/// listing: Ometria's merge finds it by customer id all the same, and later
/// orders of the merged-away customer link to it.
async fn shopify_merge(backend: Backend) {
    let app = app(backend, PropertiesMerge::Replace, None).await;
    let (kept, gone) = (42_u64, 77_u64);
    send(
        &app,
        "orders/create",
        &guest_order(ORDER_ID, "kept@example.com", "2026-11-20T09:00:00+00:00"),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "customers/create",
        &payloads::customer(kept, "kept@example.com", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    send(
        &app,
        "customers/create",
        &payloads::customer(gone, "gone@example.com", "2026-11-20T10:00:00+00:00"),
    )
    .await;
    app.wait_settled(3).await;
    let merge = json!({
        "admin_graphql_api_customer_kept_id": format!("gid://shopify/Customer/{kept}"),
        "admin_graphql_api_customer_deleted_id": format!("gid://shopify/Customer/{gone}"),
        "admin_graphql_api_job_id": null,
        "status": "completed",
        "errors": []
    });
    send(&app, "customers/merge", &merge).await;
    app.wait_settled(4).await;
    send(
        &app,
        "orders/create",
        &customer_order(
            ORDER_ID + 1,
            gone,
            "gone@example.com",
            "2026-11-20T11:00:00+00:00",
        ),
    )
    .await;
    app.wait_settled(5).await;

    let fake = app.ometria();
    let jobs = fake.merges();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "completed", "{jobs:?}");
    assert_eq!(
        fake.contact_holding("customer_id", &gone.to_string()),
        None,
        "merged away"
    );
    let person = one_contact(fake, "kept@example.com", &kept.to_string());
    assert_eq!(person.collection.as_deref(), Some("shopify_guests"));
    for order in [ORDER_ID, ORDER_ID + 1] {
        assert_eq!(
            fake.order_contact(&order.to_string()),
            Some(person.clone()),
            "{backend:?}"
        );
    }
    app.teardown().await;
}
