//! Loading, validation and the masked output of the whole configuration.

use secrecy::ExposeSecret;
use so_domain::ShopDomain;
use so_domain::merchant::ProfileFilter;

use super::*;

const NO_ENV: [(&str, &str); 0] = [];

#[test]
fn defaults_load_and_match_the_documented_interface() {
    let c = Config::load(None, NO_ENV).unwrap();
    assert_eq!(
        c.amqp.url.expose_secret(),
        "amqp://guest:guest@127.0.0.1:5672/%2f"
    );
    assert_eq!(c.amqp.prefix, "so");
    assert_eq!(c.ingress.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.ops.listen.to_string(), "127.0.0.1:9090");
    assert_eq!(c.ometria.api_url, "https://api.ometria.com");
    assert!(c.database.url.expose_secret().starts_with("sqlite://data/"));
}

#[test]
fn environment_overrides_with_double_underscore_nesting() {
    let env = [
        ("SO_AMQP__PREFIX", "t1"),
        ("SO_AMQP__PARTITIONS", "3"),
        ("SO_INGRESS__LISTEN", "127.0.0.1:0"),
        ("SO_SHOPIFY__WEBHOOK_SECRETS", "old-secret, new-secret"),
        ("SO_OMETRIA__API_KEY", "12345"),
        ("PATH", "/usr/bin"),
    ];
    let c = Config::load(None, env).unwrap();
    assert_eq!(c.amqp.prefix, "t1");
    assert_eq!(c.amqp.partitions, 3);
    assert_eq!(c.shopify.webhook_secrets.as_slice().len(), 2);
    assert_eq!(c.ometria.api_key.unwrap().expose_secret(), "12345");
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    let err = Config::load(None, [("SO_AMQP__PREFX", "x")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("prefx"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[ingress]\nlisten = \"127.0.0.1:1\"\nmax_bdy = 3\n").unwrap();
    let err = Config::load(Some(&path), NO_ENV).unwrap_err().to_string();
    assert!(err.contains("max_bdy"), "{err}");
}

#[test]
fn invalid_values_name_the_key() {
    let err = Config::load(None, [("SO_INGRESS__MAX_BODY_BYTES", "10")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("ingress.max_body_bytes"), "{err}");
    for bad in ["100", "1000000"] {
        let err = Config::load(None, [("SO_INGRESS__MAX_HEADER_BYTES", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ingress.max_header_bytes"), "{bad}: {err}");
    }
    let fine = Config::load(None, [("SO_INGRESS__MAX_HEADER_BYTES", "65536")]).unwrap();
    assert_eq!(fine.ingress.max_header_bytes, 65536);
    assert_eq!(
        Config::load(None, NO_ENV).unwrap().ingress.max_header_bytes,
        32768
    );
    let err = Config::load(None, [("SO_INGRESS__LISTEN", "nope")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("ingress.listen"), "{err}");
    let err = Config::load(None, [("SO_OPS__CONSOLE_LISTEN", "127.0.0.1:9090")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("ops.console_listen"), "{err}");
    let err = Config::load(None, [("SO_OPS__CONSOLE_LISTEN", "anywhere")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("console_listen"), "{err}");
}

#[test]
fn per_shop_secrets_namespace_and_enabled_flag_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        r#"
[shopify]
webhook_secrets = ["global-secret"]
[shops."uk.myshopify.com"]
webhook_secrets = ["uk-1", "uk-2"]
namespace = "uk:"
[shops."de.myshopify.com"]
enabled = false
"#,
    )
    .unwrap();
    let c = Config::load(Some(&path), NO_ENV).unwrap();
    let uk = ShopDomain::parse("uk.myshopify.com").unwrap();
    let de = ShopDomain::parse("de.myshopify.com").unwrap();
    let other = ShopDomain::parse("other.myshopify.com").unwrap();
    assert_eq!(c.secrets_for(&uk).unwrap().len(), 2);
    assert_eq!(
        c.secrets_for(&de).unwrap()[0].expose_secret(),
        "global-secret"
    );
    assert!(c.secrets_for(&other).is_none());
    assert!(!c.shops["de.myshopify.com"].enabled);
    assert_eq!(c.shops["uk.myshopify.com"].namespace, "uk:");
}

fn load_file(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), NO_ENV)
}

#[test]
fn merchant_settings_per_shop_load_with_their_defaults() {
    let c = load_file(
        r#"
[ometria]
api_key = "global-key"
[shops."uk.myshopify.com"]
namespace = "uk:"
profiles = "subscribers"
behaviour = { average_order_value = false }
lists = { every_contact = [10], subscribers = [42] }
abandoned_checkouts = { enabled = true, delay_secs = 1800, event_type = "basket_left" }
[shops."uk.myshopify.com".ometria]
api_url = "https://eu.ometria.example"
api_key = "uk-key"
requests_per_second = 2.5
[shops."uk.myshopify.com".mappings.contact]
loyalty_tier = "metafields.custom.loyalty_tier"
[shops."uk.myshopify.com".mappings.product]
brand = "vendor"
[shops."de.myshopify.com"]
"#,
    )
    .unwrap();
    let uk = ShopDomain::parse("uk.myshopify.com").unwrap();
    let de = ShopDomain::parse("de.myshopify.com").unwrap();
    let s = c.shop(&uk);
    assert_eq!(s.profiles, ProfileFilter::Subscribers);
    assert!(!s.behaviour.average_order_value && s.behaviour.orders_count);
    assert_eq!(s.lists.subscribers, [42]);
    assert_eq!(
        s.mappings.contact["loyalty_tier"],
        "metafields.custom.loyalty_tier"
    );
    let o = c.ometria_for(&uk);
    assert_eq!(o.api_url, "https://eu.ometria.example");
    assert_eq!(o.api_key.unwrap().expose_secret(), "uk-key");
    assert_eq!(o.requests_per_second, 2.5);
    assert_eq!(
        c.ometria_for(&de).api_key.unwrap().expose_secret(),
        "global-key"
    );
    assert_eq!(c.shop(&de).profiles, ProfileFilter::All);
    assert!(!c.shop(&de).abandoned_checkouts.enabled);
    assert_eq!(c.amqp.scheduled_delays_secs, [1800]);
    let view = serde_json::to_string(&c).unwrap();
    assert!(
        !view.contains("uk-key") && !view.contains("global-key"),
        "{view}"
    );
    assert!(view.contains("loyalty_tier"));
}

#[test]
fn every_bad_shop_setting_is_reported_naming_the_shop_and_key() {
    let err = load_file(
        r#"
[shops."uk.myshopify.com"]
abandoned_checkouts = { delay_secs = 0 }
lists = { subscribers = [0] }
[shops."uk.myshopify.com".ometria]
api_url = "ftp://nope"
[shops."uk.myshopify.com".mappings.contact]
tier = "metafield.custom.tier"
[shops."uk.myshopify.com".mappings.order]
shopify_tags = "tags"
"#,
    )
    .unwrap_err();
    assert_names_each(
        &err,
        &[
            "shops.\"uk.myshopify.com\".abandoned_checkouts.delay_secs",
            "shops.\"uk.myshopify.com\".lists.subscribers",
            "shops.\"uk.myshopify.com\".ometria.api_url",
            "shops.\"uk.myshopify.com\".mappings.contact.tier",
            "shops.\"uk.myshopify.com\".mappings.order.shopify_tags",
        ],
    );
    let err = load_file("[shops.\"uk.myshopify.com\".mappings.contact]\ntier = 3\n").unwrap_err();
    assert!(err.to_string().contains("mappings.contact.tier"), "{err}");
}

#[test]
fn shops_sharing_an_account_must_share_its_budget() {
    let err = load_file(
        r#"
[ometria]
api_key = "k"
[shops."uk.myshopify.com".ometria]
requests_per_second = 8
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("same Ometria account"), "{err}");
}

#[test]
fn without_a_shop_table_every_shop_uses_the_global_secrets() {
    let c = Config::load(None, [("SO_SHOPIFY__WEBHOOK_SECRETS", "s")]).unwrap();
    assert!(
        c.secrets_for(&ShopDomain::parse("any.myshopify.com").unwrap())
            .is_some()
    );
    let c = Config::load(None, NO_ENV).unwrap();
    assert!(
        c.secrets_for(&ShopDomain::parse("any.myshopify.com").unwrap())
            .is_none()
    );
}

#[test]
fn masked_output_contains_no_secret() {
    let env = [
        ("SO_SHOPIFY__WEBHOOK_SECRETS", "supersecretvalue123"),
        ("SO_OMETRIA__API_KEY", "ometria-key-abcdef"),
    ];
    let c = Config::load(None, env).unwrap();
    let text = serde_json::to_string_pretty(&c).unwrap();
    assert!(!text.contains("supersecretvalue"));
    assert!(!text.contains("ometria-key"));
    assert!(text.contains("****e123"));
}

/// Every secret the configuration holds, set to a value carrying `MARKER`
/// (the password of the URLs included), by file and by environment.
const MARKER: &str = "LEAKMARKER";

#[test]
fn no_secret_reaches_the_output_whatever_its_section() {
    let file = format!(
        r#"
[shops."uk.myshopify.com"]
webhook_secrets = ["{MARKER}-shop-webhook-1", "{MARKER}-shop-webhook-2"]
[shops."uk.myshopify.com".ometria]
api_key = "{MARKER}-shop-ometria"
[shops."uk.myshopify.com".admin]
access_token = "{MARKER}-shop-admin"
[shops."de.myshopify.com".admin]
client_id = "de-client-id"
client_secret = "{MARKER}-client-secret"
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, file).unwrap();
    let env = [
        (
            "SO_AMQP__URL",
            format!("amqp://so:{MARKER}-amqp@rabbit:5672/%2f"),
        ),
        (
            "SO_DATABASE__URL",
            format!("postgres://so:{MARKER}-db@pg/so"),
        ),
        ("SO_OPS__ADMIN_TOKEN", format!("{MARKER}-admin-token")),
        (
            "SO_SHOPIFY__WEBHOOK_SECRETS",
            format!("{MARKER}-global-1,{MARKER}-global-2"),
        ),
        ("SO_OMETRIA__API_KEY", format!("{MARKER}-ometria")),
    ];
    let c = Config::load(Some(&path), env).unwrap();

    let json = serde_json::to_string_pretty(&c).unwrap();

    assert!(!json.contains(MARKER), "a secret leaked:\n{json}");
    assert!(
        !format!("{c:?}").contains(MARKER),
        "a secret leaked into Debug"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["amqp"]["url"], "amqp://so:****@rabbit:5672/%2f");
    assert_eq!(v["database"]["url"], "postgres://so:****@pg/so");
    assert_eq!(v["ops"]["admin_token"], "****oken");
    assert_eq!(v["ometria"]["api_key"], "****tria");
    assert_eq!(
        v["shops"]["uk.myshopify.com"]["admin"]["access_token"],
        "****dmin"
    );
    assert_eq!(
        v["shops"]["de.myshopify.com"]["admin"]["client_secret"],
        "****cret"
    );
    assert_eq!(
        v["shops"]["uk.myshopify.com"]["webhook_secrets"],
        serde_json::json!(["****ok-1", "****ok-2"])
    );
}

/// The type-level half of the guarantee: `SecretString` has no `Serialize`
/// impl, so a new secret field in a settings type that derives `Serialize`
/// does not compile until it names a masking serializer. (Inherent consts
/// win over trait consts only when their bounds hold.)
#[test]
fn a_secret_cannot_be_serialized_unmasked_by_omission() {
    struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
    trait Fallback {
        const SERIALIZABLE: bool = false;
    }
    impl<T: ?Sized> Fallback for Probe<T> {}
    impl<T: ?Sized + serde::Serialize> Probe<T> {
        const SERIALIZABLE: bool = true;
    }
    const { assert!(!Probe::<secrecy::SecretString>::SERIALIZABLE) };
    const { assert!(Probe::<crate::secrets::SecretList>::SERIALIZABLE) };
}

#[test]
fn the_output_uses_the_written_keys_and_units_and_loads_back() {
    let env = [
        ("SO_WORKER__BATCH_WINDOW_MS", "40"),
        ("SO_WORKER__LEASE_SECS", "30"),
        ("SO_OPS__SHUTDOWN_GRACE_SECS", "7"),
        ("SO_SYNC__RECONCILE_INTERVAL_SECS", "0"),
        ("SO_SHOPIFY_ADMIN__DEADLINE_MS", "1500"),
    ];
    let c = Config::load(None, env).unwrap();
    assert_eq!(c.worker.batch_window, std::time::Duration::from_millis(40));
    assert!(c.sync.reconcile_interval.is_zero());

    let v = serde_json::to_value(&c).unwrap();

    assert_eq!(v["worker"]["batch_window_ms"], 40);
    assert_eq!(v["worker"]["lease_secs"], 30);
    assert_eq!(v["worker"]["coalesce"], true);
    assert_eq!(v["ops"]["shutdown_grace_secs"], 7);
    assert_eq!(v["ops"]["queue_poll_secs"], 15);
    assert_eq!(v["sync"]["reconcile_interval_secs"], 0);
    assert_eq!(v["shopify_admin"]["deadline_ms"], 1500);
    assert_eq!(v["ometria"]["request_timeout_ms"], 10_000);
    assert_eq!(v["log"]["format"], "text");
    assert_eq!(v["ingress"]["listen"], "127.0.0.1:8080");
    // Apart from the masked secrets, the output is a valid configuration.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json.toml");
    let mut v = v;
    v["amqp"]["url"] = "amqp://guest:guest@127.0.0.1:5672/%2f".into();
    let toml_text = json_to_toml(&v);
    std::fs::write(&path, toml_text).unwrap();
    let back = Config::load(Some(&path), NO_ENV).unwrap();
    assert_eq!(back.worker.lease, c.worker.lease);
    assert_eq!(back.shopify_admin.deadline, c.shopify_admin.deadline);
}

/// Writes a JSON object of sections as TOML (tables of scalars and arrays,
/// which is all the configuration holds; `null` is left out).
fn json_to_toml(v: &serde_json::Value) -> String {
    fn table(prefix: &str, map: &serde_json::Map<String, serde_json::Value>, out: &mut String) {
        let mut nested = Vec::new();
        out.push_str(&format!("[{prefix}]\n"));
        for (k, v) in map {
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::Object(m) => nested.push((k, m)),
                other => out.push_str(&format!("{k:?} = {other}\n")),
            }
        }
        for (k, m) in nested {
            table(&format!("{prefix}.{k:?}"), m, out);
        }
    }
    let mut out = String::new();
    for (section, body) in v.as_object().unwrap() {
        table(&format!("{section:?}"), body.as_object().unwrap(), &mut out);
    }
    out
}

#[test]
fn storefront_and_consent_sync_per_shop_load_validate_and_fall_back() {
    let c = load_file(
        r#"
[sync]
consent_start = "2026-01-01"
[shops."uk.myshopify.com"]
storefront_url = "https://shop.example.co.uk"
store = "uk"
currency = "GBP"
sync = { consent_start = "2026-06-01T00:00:00Z" }
[shops."us.myshopify.com"]
sync = { consent = false }
"#,
    )
    .unwrap();
    let uk = ShopDomain::parse("uk.myshopify.com").unwrap();
    let us = ShopDomain::parse("us.myshopify.com").unwrap();
    let s = c.shop(&uk);
    assert_eq!(
        s.storefront_url.as_deref(),
        Some("https://shop.example.co.uk")
    );
    assert_eq!(
        (s.store.as_deref(), s.currency.as_deref()),
        (Some("uk"), Some("GBP"))
    );
    let start = |shop| c.consent_start_for(shop).unwrap().unwrap().to_rfc3339();
    assert_eq!(start(&uk), "2026-06-01T00:00:00+00:00");
    assert_eq!(start(&us), "2026-01-01T00:00:00+00:00", "the global start");
    assert!(c.consent_sync_enabled(&uk));
    assert!(!c.consent_sync_enabled(&us));

    let err = load_file(
        r#"
[shops."uk.myshopify.com"]
storefront_url = "shop.example.com"
store = ""
currency = "gbp"
sync = { consent_start = "June" }
"#,
    )
    .unwrap_err();
    assert_names_each(
        &err,
        &[
            "shops.\"uk.myshopify.com\".storefront_url",
            "shops.\"uk.myshopify.com\".store",
            "shops.\"uk.myshopify.com\".currency",
            "shops.\"uk.myshopify.com\".sync.consent_start",
        ],
    );
}

/// Every setting in `wanted` is named among the problems `err` reports.
fn assert_names_each(err: &ConfigError, wanted: &[&str]) {
    let ConfigError::Invalid(problems) = err else {
        panic!("{err}")
    };
    let text = problems.join("\n");
    for wanted in wanted {
        assert!(text.contains(wanted), "{wanted} missing in:\n{text}");
    }
}

#[test]
fn broker_addresses_load_from_a_comma_separated_variable_or_a_toml_array() {
    let env = [(
        "SO_AMQP__URLS",
        "amqp://so:pw-1@rabbit-1:5672/%2f, amqp://so:pw-2@rabbit-2:5672/%2f",
    )];
    let c = Config::load(None, env).unwrap();
    let urls: Vec<_> = c
        .amqp
        .addresses()
        .iter()
        .map(|u| u.expose_secret())
        .collect();
    assert_eq!(
        urls,
        [
            "amqp://so:pw-1@rabbit-1:5672/%2f",
            "amqp://so:pw-2@rabbit-2:5672/%2f"
        ]
    );
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(
        v["amqp"]["urls"],
        serde_json::json!([
            "amqp://so:****@rabbit-1:5672/%2f",
            "amqp://so:****@rabbit-2:5672/%2f"
        ])
    );

    let c = load_file("[amqp]\nurls = [\"amqp://a:5672/%2f\", \"amqp://b:5672/%2f\"]\n").unwrap();
    assert_eq!(c.amqp.addresses().len(), 2);
    // The single URL stays the one-element default.
    let c = Config::load(None, [("SO_AMQP__URL", "amqp://one:5672/%2f")]).unwrap();
    assert_eq!(c.amqp.addresses().len(), 1);
    assert_eq!(c.amqp.addresses()[0].expose_secret(), "amqp://one:5672/%2f");
}

#[test]
fn bad_broker_addresses_name_the_setting() {
    let err = Config::load(None, [("SO_AMQP__URLS", "amqp://a/%2f,rabbit-2:5672")]).unwrap_err();
    assert_names_each(&err, &["amqp.urls[1]"]);
    let err = Config::load(
        None,
        [
            ("SO_AMQP__URL", "amqp://one/%2f"),
            ("SO_AMQP__URLS", "amqp://a/%2f,amqp://b/%2f"),
        ],
    )
    .unwrap_err();
    assert_names_each(&err, &["amqp.url and amqp.urls are both set"]);
    let err = Config::load(None, [("SO_AMQP__CONNECT_TIMEOUT_MS", "0")]).unwrap_err();
    assert_names_each(&err, &["amqp.connect_timeout_ms"]);
}

#[test]
fn coalescing_is_on_by_default_and_the_environment_switches_it_off() {
    assert!(Config::load(None, NO_ENV).unwrap().worker.coalesce);
    let c = Config::load(None, [("SO_WORKER__COALESCE", "false")]).unwrap();
    assert!(!c.worker.coalesce);
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["worker"]["coalesce"], false, "check-config shows it");
}

#[test]
fn shops_refresh_is_validated_naming_the_key() {
    let c = Config::load(None, [("SO_SHOPIFY__SHOPS_REFRESH_MS", "250")]).unwrap();
    assert_eq!(c.shopify.shops_refresh.as_millis(), 250);
    assert_eq!(
        Config::load(None, NO_ENV)
            .unwrap()
            .shopify
            .shops_refresh
            .as_millis(),
        1000
    );
    for bad in ["0", "99", "60001"] {
        match Config::load(None, [("SO_SHOPIFY__SHOPS_REFRESH_MS", bad)]) {
            Err(ConfigError::Invalid(p)) => {
                assert!(
                    p.iter().any(|p| p.starts_with("shopify.shops_refresh_ms")),
                    "{p:?}"
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}
