//! An operator in a real browser: log in, see the shops, pause a shop and see a webhook parked,
//! resume it and see the webhook delivered (counted at the fake Ometria), log out. On SQLite
//! and PostgreSQL (the pause lives in the store), on PostgreSQL with JavaScript off.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_testkit::{Backend, eventually};

use super::browser::{Browser, Scripts};
use super::{OTHER, SHOP, TOKEN, admin_get, app, parked_of, until_one_is_parked};

async fn log_in_pause_and_resume_a_shop(backend: Backend, scripts: Scripts) {
    let Some(b) = Browser::start_with(scripts).await else {
        return;
    };
    // Screenshots from the run with scripts on (the pages look the same either way).
    let screenshots = matches!(scripts, Scripts::On);
    let app = app(backend, Vec::new()).await;
    let ops = app.queue_ops().await;
    let fake = app.ometria();
    let console = &app.ops_address;

    // Not logged in: the console sends the browser to the login page.
    b.goto(&format!("{console}/console/")).await;
    b.find("#login").await;
    assert!(
        b.url().await.ends_with("/console/login"),
        "{}",
        b.url().await
    );
    if screenshots {
        b.screenshot("login").await;
    }
    // A wrong token is refused on the page, and gives no session.
    b.log_in(console, "Ana", "not-the-token").await;
    assert_eq!(b.text("#login-error").await, "Wrong admin token.");
    b.log_in(console, "Ana", TOKEN).await;
    let row = b
        .find(&format!("tr[data-shop='{SHOP}'] [data-state]"))
        .await;
    assert_eq!(
        row.attr("data-state").await.unwrap().as_deref(),
        Some("syncing")
    );
    b.find(&format!("tr[data-shop='{OTHER}']")).await;
    // console.js marks the page when it runs: the scripts really are on, or off.
    let marked = b
        .client
        .find_all(fantoccini::Locator::Css("html[data-js='on']"))
        .await
        .unwrap();
    assert_eq!(
        marked.len(),
        usize::from(screenshots),
        "scripts {scripts:?}"
    );

    b.click(&format!("tr[data-shop='{SHOP}'] a")).await;
    assert_eq!(b.text("#timezone").await, "Europe/Paris");
    assert_eq!(b.text("#sync-toggle").await, "Pause sync");
    b.click("#sync-toggle").await;
    // The next page, not the one the click left (the post takes a moment).
    b.find("#sync-toggle[aria-pressed='false']").await;
    assert_eq!(b.text("#sync-toggle").await, "Resume sync");
    // The store says paused (independent of the page).
    let status = admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], true, "{status}");

    // A webhook of the paused shop is parked, not pushed.
    let sent = until_one_is_parked(&app, &ops, SHOP).await;
    let parked_id = *sent.last().unwrap();
    assert!(
        fake.record(RecordType::Contact, &parked_id.to_string())
            .is_none()
    );
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    assert_ne!(b.text("#parked").await, "0");
    if screenshots {
        b.screenshot("shop-paused").await;
        b.client.set_window_size(390, 844).await.unwrap();
        b.screenshot("shop-paused-phone").await;
        b.client.set_window_size(1280, 900).await.unwrap();
    }

    // Resume: the parked webhook reaches the fake Ometria.
    b.click("#sync-toggle").await;
    b.find("#sync-toggle[aria-pressed='true']").await;
    assert_eq!(b.text("#sync-toggle").await, "Pause sync");
    app.contacts_arrive([parked_id]).await;
    eventually(Duration::from_secs(30), || async {
        match parked_of(&ops, SHOP).await {
            0 => Ok(()),
            n => Err(format!("{n} still parked")),
        }
    })
    .await;
    assert_eq!(
        fake.record(RecordType::Contact, &parked_id.to_string())
            .unwrap()["email"],
        format!("c{parked_id}@example.com")
    );
    // The push's time is written just after Ometria's answer: wait until the API has it.
    eventually(Duration::from_secs(30), || async {
        let s = admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
        if s["detail"]["last_push_at"].is_string() {
            Ok(())
        } else {
            Err(format!("no last push yet: {s}"))
        }
    })
    .await;
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    let push = b.text("#last-push").await;
    assert!(push.ends_with("(Europe/Paris)"), "{push}");
    assert!(
        b.text("#waiting").await.ends_with("in retry"),
        "the shared queues' depths are shown"
    );
    // The delivered webhook's time is in the shop's zone (Paris: CET in winter, CEST in summer).
    let last = b.text("#last-webhook").await;
    assert!(
        last.ends_with("(Europe/Paris)") && last.contains(" CE"),
        "{last}"
    );
    if screenshots {
        b.screenshot("shop").await;
    }

    // Both actions are in the shop's history under the operator's name.
    let history = admin_get(&app, &format!("/admin/shops/{SHOP}/history")).await;
    let actors: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["console:Ana", "console:Ana", "config"],
        "{history}"
    );
    let operations = admin_get(&app, "/admin/history").await;
    assert!(
        operations["operations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["actor"] == "console:Ana"),
        "the resume's release is in the operations log: {operations}"
    );

    // Logging out ends the session: the console asks for a login again.
    b.click("#logout").await;
    b.find("#login").await;
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    b.find("#login").await;
    b.close().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_pause_and_resume_a_shop_sqlite() {
    log_in_pause_and_resume_a_shop(Backend::Sqlite, Scripts::On).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_pause_and_resume_a_shop_postgres_with_javascript_off() {
    log_in_pause_and_resume_a_shop(Backend::Postgres, Scripts::Off).await;
}
