//! Data Sync in a real browser: an on-demand profile send from the fake Shopify's customers,
//! refused first with a range that ends before it starts (shown next to its field, nothing
//! sent), then run: its progress, then the last send time in the shop's time zone, and the
//! contacts counted at the fake Ometria, each on the chosen list.

use std::collections::BTreeSet;

use chrono::Utc;
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions};

use super::browser::Browser;
use super::{TOKEN, admin_get};
use crate::backfill::count_is;

const LIST: u64 = 4242;

async fn app(backend: Backend, shopify: &FakeShopify) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        partitions: 2,
        backend,
        admin_token: Some(TOKEN.to_owned()),
        fake: FakeConfig::unlimited(),
        config_toml: Some(format!(
            r#"
[shops."{DEFAULT_SHOP}"]
timezone = "Europe/Paris"

[shops."{DEFAULT_SHOP}".profile_sends]
allowed_lists = [{LIST}]

[shops."{DEFAULT_SHOP}".admin]
access_token = "{DEFAULT_TOKEN}"
api_url = "{}"
"#,
            shopify.shop_base_url(DEFAULT_SHOP)
        )),
        env: vec![("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into())],
        ..TestAppOptions::default()
    })
    .await
}

#[tokio::test]
async fn an_on_demand_send_shows_its_progress_and_last_send_time_sqlite() {
    on_demand_send(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_on_demand_send_shows_its_progress_and_last_send_time_postgres() {
    on_demand_send(Backend::Postgres).await;
}

/// Sets a form control's value (date inputs take typed keys in the browser's locale).
async fn set(b: &Browser, id: &str, value: &str) {
    b.js(&format!(
        "document.getElementById({id:?}).value = {value:?}; return null;"
    ))
    .await;
}

async fn on_demand_send(backend: Backend) {
    let Some(b) = Browser::start().await else {
        return;
    };
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 40, 1, 0.5);
    let expected: BTreeSet<String> = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .map(|c| c.id.to_string())
        .collect();
    assert!(!expected.is_empty() && expected.len() < data.customers.len());
    let app = app(backend, &shopify).await;
    let store = app.store().await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let fake = app.ometria();
    let console = &app.ops_address;
    let screenshots = matches!(backend, Backend::Sqlite);

    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/shops/{DEFAULT_SHOP}"))
        .await;
    b.click("#data-sync").await;
    assert_eq!(b.text("#timezone").await, "Europe/Paris");
    assert_eq!(b.text("#last-send-at").await, "Never");

    // Auto Send: the daily send needs its time; a shop managed in the file is refused by the
    // shop settings path, said on the page, and nothing is written.
    let before = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    b.click("#daily").await;
    b.click("#save-auto").await;
    assert!(b.text("#error-at").await.starts_with("Time of day"));
    b.click("#daily").await;
    set(&b, "at", "07:30").await;
    b.click("#save-auto").await;
    assert!(
        b.text("#error-auto").await.contains("managed as code"),
        "{}",
        b.text("#error-auto").await
    );
    let after = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    assert_eq!(before["version"], after["version"], "{after}");

    // A range that ends before it starts: refused next to its field, nothing sent.
    set(&b, "profiles", "subscribers").await;
    set(&b, "list", &LIST.to_string()).await;
    set(&b, "active_from", "2026-07-02").await;
    set(&b, "active_to", "2026-07-01").await;
    b.click("#send").await;
    let error = b.text("#error-active_to").await;
    assert!(
        error.starts_with("Active to") && error.contains("must be after Active from"),
        "{error}"
    );
    // The typed values are kept for correcting.
    assert_eq!(
        b.find("#active_from")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-07-02")
    );
    if screenshots {
        b.screenshot("data-sync-refused").await;
    }
    assert!(
        store
            .last_profile_send(&shop, None, false)
            .await
            .unwrap()
            .is_none(),
        "a refused send started"
    );

    // Subscribers, on the list, no range: sent in the background, its progress shown.
    set(&b, "active_from", "").await;
    set(&b, "active_to", "").await;
    b.click("#send").await;
    b.find("#progress").await;
    if screenshots {
        b.screenshot("data-sync-progress").await;
    }
    // console.js reloads the page until the send ends.
    b.find("#progress[data-state='completed']").await;
    count_is(fake, RecordType::Contact, expected.len()).await;
    let at_fake: BTreeSet<String> = fake
        .records(RecordType::Contact)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(at_fake, expected);
    for id in &at_fake {
        assert!(fake.lists_of(id).contains(&LIST.to_string()), "{id}");
    }

    // The last send, as the store recorded it, in Paris time.
    let row = store
        .last_profile_send(&shop, None, true)
        .await
        .unwrap()
        .expect("the send is recorded");
    assert_eq!(row.kind, "on_demand");
    let finished = row.finished_at.expect("finished");
    let paris = finished
        .with_timezone(&so_platform::config::parse_timezone("Europe/Paris").unwrap())
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string();
    let shown = b.text("#last-send-at").await;
    assert_eq!(shown, format!("{paris} (Europe/Paris)"));
    assert!(finished <= Utc::now());
    assert_eq!(
        b.text("#last-published").await,
        row.counts.published.to_string()
    );
    assert_eq!(
        b.text("#progress-published").await,
        row.counts.published.to_string()
    );
    if screenshots {
        b.screenshot("data-sync").await;
    }
    b.close().await;
    app.teardown().await;
}
