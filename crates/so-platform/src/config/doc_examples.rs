//! The TOML examples of `docs/configuration.md` load: an operator copies them, so an example
//! that is not valid TOML, or names a key the loader refuses, is a defect of the docs.

use super::Config;

/// Every ```toml block of the page.
fn examples(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => out.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_toml_example_of_the_configuration_page_loads() {
    let page = include_str!("../../../../docs/configuration.md");
    let blocks = examples(page);
    assert!(!blocks.is_empty(), "the page has TOML examples");
    let env = [
        ("SO_SHOPIFY__WEBHOOK_SECRETS", "example-secret"),
        ("SO_DATABASE__EMAIL_KEY", "0123456789abcdef0123"),
    ];
    for (i, block) in blocks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, block).unwrap();
        if let Err(e) = Config::load(Some(&path), env) {
            panic!(
                "example {} of docs/configuration.md does not load: {e}\n{block}",
                i + 1
            );
        }
    }
}
