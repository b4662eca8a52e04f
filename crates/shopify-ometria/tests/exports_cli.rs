//! `shopify-ometria exports list|show`: the data-request exports the worker
//! kept in the store, read from any machine that reaches the database.

use std::process::Command;

use chrono::{TimeDelta, Utc};
use so_domain::{ShopDomain, ShopifyId};

fn cli(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"))
        .args(args)
        .env("SO_DATABASE__URL", db)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn exports_are_listed_without_content_and_shown_in_full() {
    // Arrange: one live export, one expired.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/so.db?mode=rwc", dir.path().display());
    let store = so_store::Store::connect(&db, 1).await.unwrap();
    let shop = ShopDomain::parse("uk.myshopify.com").unwrap();
    let now = Utc::now();
    let content = serde_json::json!({"email": "ann@example.com"});
    let id = store
        .save_export(
            &shop,
            "77",
            Some(ShopifyId::new(5)),
            &content,
            now,
            now + TimeDelta::days(30),
        )
        .await
        .unwrap();
    store
        .save_export(
            &shop,
            "old",
            None,
            &content,
            now - TimeDelta::days(31),
            now - TimeDelta::days(1),
        )
        .await
        .unwrap();
    store.close().await;

    // Act
    let (list_code, listed, _) = cli(&db, &["exports", "list", "--json"]);
    let (show_code, shown, _) = cli(&db, &["exports", "show", &id]);
    let (missing_code, _, missing) = cli(&db, &["exports", "show", "nope"]);
    let (bad_code, _, bad) = cli(&db, &["exports", "list", "--shop", "uk.example.com"]);

    // Assert
    assert_eq!(list_code, 0);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the expired one is not served: {listed}"
    );
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["customer_id"], "5");
    assert!(listed[0].get("content").is_none());
    assert_eq!(show_code, 0);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["content"], content);
    assert_ne!(missing_code, 0);
    assert!(
        missing.contains("no data export with id `nope`"),
        "{missing}"
    );
    assert_ne!(bad_code, 0);
    assert!(bad.contains("`shop`"), "{bad}");
}
