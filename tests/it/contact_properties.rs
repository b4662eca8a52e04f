//! Contact properties under either `properties` semantics (merged key by
//! key or replaced whole), end to end, read from the fake Ometria's state,
//! on both store backends.

use std::time::Duration;

use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::{FakeOmetria, PropertiesMerge};
use so_testkit::{Backend, eventually};

use crate::identity::{SHOP, app, customer_order, send};
use crate::payloads::{self, CUSTOMER_ID, ORDER_ID};

#[tokio::test]
async fn properties_survive_replace_semantics_sqlite() {
    properties_survive(Backend::Sqlite, PropertiesMerge::Replace).await;
}

#[tokio::test]
async fn properties_survive_replace_semantics_postgres() {
    properties_survive(Backend::Postgres, PropertiesMerge::Replace).await;
}

#[tokio::test]
async fn properties_survive_key_by_key_semantics_sqlite() {
    properties_survive(Backend::Sqlite, PropertiesMerge::KeyByKey).await;
}

#[tokio::test]
async fn properties_survive_key_by_key_semantics_postgres() {
    properties_survive(Backend::Postgres, PropertiesMerge::KeyByKey).await;
}

/// Tags, then behavioural attributes (sent by the outbox drain, not the
/// customer's partition), then a merchant-mapped field: the contact in the
/// fake ends with all of them, whether Ometria merges `properties` key by
/// key or replaces the object.
async fn properties_survive(backend: Backend, mode: PropertiesMerge) {
    let toml = format!(
        "[shops.\"{SHOP}\".mappings.contact]\nloyalty_tier = \"metafields.custom.loyalty_tier\"\n"
    );
    let app = app(backend, mode, Some(toml)).await;
    let id = CUSTOMER_ID.to_string();
    let at = |h: u32| format!("2026-11-20T{h:02}:00:00+00:00");
    send(
        &app,
        "customers/create",
        &payloads::customer(CUSTOMER_ID, "jo@example.com", &at(9)),
    )
    .await;
    app.wait_settled(1).await;
    send(
        &app,
        "customer.tags_added",
        &json!({"customerId": format!("gid://shopify/Customer/{id}"), "tags": ["vip"], "occurredAt": at(10)}),
    )
    .await;
    app.wait_settled(2).await;
    send(
        &app,
        "orders/create",
        &customer_order(ORDER_ID, CUSTOMER_ID, "jo@example.com", &at(11)),
    )
    .await;
    let fake = app.ometria();
    wait_for(fake, &id, "shopify_orders_count", &json!(1)).await;
    let mut update = payloads::customer(CUSTOMER_ID, "jo@example.com", &at(12));
    update["metafields"] = json!([
        {"namespace": "custom", "key": "loyalty_tier", "value": "gold", "type": "single_line_text_field"}
    ]);
    send(&app, "customers/update", &update).await;
    let last = wait_for(fake, &id, "loyalty_tier", &json!("gold")).await;

    let p = &last["properties"];
    assert_eq!(
        p["shopify_tags"],
        json!(["vip"]),
        "{mode:?} {backend:?}: tags kept: {p}"
    );
    assert_eq!(
        p["shopify_orders_count"],
        json!(1),
        "{mode:?} {backend:?}: attributes kept: {p}"
    );
    assert_eq!(p["shopify_state"], "enabled", "{mode:?} {backend:?}: {p}");
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

/// Waits until the contact's `properties.key` is `want`; returns the contact.
async fn wait_for(fake: &FakeOmetria, id: &str, key: &str, want: &Value) -> Map<String, Value> {
    eventually(Duration::from_secs(30), || async {
        match fake.record(RecordType::Contact, id) {
            Some(c) if c.get("properties").and_then(|p| p.get(key)) == Some(want) => Ok(c),
            other => Err(format!("contact {id} without {key} = {want}: {other:?}")),
        }
    })
    .await
}
