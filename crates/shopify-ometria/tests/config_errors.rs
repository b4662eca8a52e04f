//! A bad shop configuration stops the binary at start with messages that
//! name the shop and the key, and `check-config` lists every problem.

use std::process::Command;

const BAD: &str = r#"
[shops."uk.myshopify.com"]
namespace = "uk:"
[shops."uk.myshopify.com".mappings.contact]
tier = "metafield.custom.tier"
[shops."uk.myshopify.com".mappings.order]
timestamp = "note"
[shops."de.myshopify.com".abandoned_checkouts]
enabled = true
event_type = "this event type name is far too long for ometria"
"#;

fn run(args: &[&str], config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shopify-ometria"))
        .args(args)
        .arg("--config")
        .arg(&path)
        .env_remove("SO_OMETRIA__API_KEY")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn names_every_problem(text: &str) {
    for wanted in [
        r#"shops."uk.myshopify.com".mappings.contact.tier: unknown source field "metafield.custom.tier""#,
        r#"shops."uk.myshopify.com".mappings.order.timestamp"#,
        r#"shops."de.myshopify.com".abandoned_checkouts.event_type"#,
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing in:\n{text}");
    }
}

#[test]
fn check_config_lists_every_shop_problem_and_exits_2() {
    let (code, text) = run(&["check-config"], BAD);
    assert_eq!(code, 2, "{text}");
    names_every_problem(&text);
    assert!(text.contains("3 problem(s) found"), "{text}");
}

#[test]
fn the_worker_refuses_to_start_with_the_same_messages() {
    let (code, text) = run(&["worker"], BAD);
    assert_ne!(code, 0, "{text}");
    names_every_problem(&text);
}

#[test]
fn check_config_prints_each_shops_effective_settings_with_secrets_masked() {
    let good = r#"
[database]
email_key = "guest-email-key-9012"
[shops."uk.myshopify.com"]
webhook_secrets = ["uk-webhook-secret-1234"]
namespace = "uk:"
profiles = "subscribers"
[shops."uk.myshopify.com".ometria]
api_key = "uk-ometria-key-5678"
[shops."uk.myshopify.com".mappings.product]
brand = "vendor"
"#;
    let (code, text) = run(&["check-config"], good);
    assert_eq!(code, 0, "{text}");
    assert!(
        !text.contains("uk-webhook-secret")
            && !text.contains("uk-ometria-key")
            && !text.contains("guest-email-key"),
        "{text}"
    );
    assert!(
        text.contains("****1234") && text.contains("****5678") && text.contains("****9012"),
        "{text}"
    );
    assert!(text.contains(r#""profiles": "subscribers""#), "{text}");
    assert!(text.contains(r#""brand": "vendor""#), "{text}");
}
