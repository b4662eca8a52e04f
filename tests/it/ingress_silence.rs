//! The ingress's silence metrics: each configured shop's last authentic
//! webhook and its threshold, read from `/metrics`.

use so_testkit::metrics::value;
use so_testkit::{TestApp, TestAppOptions, Webhook};

const LAST: &str = "so_webhook_last_received_timestamp_seconds";
const THRESHOLD: &str = "so_webhook_silence_threshold_seconds";

#[tokio::test]
async fn only_authentic_webhooks_move_their_shops_clock_and_thresholds_are_exported() {
    // Own shop names: the metrics recorder is shared by the tests of this binary.
    let (loud, quiet) = ("silence-loud.myshopify.com", "silence-quiet.myshopify.com");
    let app = TestApp::spawn_with(TestAppOptions {
        config_toml: Some(format!(
            "[shopify]\nsilence_after_secs = 7200\n[shops.\"{loud}\"]\nsilence_after_secs = 600\n[shops.\"{quiet}\"]\n"
        )),
        ..TestAppOptions::default()
    })
    .await;
    let page = app.metrics().await;
    assert_eq!(value(&page, THRESHOLD, &[("shop", loud)]), 600.0);
    assert_eq!(value(&page, THRESHOLD, &[("shop", quiet)]), 7200.0);
    let started_loud = value(&page, LAST, &[("shop", loud)]);
    let started_quiet = value(&page, LAST, &[("shop", quiet)]);
    assert!(
        started_loud > 0.0 && started_quiet > 0.0,
        "clocks start at start"
    );

    let forged = Webhook::new("customers/create", r#"{"id":1}"#).shop(loud);
    assert_eq!(app.send_signed_with(&forged, "wrong").await.status(), 401);
    let page = app.metrics().await;
    assert_eq!(
        value(&page, LAST, &[("shop", loud)]),
        started_loud,
        "forged: no move"
    );

    let real = Webhook::new("customers/create", r#"{"id":2}"#).shop(loud);
    assert_eq!(app.send(&real).await.status(), 200);
    let page = app.metrics().await;
    assert!(value(&page, LAST, &[("shop", loud)]) > started_loud);
    assert_eq!(value(&page, LAST, &[("shop", quiet)]), started_quiet);
}

/// A shop added to the store while the ingress runs gets its own clock and
/// threshold, and its webhooks move it (not the `unconfigured` one).
#[tokio::test]
async fn a_shop_added_at_run_time_gets_its_own_clock_and_threshold() {
    let added = "silence-added.myshopify.com";
    let app = TestApp::spawn_with(TestAppOptions {
        worker: true,
        config_toml: Some("[shopify]\nsilence_after_secs = 7200\n".to_owned()),
        ..TestAppOptions::default()
    })
    .await;
    let store = app.store().await;
    let shop = so_domain::ShopDomain::parse(added).unwrap();
    let settings = so_platform::ShopSettings {
        silence_after_secs: Some(900),
        ..so_platform::ShopSettings::default()
    };
    let by = so_store::ShopWriter {
        actor: "test",
        now: chrono::Utc::now(),
    };
    store
        .put_shop_settings(
            &shop,
            &so_platform::shops_live::to_stored(&settings),
            so_store::ShopSource::Store,
            by,
        )
        .await
        .unwrap();
    // Served once the ingress's registry has read the new revision.
    let started = so_testkit::eventually(std::time::Duration::from_secs(30), || async {
        let page = app.metrics().await;
        // Absent series read 0.
        let threshold = value(&page, THRESHOLD, &[("shop", added)]);
        let last = value(&page, LAST, &[("shop", added)]);
        if threshold == 900.0 && last > 0.0 {
            Ok(last)
        } else {
            Err(format!("threshold {threshold}, clock {last}"))
        }
    })
    .await;
    let real = Webhook::new("customers/create", r#"{"id":3}"#).shop(added);
    assert_eq!(app.send(&real).await.status(), 200);
    let page = app.metrics().await;
    assert!(value(&page, LAST, &[("shop", added)]) > started);
    app.teardown().await;
}
