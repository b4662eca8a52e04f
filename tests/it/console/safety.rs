//! The console's defences, in a real browser: a form posted without its CSRF token is refused
//! with nothing changed; a stored value holding markup is shown as text and never runs.

use so_testkit::Backend;

use super::browser::Browser;
use super::{SHOP, TOKEN, admin_get, app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_without_its_csrf_token_is_refused() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = app(Backend::Sqlite, Vec::new()).await;
    let console = &app.ops_address;
    b.log_in(console, "Ana", TOKEN).await;
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    // The session cookie still goes with the post; only the form's token is gone.
    b.js("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
        .await;
    b.click("#sync-toggle").await;
    assert_eq!(b.text("code[data-code]").await, "csrf_failed");
    b.screenshot("csrf-refused").await;
    let status = admin_get(&app, &format!("/admin/shops/{SHOP}")).await;
    assert_eq!(status["paused"], false, "nothing changed: {status}");
    let history = admin_get(&app, &format!("/admin/shops/{SHOP}/history")).await;
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );
    b.close().await;
    app.teardown().await;
}

/// Markup that would change the title if it ran (within the 64 characters a name keeps).
const XSS: &str = "<script>document.title='pwned'</script>";

async fn a_stored_xss_attempt_is_shown_as_text(backend: Backend) {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = app(backend, Vec::new()).await;
    let console = &app.ops_address;
    // The name typed at login is stored with the shop as who changed it; so is an admin API
    // client's X-Actor.
    b.log_in(console, XSS, TOKEN).await;
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    b.click("#sync-toggle").await;
    b.find("#sync-toggle[aria-pressed='false']").await;
    let res = app
        .client
        .post(format!("{}/admin/shops/{SHOP}/resume", app.ops_address))
        .bearer_auth(TOKEN)
        .header("X-Actor", r#"<img src=y onerror="document.title='pwned'">"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    for page in [format!("/console/shops/{SHOP}"), "/console/".to_owned()] {
        b.goto(&format!("{console}{page}")).await;
        b.find("main h1").await;
        let source = b.client.source().await.unwrap();
        assert!(
            source.contains("&lt;script&gt;document.title"),
            "{page}: escaped in the HTML"
        );
        assert_ne!(
            b.client.title().await.unwrap(),
            "pwned",
            "{page}: the markup ran"
        );
        let injected = b
            .js("return document.querySelectorAll('main script, main img').length")
            .await;
        assert_eq!(injected, 0, "{page}: no element was injected");
    }
    // The Shop page shows who made the last change.
    b.goto(&format!("{console}/console/shops/{SHOP}")).await;
    let updated = b.text("#updated").await;
    assert!(
        updated.contains("by admin-api:<img src=y"),
        "shown as text: {updated}"
    );
    let shown = b.text(".history").await;
    assert!(shown.contains(&format!("console:{XSS}")), "{shown}");
    b.close().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_xss_attempt_is_shown_as_text_sqlite() {
    a_stored_xss_attempt_is_shown_as_text(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_xss_attempt_is_shown_as_text_postgres() {
    a_stored_xss_attempt_is_shown_as_text(Backend::Postgres).await;
}
