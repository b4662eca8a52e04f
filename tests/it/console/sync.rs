//! Data Sync in a real browser: an on-demand profile send from the fake Shopify's customers,
//! refused first with a range that ends before it starts (shown next to its field, nothing
//! sent), then run: its progress, then the last send time in the shop's time zone, and the
//! contacts counted at the fake Ometria, each on the chosen list.

use std::collections::BTreeSet;

use chrono::Utc;
use so_domain::ShopDomain;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use std::time::Duration;

use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions, eventually};

use super::browser::{Browser, Scripts};
use super::{TOKEN, admin_get};
use crate::backfill::count_is;

pub(super) const LIST: u64 = 4242;

/// The shop's automatic send: subscribers, on the list.
const AUTO: &str = "profiles = \"subscribers\"\nlist = 4242\n";

pub(super) async fn app(backend: Backend, shopify: &FakeShopify) -> TestApp {
    app_with(backend, shopify, "", Vec::new()).await
}

pub(super) async fn app_with(
    backend: Backend,
    shopify: &FakeShopify,
    auto: &str,
    mut env: Vec<(String, String)>,
) -> TestApp {
    env.push(("SO_OMETRIA__REQUESTS_PER_SECOND".into(), "100".into()));
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
{auto}

[shops."{DEFAULT_SHOP}".admin]
access_token = "{DEFAULT_TOKEN}"
api_url = "{}"
"#,
            shopify.shop_base_url(DEFAULT_SHOP)
        )),
        env,
        ..TestAppOptions::default()
    })
    .await
}

#[tokio::test]
async fn an_on_demand_send_shows_its_progress_and_last_send_time_sqlite() {
    on_demand_send(Backend::Sqlite, Scripts::On).await;
}

/// With JavaScript off: the forms post plainly, and a refresh shows the progress.
#[tokio::test]
async fn an_on_demand_send_shows_its_progress_and_last_send_time_postgres_with_javascript_off() {
    on_demand_send(Backend::Postgres, Scripts::Off).await;
}

/// Sets a form control's value (date inputs take typed keys in the browser's locale).
pub(super) async fn set(b: &Browser, id: &str, value: &str) {
    b.js(&format!(
        "document.getElementById({id:?}).value = {value:?}; return null;"
    ))
    .await;
}

/// The fake Shopify with 40 customers; the ids of the subscribed ones with an email.
pub(super) async fn seeded() -> (FakeShopify, BTreeSet<String>) {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 40, 1, 0.5);
    let expected: BTreeSet<String> = data
        .customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .map(|c| c.id.to_string())
        .collect();
    assert!(!expected.is_empty() && expected.len() < data.customers.len());
    (shopify, expected)
}

/// The contacts at the fake Ometria, each checked to be on the list.
fn contacts_on_the_list(fake: &so_testkit::FakeOmetria) -> BTreeSet<String> {
    let ids: BTreeSet<String> = fake
        .records(RecordType::Contact)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        assert!(fake.lists_of(id).contains(&LIST.to_string()), "{id}");
    }
    ids
}

async fn on_demand_send(backend: Backend, scripts: Scripts) {
    let Some(b) = Browser::start_with(scripts).await else {
        return;
    };
    let js = matches!(scripts, Scripts::On);
    let (shopify, expected) = seeded().await;
    let app = app(backend, &shopify).await;
    let store = app.store().await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let fake = app.ometria();
    let console = &app.ops_address;
    let screenshots = js;

    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/shops/{DEFAULT_SHOP}"))
        .await;
    b.click("#data-sync").await;
    assert_eq!(b.text("#timezone").await, "Europe/Paris");
    assert_eq!(b.text("#last-send-at").await, "Never");
    // console.js marks the page when it runs: the scripts really are on, or off.
    let marked = b
        .client
        .find_all(fantoccini::Locator::Css("html[data-js='on']"))
        .await
        .unwrap();
    assert_eq!(marked.len(), usize::from(js));

    // Auto Send: the daily send needs its time; a shop managed in the file is refused by the
    // shop settings path, said on the page, and nothing is written.
    let before = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    b.click("#daily").await;
    b.click("#save-auto").await;
    assert!(b.text("#error-at").await.starts_with("Time of day"));
    if js {
        b.click("#daily").await;
        set(&b, "at", "07:30").await;
        b.click("#save-auto").await;
        assert!(
            b.text("#error-auto").await.contains("managed as code"),
            "{}",
            b.text("#error-auto").await
        );
    }
    let after = admin_get(&app, &format!("/admin/shops/{DEFAULT_SHOP}")).await;
    assert_eq!(before["version"], after["version"], "{after}");

    if js {
        refused_range(&b).await;
    } else {
        refused_new_list(&b).await;
    }
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
    if js {
        set(&b, "active_from", "").await;
        set(&b, "active_to", "").await;
    } else {
        b.find("#new_list").await.clear().await.expect("cleared");
    }
    b.click("#send").await;
    b.find("#progress").await;
    if screenshots {
        b.screenshot("data-sync-progress").await;
    }
    if js {
        // console.js reloads the page until the send ends.
        b.find("#progress[data-state='completed']").await;
    } else {
        // Without scripts, a refresh shows where it is.
        let page = format!("{console}/console/shops/{DEFAULT_SHOP}/sync");
        eventually(Duration::from_secs(60), || async {
            b.goto(&page).await;
            let state = b.find("#progress").await.attr("data-state").await.unwrap();
            match state.as_deref() {
                Some("completed") => Ok(()),
                other => Err(format!("send {other:?}")),
            }
        })
        .await;
    }
    count_is(fake, RecordType::Contact, expected.len()).await;
    assert_eq!(contacts_on_the_list(fake), expected);

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

/// Embedded staff press Send now: console.js posts it with a fresh ID token (no cookie, no
/// CSRF token), as here; the shop's automatic settings run at once. Another shop's token and
/// no token at all start nothing.
#[tokio::test]
async fn embedded_staff_send_now_runs_the_automatic_settings() {
    let (shopify, expected) = seeded().await;
    let app = app_with(Backend::Sqlite, &shopify, AUTO, super::embedded::env()).await;
    let store = app.store().await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let now = Utc::now().timestamp();
    let url = format!(
        "{}/console/shops/{DEFAULT_SHOP}/sync/auto/send",
        app.ops_address
    );
    let post = |bearer: Option<String>| {
        let req = app.client.post(&url).form(&[("x", "")]);
        let req = match bearer {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };

    let other = super::embedded::token(super::OTHER, now, super::embedded::SECRET);
    let (status, body) = post(Some(other)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("other_shop"), "{body}");
    // No token, no session: sent (the client follows the redirect) to the login page.
    let (_, body) = post(None).await;
    assert!(body.contains(r#"id="login""#), "{body}");
    assert!(
        store
            .last_profile_send(&shop, None, false)
            .await
            .unwrap()
            .is_none(),
        "a refused request started a send"
    );

    let own = super::embedded::token(DEFAULT_SHOP, now, super::embedded::SECRET);
    // Their Shop page links here for console.js to follow with a token.
    let shop_page = app
        .client
        .get(format!("{}/console/shops/{DEFAULT_SHOP}", app.ops_address))
        .bearer_auth(&own)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shop_page.contains(&format!(
            r#"id="data-sync" href="/console/shops/{DEFAULT_SHOP}/sync" data-bearer"#
        )),
        "{shop_page}"
    );
    let (status, body) = post(Some(own)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"id="progress""#), "{body}");
    count_is(app.ometria(), RecordType::Contact, expected.len()).await;
    assert_eq!(contacts_on_the_list(app.ometria()), expected);
    let row = eventually_recorded(&store, &shop).await;
    assert_eq!(row.kind, "auto");
    assert_eq!(row.counts.published, expected.len() as u64);
    app.teardown().await;
}

/// The send's record, once it has finished (the page answered when it started).
async fn eventually_recorded(
    store: &so_store::Store,
    shop: &ShopDomain,
) -> so_store::ProfileSendRow {
    let found = std::sync::Mutex::new(None);
    so_testkit::eventually(std::time::Duration::from_secs(30), || async {
        match store.last_profile_send(shop, None, true).await.unwrap() {
            Some(row) => {
                *found.lock().unwrap() = Some(row);
                Ok(())
            }
            None => Err("no completed send yet".to_owned()),
        }
    })
    .await;
    found.into_inner().unwrap().unwrap()
}

/// A range that ends before it starts: refused next to its field, the typed values kept.
async fn refused_range(b: &Browser) {
    set(b, "profiles", "subscribers").await;
    set(b, "list", &LIST.to_string()).await;
    set(b, "active_from", "2026-07-02").await;
    set(b, "active_to", "2026-07-01").await;
    b.click("#send").await;
    let error = b.text("#error-active_to").await;
    assert!(
        error.starts_with("Active to") && error.contains("must be after Active from"),
        "{error}"
    );
    let from = b.find("#active_from").await.prop("value").await.unwrap();
    assert_eq!(from.as_deref(), Some("2026-07-02"));
}

/// Without scripts (choices clicked and typed): a list and a new list at once, refused next
/// to the new list; the choices are kept for correcting.
async fn refused_new_list(b: &Browser) {
    b.click("#profiles option[value='subscribers']").await;
    b.click(&format!("#list option[value='{LIST}']")).await;
    b.fill("#new_list", "VIP").await;
    b.click("#send").await;
    let error = b.text("#error-new_list").await;
    assert!(error.starts_with("List and New list"), "{error}");
    b.find(&format!("#list option[value='{LIST}'][selected]"))
        .await;
    b.find("#profiles option[value='subscribers'][selected]")
        .await;
}
