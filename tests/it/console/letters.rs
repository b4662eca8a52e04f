//! Dead letters in a real browser: find one by reason, open it (customer data masked), reveal
//! it, replay it as a dry run (nothing moves), then for real after the cause is fixed, and see
//! it reach the fake Ometria once; purge another, refused until confirmed; the operations list.

use std::time::Duration;

use so_domain::ometria::RecordType;
use so_ops::{Filter, QueueOps, TargetQueue};
use so_testkit::{Backend, Webhook, eventually};

use super::browser::Browser;
use super::{SHOP, TOKEN, app, customer};

async fn dead_letters(ops: &QueueOps) -> u32 {
    ops.list(TargetQueue::DeadLetter, &Filter::default(), 0)
        .await
        .unwrap()
        .matched
}

async fn dead_letters_reach(ops: &QueueOps, want: u32) {
    eventually(Duration::from_secs(30), || async {
        match dead_letters(ops).await {
            n if n == want => Ok(()),
            n => Err(format!("{n} dead letters, want {want}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_reveal_and_replay_a_dead_letter() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = app(Backend::Sqlite, Vec::new()).await;
    let ops = app.queue_ops().await;
    let fake = app.ometria();
    fake.set_validation(so_fake_ometria::Validation {
        mode: so_fake_ometria::ValidationMode::Synchronous,
        ..Default::default()
    });
    fake.reject_ids(["601"]);
    assert_eq!(app.send(&customer(601, SHOP)).await.status(), 200);
    let poison = Webhook::new("orders/create", r#"{"id":42,"line_items":"not a list"}"#).shop(SHOP);
    assert_eq!(app.send(&poison).await.status(), 200);
    dead_letters_reach(&ops, 2).await;
    let console = &app.ops_address;

    b.log_in(console, "Ana", TOKEN).await;
    b.click("a[href='/console/dead-letters']").await;
    assert_eq!(b.text("#matched-count").await, "2");
    b.fill("#reason", "ometria_record_rejected").await;
    b.click("#filter").await;
    b.find("#reason[value='ometria_record_rejected']").await;
    assert_eq!(b.text("#matched-count").await, "1");

    // Open it: the customer's address is masked until revealed.
    let link = b.find("table.letters tbody tr a").await;
    let href = link.attr("href").await.unwrap().unwrap();
    link.click().await.unwrap();
    assert_eq!(b.text("dd#reason").await, "ometria_record_rejected");
    let masked = b.text("#payload").await;
    assert!(
        masked.contains("\"id\": 601") && !masked.contains("c601@example.com"),
        "{masked}"
    );
    b.screenshot("dead-letter").await;
    b.click("#reveal").await;
    b.find("#payload[data-masked='false']").await;
    assert!(b.text("#payload").await.contains("c601@example.com"));

    // A dry run moves nothing.
    b.click("#replay-dry-run").await;
    assert_eq!(b.text("#report-matched").await, "1");
    assert_eq!(b.text("#done").await, "0");
    assert_eq!(dead_letters(&ops).await, 2);

    // The cause fixed, the replay delivers it once; the other dead letter stays.
    fake.clear_faults();
    b.goto(&format!("{console}{href}")).await;
    b.click("#replay").await;
    assert_eq!(b.text("#done").await, "1");
    b.screenshot("replayed").await;
    app.contacts_arrive([601]).await;
    assert_eq!(fake.write_count(RecordType::Contact, "601"), 1);
    dead_letters_reach(&ops, 1).await;
    let history = ops.history(10).await.unwrap();
    let seen: Vec<(&str, u64, &str)> = history
        .iter()
        .map(|h| (h.operation.as_str(), h.done, h.actor.as_str()))
        .collect();
    assert_eq!(seen[0], ("replay", 1, "console:Ana"), "{seen:?}");

    // Purge the other one: refused without the confirmation (nothing deleted), done with it.
    let invalid = format!("{console}/console/dead-letters?reason=invalid_payload");
    b.goto(&invalid).await;
    assert_eq!(b.text("#matched-count").await, "1");
    b.click("#purge-dry-run").await;
    b.click("#purge").await;
    assert_eq!(b.text("code[data-code]").await, "invalid_input");
    assert_eq!(dead_letters(&ops).await, 1);
    b.goto(&invalid).await;
    b.click("#purge-dry-run").await;
    b.click("#purge-confirm").await;
    b.click("#purge").await;
    assert_eq!(b.text("#done").await, "1");
    dead_letters_reach(&ops, 0).await;
    b.goto(&format!("{console}/console/dead-letters")).await;
    let operations = b.text("table.operations").await;
    assert!(
        operations.contains("purge") && operations.contains("console:Ana"),
        "{operations}"
    );
    b.screenshot("operations").await;
    b.close().await;
    app.teardown().await;
}
