//! Field mappings in a real browser: a mapping with an unknown source refused by its box (the
//! start-up rules), a valid one previewed on the fake Shopify's most recently updated customer
//! (masked), and Save answered by the shop settings path: a shop managed in the file is refused
//! with nothing written; for a shop managed in the store the mapping is saved as a new version
//! and the next contact the fake Ometria receives carries the mapped property.

use serde_json::json;
use so_fake_shopify::DEFAULT_SHOP;
use std::time::Duration;

use so_domain::ometria::RecordType;
use so_testkit::{Backend, Webhook, eventually};

use super::browser::Browser;
use super::sync::{app_with, seeded, set};
use super::{TOKEN, admin_get};

const STORED: &str = "stored.myshopify.com";

#[tokio::test]
async fn a_bad_mapping_is_shown_by_its_box_and_a_good_one_previewed_masked() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let (shopify, _) = seeded().await;
    // The worker reads the store's shops often: the saved mapping applies within a second.
    let refresh = vec![("SO_SHOPIFY__SHOPS_REFRESH_MS".to_owned(), "200".to_owned())];
    let app = app_with(Backend::Sqlite, &shopify, "", refresh).await;
    let console = &app.ops_address;
    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/shops/{DEFAULT_SHOP}"))
        .await;
    b.click("#field-mappings").await;
    b.find("#contact").await;

    // An unknown source: refused by the contact box, with start-up's words.
    set(&b, "contact", "tier = metafield.custom.tier").await;
    b.click("#preview").await;
    let error = b.text("#error-contact").await;
    assert!(
        error.starts_with("mappings.contact.tier: unknown source field"),
        "{error}"
    );
    b.screenshot("mappings-refused").await;

    // A valid one: previewed on the shop's first customer, its value masked.
    set(&b, "contact", "home_city = default_address.city").await;
    b.click("#preview").await;
    let shown = b.text("#preview-contact [data-property='home_city']").await;
    assert!(
        shown.len() == 4 && shown.ends_with("***"),
        "a masked city: {shown}"
    );
    b.js("document.getElementById('preview-card').scrollIntoView(); return null;")
        .await;
    b.screenshot("mappings-preview").await;

    // Save: this shop is managed in the file; nothing is written.
    let before = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    b.click("#save").await;
    let refused = b.text("#error-save").await;
    assert!(refused.contains("managed as code"), "{refused}");
    let after = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    assert_eq!(before["version"], after["version"], "{after}");

    // A shop managed in the store: the mapping is saved as a new version, the rest kept.
    let res = app
        .client
        .put(format!("{console}/admin/shops/{STORED}"))
        .bearer_auth(TOKEN)
        .json(&json!({"lists": {"every_contact": [41]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let before = admin_get(&app, &format!("/admin/shops/{STORED}")).await;
    b.goto(&format!("{console}/console/shops/{STORED}/mappings"))
        .await;
    set(&b, "contact", "home_city = default_address.city").await;
    b.click("#save").await;
    eventually(Duration::from_secs(10), || async {
        let after = admin_get(&app, &format!("/admin/shops/{STORED}")).await;
        if after["version"].as_i64() == before["version"].as_i64().map(|v| v + 1) {
            Ok(())
        } else {
            Err(format!("not saved: {after}"))
        }
    })
    .await;
    let history = admin_get(&app, &format!("/admin/shops/{STORED}/history")).await;
    let latest = &history["versions"][0];
    let keys: Vec<&str> = latest["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("mappings")),
        "the mapping is the change: {history}"
    );
    assert!(
        !keys.iter().any(|k| k.starts_with("lists")),
        "the lists are kept: {history}"
    );
    the_next_contact_carries_the_mapping(&app).await;
    b.close().await;
    app.teardown().await;
}

/// Sends new customers of the stored shop, each with a home city, until one reaches the fake
/// Ometria carrying it as `home_city` (the worker has applied the saved version; contacts
/// before that carry none). Counted at the fake: the property is in what it received.
async fn the_next_contact_carries_the_mapping(app: &so_testkit::TestApp) {
    let mut next = 700;
    eventually(Duration::from_secs(30), || {
        next += 1;
        let id = next;
        async move {
            let mut body = crate::payloads::customer(
                id,
                &format!("c{id}@example.com"),
                "2026-11-20T10:00:00+00:00",
            );
            body["default_address"] = json!({"city": "Lille"});
            let hook =
                Webhook::new("customers/update", serde_json::to_vec(&body).unwrap()).shop(STORED);
            assert_eq!(app.send(&hook).await.status(), 200);
            app.contacts_arrive([id]).await;
            let record = app.ometria().record(RecordType::Contact, &id.to_string());
            match record
                .as_ref()
                .map(|r| r["properties"]["home_city"].clone())
            {
                Some(city) if city == json!("Lille") => Ok(()),
                _ => Err(format!("contact {id} without the mapping: {record:?}")),
            }
        }
    })
    .await;
}

/// Embedded staff: console.js posts Preview with a fresh ID token (the button's formaction);
/// another shop's token is refused.
#[tokio::test]
async fn embedded_staff_preview_their_shops_mappings() {
    let (shopify, _) = seeded().await;
    let app = super::sync::app_with(Backend::Sqlite, &shopify, "", super::embedded::env()).await;
    let now = chrono::Utc::now().timestamp();
    let url = format!(
        "{}/console/shops/{DEFAULT_SHOP}/mappings/preview",
        app.ops_address
    );
    let post = |token: String, contact: &str| {
        let req = app
            .client
            .post(&url)
            .bearer_auth(token)
            .form(&[("contact", contact)]);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let own = super::embedded::token(DEFAULT_SHOP, now, super::embedded::SECRET);
    let (status, body) = post(own.clone(), "home_city = default_address.city").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"data-property="home_city""#), "{body}");
    let (status, body) = post(own, "home_city = default_address.town").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#"id="error-contact""#), "{body}");
    let other = super::embedded::token(super::OTHER, now, super::embedded::SECRET);
    let (status, body) = post(other, "home_city = default_address.city").await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("home_city"), "{body}");
    app.teardown().await;
}

/// The preview reads the shop's most recently updated customer and order (the Admin API's
/// `sortKey: UPDATED_AT, reverse: true`), not the first listed: three of each, the newest
/// neither first nor last by id nor by creation; its city and email shown masked.
#[tokio::test]
async fn the_preview_shows_the_most_recently_updated_customer_and_order() {
    let shopify = so_fake_shopify::FakeShopify::start().await;
    let mut data = so_fake_shopify::generate(&so_fake_shopify::GenerateSpec::new(3, 1, 0.0));
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z")
        .unwrap()
        .to_utc();
    // (minutes after `base` it was updated, city, order's financial status): the second is
    // the newest.
    let rows = [
        (10, "Amiens", "AUTHORIZED"),
        (30, "Zurich", "VOIDED"),
        (0, "Lyon", "PAID"),
    ];
    for ((c, o), (minutes, city, status)) in data
        .customers
        .iter_mut()
        .zip(data.orders.iter_mut())
        .zip(rows)
    {
        c.updated_at = base + chrono::TimeDelta::minutes(minutes);
        c.created_at = base;
        let address = c.default_address.get_or_insert_with(Default::default);
        address.city = Some(city.to_owned());
        o.updated_at = base + chrono::TimeDelta::minutes(minutes);
        o.created_at = base;
        o.financial_status = status.to_owned();
    }
    shopify.shop(DEFAULT_SHOP).seed_dataset(&data);
    let app = super::sync::app_with(Backend::Sqlite, &shopify, "", super::embedded::env()).await;
    let now = chrono::Utc::now().timestamp();
    let own = super::embedded::token(DEFAULT_SHOP, now, super::embedded::SECRET);
    let res = app
        .client
        .post(format!(
            "{}/console/shops/{DEFAULT_SHOP}/mappings/preview",
            app.ops_address
        ))
        .bearer_auth(own)
        .form(&[
            ("contact", "home_city = default_address.city"),
            ("order", "payment = financial_status"),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let value = |property: &str| {
        let at = body
            .find(&format!(r#"data-property="{property}""#))
            .unwrap_or_else(|| panic!("no {property} in the preview: {body}"));
        body[at..]
            .split('>')
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(value("home_city"), "Z***", "{body}");
    assert_eq!(value("payment").to_lowercase(), "v***", "{body}");
    assert!(!body.contains("Zurich"), "masked: {body}");
    app.teardown().await;
}
