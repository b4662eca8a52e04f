//! The Shops page in a real browser: every shop's state at a glance. One shop gets a webhook
//! delivered (counted at the fake Ometria) and one dead-lettered (counted at the broker); the
//! other a subscription check that found subscriptions missing. Each row must show its own
//! shop's figures, and the worker's lag must come from progress made after the test began.
//! On SQLite and PostgreSQL (every figure but the queues' depths is read from the store).

use std::time::Duration;

use chrono::{DateTime, Utc};
use so_domain::ShopDomain;
use so_ops::{Filter, QueueOps, TargetQueue};
use so_store::WebhookCheck;
use so_testkit::{Backend, Webhook, eventually};

use super::browser::Browser;
use super::{OTHER, SHOP, TOKEN, app, customer};

#[tokio::test]
async fn the_shops_page_shows_each_shops_state_sqlite() {
    every_shop_at_a_glance(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_shops_page_shows_each_shops_state_postgres() {
    every_shop_at_a_glance(Backend::Postgres).await;
}

/// The dead-letter queue's depth on the broker (not the index the page reads).
async fn dead_letters_on_the_broker(ops: &QueueOps) -> u32 {
    ops.list(TargetQueue::DeadLetter, &Filter::default(), 0)
        .await
        .unwrap()
        .depth
}

/// The attribute `name` of the element `css` in the row of `shop`.
async fn cell(b: &Browser, shop: &str, css: &str, name: &str) -> Option<String> {
    b.find(&format!("tr[data-shop='{shop}'] {css}"))
        .await
        .attr(name)
        .await
        .unwrap()
}

fn time(raw: Option<String>) -> Option<DateTime<Utc>> {
    raw.map(|t| DateTime::parse_from_rfc3339(&t).unwrap().to_utc())
}

async fn every_shop_at_a_glance(backend: Backend) {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = app(backend, Vec::new()).await;
    let ops = app.queue_ops().await;
    // Whole seconds: the store keeps times to the second.
    let began = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let check = WebhookCheck {
        checked_at: began,
        in_order: false,
        kind: "shop_specific".to_owned(),
        states: [("ok".to_owned(), 10), ("missing".to_owned(), 2)].into(),
    };
    let other = ShopDomain::parse(OTHER).unwrap();
    app.store()
        .await
        .save_webhook_check(&other, &check)
        .await
        .unwrap();
    assert_eq!(app.send(&customer(701, SHOP)).await.status(), 200);
    let poison = Webhook::new("orders/create", r#"{"id":42,"line_items":"not a list"}"#).shop(SHOP);
    assert_eq!(app.send(&poison).await.status(), 200);
    app.contacts_arrive([701]).await;
    eventually(Duration::from_secs(30), || async {
        match dead_letters_on_the_broker(&ops).await {
            1 => Ok(()),
            n => Err(format!("{n} dead letters on the broker")),
        }
    })
    .await;

    let console = &app.ops_address;
    b.log_in(console, "Ana", TOKEN).await;
    // The index and the worker's progress follow the broker by a moment: reload until the
    // page has caught up, or fail after 30 s.
    eventually(Duration::from_secs(30), || async {
        b.goto(&format!("{console}/console/")).await;
        let dead = cell(&b, SHOP, "td[data-label='Dead letters']", "data-count").await;
        let settled = time(
            b.find("#lag")
                .await
                .attr("data-settled-before")
                .await
                .unwrap(),
        );
        match (dead.as_deref(), settled) {
            (Some("1"), Some(t)) if t >= began => Ok(()),
            other => Err(format!("dead letters and progress: {other:?}")),
        }
    })
    .await;

    // The shop that got the webhooks.
    let last_webhook = time(cell(&b, SHOP, "td[data-label='Last webhook'] time", "datetime").await);
    let last_push = time(cell(&b, SHOP, "td[data-label='Last push'] time", "datetime").await);
    let now = Utc::now();
    for (what, t) in [("webhook", last_webhook), ("push", last_push)] {
        let t = t.unwrap_or_else(|| panic!("no last {what}"));
        assert!(
            t >= began && t <= now,
            "last {what} at {t}, test ran {began}..{now}"
        );
    }
    let count = |css: &'static str| cell(&b, SHOP, css, "data-count");
    assert_eq!(count("td[data-label='Parked']").await.as_deref(), Some("0"));
    assert_eq!(
        count("td[data-label='Rejected (24 h)']").await.as_deref(),
        Some("0")
    );
    assert_eq!(
        cell(&b, SHOP, "td[data-label='Subscriptions']", "data-in-order").await,
        None
    );
    assert_eq!(
        cell(&b, SHOP, "td[data-label='Connected']", "data-connection")
            .await
            .as_deref(),
        Some("none")
    );

    // The other shop: nothing of the first shop's, and its own check.
    assert_eq!(
        cell(&b, OTHER, "td[data-label='Dead letters']", "data-count")
            .await
            .as_deref(),
        Some("0")
    );
    let other_row = format!("tr[data-shop='{OTHER}'] td[data-label='Last webhook']");
    assert_eq!(b.text(&other_row).await, "never");
    assert_eq!(
        cell(&b, OTHER, "td[data-label='Subscriptions']", "data-in-order")
            .await
            .as_deref(),
        Some("false")
    );
    assert_eq!(
        b.text("#waiting").await,
        "0 in work queues, 0 in retry",
        "everything sent was settled"
    );
    b.screenshot("shops").await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.screenshot("shops-phone").await;
    b.close().await;
    app.teardown().await;
}
