//! `[shops."<domain>".admin]` as loaded, validated and printed.

use secrecy::ExposeSecret;
use so_domain::ShopDomain;
use so_shopify_admin::Grant;

use crate::config::{Config, ConfigError};

const NO_ENV: [(&str, &str); 0] = [];

fn load(toml: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load(Some(&path), NO_ENV)
}

fn problems(toml: &str) -> String {
    load(toml).unwrap_err().to_string()
}

const SHOP: &str = "uk.myshopify.com";

#[test]
fn client_credentials_load_and_become_the_shops_grant() {
    let c = load(&format!(
        r#"
[shops."{SHOP}".admin]
client_id = "0123456789"
client_secret = "shpss_0123456789abcdef"
api_url = "http://127.0.0.1:9/shops/{SHOP}"
"#
    ))
    .unwrap();
    let shop = ShopDomain::parse(SHOP).unwrap();
    let admin = &c.shop(&shop).admin;
    assert!(admin.has_access());
    let creds = admin.credentials(&shop).unwrap();
    let Grant::ClientCredentials {
        client_id,
        client_secret,
    } = &creds.grant
    else {
        panic!("{creds:?}")
    };
    assert_eq!(client_id, "0123456789");
    assert_eq!(client_secret.expose_secret(), "shpss_0123456789abcdef");
    assert_eq!(
        creds.token_url(),
        format!("http://127.0.0.1:9/shops/{SHOP}/admin/oauth/access_token")
    );
}

#[test]
fn the_static_token_keeps_working_and_no_access_means_none() {
    let c = load(&format!(
        "[shops.\"{SHOP}\".admin]\naccess_token = \"shpat_abc\"\n[shops.\"de.myshopify.com\"]\nnamespace = \"de:\"\n"
    ))
    .unwrap();
    let uk = ShopDomain::parse(SHOP).unwrap();
    let creds = c.shop(&uk).admin.credentials(&uk).unwrap();
    assert!(matches!(&creds.grant, Grant::StaticToken(t) if t.expose_secret() == "shpat_abc"));
    let de = ShopDomain::parse("de.myshopify.com").unwrap();
    assert!(!c.shop(&de).admin.has_access());
    assert!(c.shop(&de).admin.credentials(&de).is_none());
}

#[test]
fn empty_or_half_client_credentials_are_errors_naming_the_setting() {
    let cases = [
        (
            "client_id = \"\"\nclient_secret = \"s3cr3t\"",
            "admin.client_id must not be empty",
        ),
        (
            "client_id = \"id\"\nclient_secret = \"\"",
            "admin.client_secret must not be empty",
        ),
        (
            "client_id = \"id\"\nclient_secret = \"  \"",
            "admin.client_secret must not be empty",
        ),
        ("client_id = \"id\"", "admin.client_secret is not set"),
        ("client_secret = \"s3cr3t\"", "admin.client_id is not set"),
        (
            "client_id = \"has space\"\nclient_secret = \"s\"",
            "admin.client_id must not be empty and must be visible ASCII",
        ),
        (
            "access_token = \"shpat_x\"\nclient_id = \"id\"\nclient_secret = \"s\"",
            "admin.access_token and admin.client_id/client_secret are two ways",
        ),
        (
            "access_token = \"t\"\napi_url = \"ftp://x\"",
            "admin.api_url must be an http(s) URL",
        ),
    ];
    for (body, wanted) in cases {
        let text = problems(&format!("[shops.\"{SHOP}\".admin]\n{body}\n"));
        let named = format!("shops.\"{SHOP}\".{wanted}");
        assert!(text.contains(&named), "{body}: {named:?} not in {text}");
        assert!(!text.contains("s3cr3t"), "a secret in the message: {text}");
    }
}

#[test]
fn a_malformed_shop_domain_is_an_error_naming_it() {
    let text =
        problems("[shops.\"uk.example.com\".admin]\nclient_id = \"id\"\nclient_secret = \"s\"\n");
    assert!(
        text.contains("shops.\"uk.example.com\" is not a <name>.myshopify.com domain"),
        "{text}"
    );
}

#[test]
fn the_client_secret_is_masked_in_the_output_and_debug() {
    let c = load(&format!(
        "[shops.\"{SHOP}\"]\nwebhook_secrets = [\"shpss_CLIENTSECRET_9f2a\"]\n[shops.\"{SHOP}\".admin]\nclient_id = \"the-client-id\"\nclient_secret = \"shpss_CLIENTSECRET_9f2a\"\n"
    ))
    .unwrap();
    let json = serde_json::to_string_pretty(&c).unwrap();
    assert!(!json.contains("CLIENTSECRET"), "{json}");
    assert!(!format!("{c:?}").contains("CLIENTSECRET"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let admin = &v["shops"][SHOP]["admin"];
    assert_eq!(admin["client_secret"], "****9f2a");
    assert_eq!(admin["client_id"], "the-client-id");
    assert!(admin["access_token"].is_null());
    assert!(c.warnings().iter().all(|w| !w.contains("client_secret")));
}

#[test]
fn a_client_secret_that_does_not_verify_webhooks_is_warned_about() {
    let c = load(&format!(
        "[shopify]\nwebhook_secrets = [\"another-secret\"]\n[shops.\"{SHOP}\".admin]\nclient_id = \"id\"\nclient_secret = \"shpss_app_secret\"\n"
    ))
    .unwrap();
    let warnings = c.warnings();
    assert!(
        warnings.iter().any(|w| w.contains(&format!(
            "shops.\"{SHOP}\".admin.client_secret is not among the shop's webhook secrets"
        ))),
        "{warnings:?}"
    );
}
