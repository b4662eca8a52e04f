//! `send-profiles` refuses bad input with an error naming the option or
//! setting, before it opens the store, RabbitMQ or Shopify: nothing is
//! read or published (the store's SQLite file is never even created).

use std::process::Command;

const SHOP: &str = r#"
[shops."uk.myshopify.com"]
lists = { every_contact = [10] }
admin = { access_token = "shpat_cli_test_token" }
"#;

fn run(args: &[&str], extra: &str) -> (i32, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let db = dir.path().join("store.db");
    let config = format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\n[amqp]\nurl = \"amqp://guest:guest@127.0.0.1:1/%2f\"\n{SHOP}{extra}",
        db.display()
    );
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"))
        .arg("send-profiles")
        .args(args)
        .arg("--config")
        .arg(&path)
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text, db.exists())
}

#[test]
fn bad_input_is_an_error_naming_the_field_and_nothing_runs() {
    let shop = ["--shop", "uk.myshopify.com"];
    let with =
        |more: &[&'static str]| -> Vec<&'static str> { shop.iter().chain(more).copied().collect() };
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (with(&["--list", "99"]), "", "--list 99"),
        (
            with(&["--list", "10", "--new-list", "VIP"]),
            "",
            "--list and --new-list",
        ),
        (
            with(&["--new-list", "VIP"]),
            "",
            "Ometria's API documents no way to create a list",
        ),
        (
            with(&["--active-from", "2026-07-02", "--active-to", "2026-07-01"]),
            "",
            "--active-to",
        ),
        (
            with(&["--active-from", "July"]),
            "",
            "--active-from \"July\"",
        ),
        (vec!["--shop", "uk.example.com"], "", "--shop"),
        (
            with(&[]),
            "[shops.\"uk.myshopify.com\".profile_sends]\nat = \"7pm\"\n",
            "shops.\"uk.myshopify.com\".profile_sends.at",
        ),
        (
            with(&["--auto-now"]),
            "[shops.\"uk.myshopify.com\".profile_sends]\nlist = 55\n",
            "shops.\"uk.myshopify.com\".profile_sends.list",
        ),
    ];
    for (args, extra, wanted) in cases {
        let (code, text, opened) = run(&args, extra);
        assert_ne!(code, 0, "{args:?}: {text}");
        assert!(
            text.contains(wanted),
            "{args:?}: {wanted:?} missing in:\n{text}"
        );
        assert!(!text.contains("RabbitMQ"), "{args:?}: {text}");
        assert!(!opened, "{args:?}: the store was opened");
    }
    let (code, text, opened) = run(&with(&[]), "timezone = \"Mars/Olympus\"\n");
    assert_ne!(code, 0);
    assert!(
        text.contains("shops.\"uk.myshopify.com\".timezone"),
        "{text}"
    );
    assert!(!opened);
}
