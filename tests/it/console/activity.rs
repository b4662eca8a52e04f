//! The Shop page's activity log in a real browser: after a webhook is delivered and a profile
//! send ran, both are listed, each at the time the store recorded it, written in the shop's
//! time zone (Paris: UTC would be visibly wrong). On SQLite and PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use so_domain::freshness::LedgerLookup;
use so_domain::ometria::RecordType;
use so_domain::{ShopDomain, WebhookId};
use so_fake_shopify::DEFAULT_SHOP;
use so_testkit::{Backend, eventually};

use super::browser::Browser;
use super::sync::{LIST, app, seeded, set};
use super::{TOKEN, admin_get, customer};

#[tokio::test]
async fn the_activity_log_lists_a_webhook_and_a_profile_send_in_paris_time_sqlite() {
    activity_log(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_activity_log_lists_a_webhook_and_a_profile_send_in_paris_time_postgres() {
    activity_log(Backend::Postgres).await;
}

/// `at` as the console writes times in Paris.
fn paris(at: DateTime<Utc>) -> String {
    let zone = chrono_tz::Europe::Paris;
    format!(
        "{} ({zone})",
        at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z")
    )
}

async fn activity_log(backend: Backend) {
    assert_eq!(
        so_ops::shops::SYNTHESIZED_ID_PREFIX,
        so_shopify_admin::BACKFILL_WEBHOOK_ID_PREFIX
    );
    let Some(b) = Browser::start().await else {
        return;
    };
    let (shopify, _) = seeded().await;
    let app = app(backend, &shopify).await;
    let store = app.store().await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let console = &app.ops_address;

    // A webhook, delivered: the worker's ledger holds it with the time it was taken in.
    let hook = customer(901, DEFAULT_SHOP).id("activity-hook-1");
    assert_eq!(app.send(&hook).await.status(), 200);
    eventually(Duration::from_secs(30), || async {
        let fake = app.ometria().records(RecordType::Contact);
        match fake.iter().any(|c| c["id"].as_str() == Some("901")) {
            true => Ok(()),
            false => Err(format!("{} contacts, not 901", fake.len())),
        }
    })
    .await;
    let id = WebhookId::parse("activity-hook-1").unwrap();
    // The ledger row is committed after the push.
    let seen = eventually(Duration::from_secs(30), || async {
        match store.ledger_lookup(&shop, &id).await.unwrap() {
            LedgerLookup::SeenAt(at) => Ok(at),
            LedgerLookup::NotSeen => Err("not in the ledger yet".to_owned()),
        }
    })
    .await;

    // A profile send from Data Sync, run to its end.
    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/shops/{DEFAULT_SHOP}/sync"))
        .await;
    set(&b, "profiles", "subscribers").await;
    set(&b, "list", &LIST.to_string()).await;
    b.click("#send").await;
    b.find("#progress[data-state='completed']").await;
    let sent = store
        .last_profile_send(&shop, None, true)
        .await
        .unwrap()
        .expect("the send is recorded");
    let sent_at = sent.finished_at.expect("a completed send has its end");

    b.goto(&format!("{console}/console/shops/{DEFAULT_SHOP}"))
        .await;
    let hooks = entries(&b, "webhook").await;
    let line = hooks
        .iter()
        .find(|l| l.contains("activity-hook-1"))
        .unwrap_or_else(|| panic!("the webhook is not in the log: {hooks:?}"));
    assert!(line.starts_with(&paris(seen)), "{line} at {seen}");
    assert!(line.contains("customers/update"), "{line}");
    let sends = entries(&b, "profile_send").await;
    assert!(
        sends[0].starts_with(&paris(sent_at)),
        "{sends:?} at {sent_at}"
    );
    let counts = format!(
        "{} customers read, {} matched, {} sent",
        sent.counts.read, sent.counts.matched, sent.counts.published
    );
    assert!(sends[0].contains(&counts), "{sends:?}");
    // Paris is never UTC: the UTC wall time of the send is not on its line.
    let utc = sent_at.format("%H:%M:%S").to_string();
    assert!(!sends[0].contains(&utc), "{sends:?}");
    // The admin API serves the same log, with UTC and local times; a bad limit names itself.
    let log = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}/activity")).await;
    assert_eq!(log["timezone"], "Europe/Paris", "{log}");
    let entry = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["kind"] == "webhook" && e["summary"].as_str().unwrap().contains("activity-hook-1")
        })
        .unwrap_or_else(|| panic!("no webhook entry: {log}"));
    assert_eq!(entry["at_local"], paris(seen).as_str(), "{entry}");
    let bad = admin_get(
        &app,
        &format!("/admin/shops/{DEFAULT_SHOP}/activity?limit=101"),
    )
    .await;
    assert_eq!(bad["code"], "invalid_input", "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("limit"), "{bad}");
    // One run takes the documentation's screenshot.
    if matches!(backend, Backend::Sqlite) {
        b.js("document.getElementById('activity').scrollIntoView(); return null;")
            .await;
        b.screenshot("shop-activity").await;
    }
    b.close().await;
}

/// The text of the log's entries of `kind`, in page order.
async fn entries(b: &Browser, kind: &str) -> Vec<String> {
    b.find(&format!("#activity li[data-kind='{kind}']")).await;
    let mut out = Vec::new();
    for e in b
        .client
        .find_all(fantoccini::Locator::Css(&format!(
            "#activity li[data-kind='{kind}']"
        )))
        .await
        .unwrap()
    {
        out.push(e.text().await.unwrap());
    }
    out
}
