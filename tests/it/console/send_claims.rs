//! Console profile sends across processes and at shutdown, on both store backends, with
//! embedded requests over HTTP (each carrying a fresh ID token):
//! - while another process's send of the shop holds its claim, a console send is refused
//!   (409, said next to the Send button with who started the other and when), nothing is
//!   sent; once it ends, the console's send runs;
//! - a console send the service's shutdown catches mid-way is recorded `interrupted` with its
//!   checkpoint, its claim released, and the same send resumed later (as `send-profiles`
//!   would) reads the rest, every subscriber reaching the fake Ometria.

use std::time::Duration;

use so_domain::ShopDomain;
use so_domain::merchant::ProfileFilter;
use so_domain::ometria::RecordType;
use so_fake_shopify::{DEFAULT_SHOP, DEFAULT_TOKEN, FakeShopify, MarketingState};
use so_queue::Publisher;
use so_shopify_admin::{AdminClient, AdminSettings, ShopCredentials};
use so_sync::profiles::{Choices, Claimant, Kind, ProfileSend, SystemClock};
use so_testkit::{Backend, TestApp, eventually};
use tokio_util::sync::CancellationToken;

use super::embedded::{SECRET, env, token};
use super::sync::app_with;
use crate::backfill::count_is;

const LIST: u64 = 4242;

async fn post_send(app: &TestApp) -> (u16, String) {
    let now = chrono::Utc::now().timestamp();
    let res = app
        .client
        .post(format!(
            "{}/console/shops/{DEFAULT_SHOP}/sync/send",
            app.ops_address
        ))
        .bearer_auth(token(DEFAULT_SHOP, now, SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("profiles=subscribers&list={LIST}"))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn sync_page(app: &TestApp) -> String {
    let now = chrono::Utc::now().timestamp();
    app.client
        .get(format!(
            "{}/console/shops/{DEFAULT_SHOP}/sync",
            app.ops_address
        ))
        .bearer_auth(token(DEFAULT_SHOP, now, SECRET))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn subscribers(data: &so_fake_shopify::Dataset) -> usize {
    data.customers
        .iter()
        .filter(|c| c.email.is_some() && c.marketing_state() == MarketingState::Subscribed)
        .count()
}

#[tokio::test]
async fn a_console_send_is_refused_while_another_process_sends_the_shop_sqlite() {
    refused_while_another_sends(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_console_send_is_refused_while_another_process_sends_the_shop_postgres() {
    refused_while_another_sends(Backend::Postgres).await;
}

async fn refused_while_another_sends(backend: Backend) {
    let shopify = FakeShopify::start().await;
    let data = shopify.seed_generated(DEFAULT_SHOP, 40, 1, 0.5);
    let app = app_with(backend, &shopify, "", env()).await;
    // Another process (its own connection to the store): `send-profiles` holding the claim.
    let other = so_store::Store::connect(&app.database.as_ref().unwrap().url, 2)
        .await
        .unwrap();
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    let cli = Claimant::new("send-profiles:4242", "send-profiles");
    cli.claim(&other, &shop).await.unwrap();

    let page = sync_page(&app).await;
    assert!(
        page.contains(r#"id="send-claim""#) && page.contains("send-profiles"),
        "{page}"
    );
    let (status, body) = post_send(&app).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(r#"id="error-send""#), "{body}");
    assert!(
        body.contains(&format!(
            "a send of {DEFAULT_SHOP} is running (started by send-profiles"
        )),
        "{body}"
    );
    let store = app.store().await;
    assert_eq!(
        store.last_profile_send(&shop, None, false).await.unwrap(),
        None,
        "a refused send was recorded"
    );
    assert_eq!(
        store.send_claim(&shop).await.unwrap().map(|c| c.holder),
        Some(cli.holder.clone()),
        "the other process's claim is untouched"
    );

    // The other send ends: the console's runs, to its end.
    cli.release(&other, &shop).await;
    let (status, body) = post_send(&app).await;
    assert_eq!(status, 200, "{body}");
    let subscribed = subscribers(&data);
    count_is(app.ometria(), RecordType::Contact, subscribed).await;
    eventually(Duration::from_secs(30), || async {
        match store.last_profile_send(&shop, None, false).await.unwrap() {
            Some(r) if r.outcome == "completed" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // Its claim is released at its end.
    eventually(Duration::from_secs(10), || async {
        match store.send_claim(&shop).await.unwrap() {
            None => Ok(()),
            Some(c) => Err(format!("still claimed by {}", c.actor)),
        }
    })
    .await;
    drop(other);
    app.teardown().await;
}

#[tokio::test]
async fn a_console_send_stops_at_shutdown_with_its_checkpoint_and_resumes_sqlite() {
    stops_at_shutdown(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_console_send_stops_at_shutdown_with_its_checkpoint_and_resumes_postgres() {
    stops_at_shutdown(Backend::Postgres).await;
}

async fn stops_at_shutdown(backend: Backend) {
    let shopify = FakeShopify::start().await;
    // Subscribers only are read (Shopify's search filters them): three pages of them.
    let data = shopify.seed_generated(DEFAULT_SHOP, 1_500, 1, 0.5);
    let total = subscribers(&data) as u64;
    assert!(total > 2 * 250, "{total} subscribers");
    let mut app = app_with(backend, &shopify, "", env()).await;
    let store = app.store().await;
    let shop = ShopDomain::parse(DEFAULT_SHOP).unwrap();
    // Every page slow: the shutdown lands while the send is mid-way.
    shopify
        .shop(DEFAULT_SHOP)
        .delay_next(1_000, Duration::from_secs(2));
    let (status, body) = post_send(&app).await;
    assert_eq!(status, 200, "{body}");
    eventually(Duration::from_secs(60), || async {
        match store.last_profile_send(&shop, None, false).await.unwrap() {
            Some(r) if r.counts.read > 0 => Ok(()),
            other => Err(format!("no page read yet: {other:?}")),
        }
    })
    .await;
    assert!(
        app.stop_console().await,
        "the send did not stop in the grace"
    );

    let row = store
        .last_profile_send(&shop, None, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.outcome, "interrupted", "{row:?}");
    assert!(row.counts.read > 0 && row.counts.read < total, "{row:?}");
    let checkpoint = store
        .backfill_checkpoint(&shop, &format!("profile_send:{}", row.id))
        .await
        .unwrap()
        .expect("its checkpoint");
    assert_eq!(checkpoint.lines_done, row.counts.read);
    assert!(checkpoint.operation_id.is_some() && checkpoint.finished_at.is_none());
    assert_eq!(
        store.send_claim(&shop).await.unwrap(),
        None,
        "claim released"
    );

    // Later (as `send-profiles` with the same choices): the same send resumes, the rest read.
    shopify.shop(DEFAULT_SHOP).delay_next(0, Duration::ZERO);
    let credentials =
        ShopCredentials::new(DEFAULT_SHOP, DEFAULT_TOKEN).with_base_url(&shopify.base_url());
    let admin = AdminClient::new(&AdminSettings::default(), &credentials).unwrap();
    let publisher = Publisher::new(app.broker.clone());
    let resumed = ProfileSend {
        admin: &admin,
        publisher: &publisher,
        store: &store,
        shop: &shop,
        api_version: &app.config.shopify_admin.api_version,
        kind: Kind::OnDemand,
        choices: Choices {
            profiles: ProfileFilter::Subscribers,
            list: Some(LIST),
            active_from: None,
            active_to: None,
        },
        clock: &SystemClock,
        progress: &so_sync::backfill::Quiet,
        stop: &CancellationToken::new(),
        by: &Claimant::new("send-profiles:1", "send-profiles"),
    }
    .run()
    .await
    .unwrap();
    assert_eq!(resumed.id, row.id, "the same send resumed");
    assert_eq!(resumed.counts.read, total);
    count_is(app.ometria(), RecordType::Contact, subscribers(&data)).await;
    app.teardown().await;
}
