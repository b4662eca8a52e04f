//! Reconciliation against Ometria itself: a contact Ometria does not hold
//! and a consent it holds differently are reported, and `repair` fixes
//! both, as the fake Ometria's own state shows afterwards.

use std::time::Duration;

use so_domain::identity::Namespace;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, FakeShopify};
use so_shopify_admin::{Customer, EmailMarketingState, customer_webhook};
use so_sync::reconcile::{OmetriaSide, Reconcile};
use so_testkit::eventually;

use crate::backfill::{Rig, count_is};

async fn all_customers(admin: &so_shopify_admin::AdminClient) -> Vec<Customer> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = admin
            .customers_page(after.as_deref(), None, 50)
            .await
            .unwrap();
        after = page.next_cursor().map(str::to_owned);
        out.extend(page.nodes);
        if after.is_none() {
            return out;
        }
    }
}

/// The `marketing_optin` of the fake's profile for `email` with customer `id`.
fn optin_in_ometria(fake: &so_testkit::FakeOmetria, email: &str, id: u64) -> Option<String> {
    let id = id.to_string();
    fake.profiles_by_email(email)
        .into_iter()
        .find(|p| p["customer_id"].as_str() == Some(id.as_str()))
        .and_then(|p| p["marketing_optin"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_missing_contact_and_a_differing_consent_are_reported_and_repaired() {
    let shopify = FakeShopify::start().await;
    shopify.seed_generated(DEFAULT_SHOP, 12, 0, 0.5);
    let rig = Rig::new(&shopify).await;
    let Rig {
        app,
        shop,
        admin,
        publisher,
        store,
        ..
    } = &rig;
    let customers = all_customers(admin).await;
    let with_email: Vec<&Customer> = customers
        .iter()
        .filter(|c| c.email_address().is_some())
        .collect();
    let subscribed = |c: &&&Customer| c.marketing_state() == Some(EmailMarketingState::Subscribed);
    let lost = with_email[0];
    let tampered = *with_email
        .iter()
        .filter(subscribed)
        .find(|c| c.id.id() != lost.id.id())
        .expect("a subscribed customer with an email");
    let tampered_email = tampered.email_address().unwrap().to_owned();

    // Every customer but one reaches Ometria (its webhook was lost).
    for c in customers.iter().filter(|c| c.id.id() != lost.id.id()) {
        so_sync::publish::publish(publisher, shop, "2026-07", &customer_webhook(c))
            .await
            .unwrap();
    }
    let fake = app.ometria();
    count_is(fake, RecordType::Contact, customers.len() - 1).await;
    // Something else rewrote the subscriber's listing in Ometria.
    let mut record = fake
        .record(RecordType::Contact, &tampered.id.id().to_string())
        .expect("the subscriber's contact");
    record.insert("@type".into(), "contact".into());
    record.insert("marketing_optin".into(), "NOT_SPECIFIED".into());
    let pushed = app
        .client
        .post(format!("{}/v2/push", fake.url()))
        .header("X-Ometria-Auth", fake.api_key())
        .json(&serde_json::json!([record]))
        .send()
        .await
        .unwrap();
    assert!(
        pushed.status().is_success(),
        "{}",
        pushed.text().await.unwrap()
    );
    eventually(Duration::from_secs(30), || async {
        match optin_in_ometria(fake, &tampered_email, tampered.id.id()).as_deref() {
            Some("NOT_SPECIFIED") => Ok(()),
            other => Err(format!("Ometria holds {other:?}")),
        }
    })
    .await;

    let client = so_sync::clients::ometria_client(&app.config, shop).unwrap();
    let namespace = Namespace::parse(&app.config.shop(shop).namespace).unwrap();
    let now = chrono::Utc::now();
    let run = |repair| Reconcile {
        admin,
        store,
        publisher,
        shop,
        api_version: "2026-07",
        from: now - chrono::Duration::days(3 * 365),
        to: now + chrono::Duration::days(1),
        repair,
        ometria: Some(OmetriaSide {
            client: &client,
            namespace: &namespace,
            subscribers_only: false,
        }),
    };
    let report = run(false).run().await.unwrap();
    let text = report.text();
    let of = |kind| -> Vec<String> {
        report
            .drift
            .iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.id.clone())
            .collect()
    };
    assert_eq!(of("contact_missing"), [lost.id.id().to_string()], "{text}");
    assert_eq!(
        of("consent_differs"),
        [tampered.id.id().to_string()],
        "{text}"
    );
    let totals = report.ometria.clone().unwrap();
    assert_eq!(totals.checked, with_email.len() as u64, "{text}");
    assert_eq!(totals.found, with_email.len() as u64 - 1, "{text}");
    assert_eq!((totals.missing, totals.consent_differs), (1, 1), "{text}");
    assert!(text.contains("1 missing, 1 with another consent"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ometria"]["missing"], 1);
    assert_eq!(json["ometria"]["consent_differs"], 1);
    let page = app.metrics().await;
    for kind in ["contact_missing", "consent_differs"] {
        let n = so_testkit::metrics::value(&page, "so_reconcile_drift", &[("kind", kind)]);
        assert_eq!(n, 1.0, "{kind}");
    }

    // Repair re-sends both customers (the lost one once, though it is
    // also stale here); the fake's state shows both fixed.
    let repaired = run(true).run().await.unwrap();
    assert_eq!(repaired.repaired, 2, "{}", repaired.text());
    eventually(Duration::from_secs(60), || async {
        let arrived = fake
            .record(RecordType::Contact, &lost.id.id().to_string())
            .is_some();
        let optin = optin_in_ometria(fake, &tampered_email, tampered.id.id());
        if arrived && optin.as_deref() == Some("EXPLICITLY_OPTEDIN") {
            Ok(())
        } else {
            Err(format!(
                "lost contact arrived: {arrived}; consent {optin:?}"
            ))
        }
    })
    .await;
    eventually(Duration::from_secs(60), || async {
        let again = run(false).run().await.map_err(|e| e.to_string())?;
        if again.drift.is_empty() {
            Ok(())
        } else {
            Err(again.text())
        }
    })
    .await;
    rig.app.teardown().await;
}
