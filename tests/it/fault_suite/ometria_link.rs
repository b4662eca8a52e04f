//! Ometria faults at the socket level, through a TCP proxy in front of the
//! fake: connections closed as soon as they are accepted, then a link that
//! accepts and never answers (bytes held both ways), so the client's
//! request timeout fires. The events retry through the tiers and arrive,
//! and another shop's Ometria account keeps receiving meanwhile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use so_testkit::{Backend, FakeConfig, FakeOmetria, TestApp, TestAppOptions, Webhook};

use super::OUTAGE;
use super::harness::{Fault, app_with, backends, load_with_fault, measure};
use crate::payloads;

/// A shop with an Ometria account of its own, reached directly.
const OTHER_SHOP: &str = "other-shop.myshopify.com";
/// Webhooks sent to the other shop during each half of the fault.
const OTHER_BATCH: u64 = 10;

/// Sends [`OTHER_BATCH`] customers to the other shop and waits until its
/// Ometria has them; how long that took, or `None` after `within`.
async fn other_account_flows(
    app: &TestApp,
    other: &FakeOmetria,
    base: u64,
    within: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let before = other.writes_applied();
    for id in base..base + OTHER_BATCH {
        let body = payloads::customer(
            id,
            &format!("other-{id}@example.com"),
            "2026-11-20T10:00:00+00:00",
        );
        let hook = Webhook::new("customers/create", serde_json::to_vec(&body).expect("json"))
            .shop(OTHER_SHOP);
        assert_eq!(
            app.send(&hook).await.status(),
            200,
            "the other shop's webhook"
        );
    }
    while started.elapsed() < within {
        if other.writes_applied() >= before + OTHER_BATCH as usize {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn fault_ometria_link_closed_then_unanswered() {
    for backend in backends(Backend::Sqlite) {
        let other = FakeOmetria::start(FakeConfig::unlimited()).await;
        // Its writes are counted from the write log, which is off by default.
        other.log_writes();
        let shops = format!(
            "[shops.\"test-shop.myshopify.com\"]\n\
             [shops.\"{OTHER_SHOP}\".ometria]\napi_url = \"{}\"\napi_key = \"{}\"\n",
            other.url(),
            other.api_key()
        );
        let app = app_with(TestAppOptions {
            backend,
            ometria_through_proxy: true,
            config_toml: Some(shops),
            env: vec![("SO_OMETRIA__REQUEST_TIMEOUT_MS".into(), "1000".into())],
            ..TestAppOptions::default()
        })
        .await;
        let proxy = app.ometria_proxy.as_ref().expect("Ometria proxy");
        let url = app.webhook_url();
        let flowed = Mutex::new((None, None));
        let sent = load_with_fault(&app, &url, 100_000, || async {
            proxy.refuse(true);
            proxy.cut_all();
            let started = Instant::now();
            let while_closed = other_account_flows(&app, &other, 900_000, OUTAGE).await;
            tokio::time::sleep(OUTAGE.saturating_sub(started.elapsed())).await;
            proxy.refuse(false);
            // Accepted, never answered: longer than the request timeout.
            proxy.blackhole(true);
            let started = Instant::now();
            let while_unanswered = other_account_flows(&app, &other, 910_000, OUTAGE).await;
            tokio::time::sleep(OUTAGE.saturating_sub(started.elapsed())).await;
            proxy.blackhole(false);
            proxy.cut_all();
            *flowed.lock().unwrap() = (while_closed, while_unanswered);
        })
        .await;
        let report = measure(&app, "Ometria link", backend, Fault::OmetriaLink, &sent).await;
        report.print();
        let (while_closed, while_unanswered) = *flowed.lock().unwrap();
        println!(
            "Ometria link: the other account received its {OTHER_BATCH} within {while_closed:?} \
             while the link was closed, {while_unanswered:?} while it was unanswered"
        );
        app.teardown().await;
        report.assert_sound();
        assert!(
            while_closed.is_some(),
            "the other account stalled while the link was closed"
        );
        assert!(
            while_unanswered.is_some(),
            "the other account stalled while the link was unanswered"
        );
    }
}
