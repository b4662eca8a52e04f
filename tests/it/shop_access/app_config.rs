//! `deploy/shopify.app.toml` stays in step with the service: every topic
//! the worker handles is subscribed (and nothing else), the privacy topics
//! as compliance topics, at the ingress's path, in the pinned API version,
//! with the scope each topic needs.

use std::collections::BTreeSet;

use so_domain::Topic;
use so_shopify_admin::{AdminSettings, DEFAULT_API_VERSION};

const APP_TOML: &str = include_str!("../../../deploy/shopify.app.toml");

/// The topics Shopify only takes as `compliance_topics`.
const COMPLIANCE: [Topic; 3] = [
    Topic::CustomersDataRequest,
    Topic::CustomersRedact,
    Topic::ShopRedact,
];

/// The scope a subscription to `topic` needs (`shared/reference/shopify.md`
/// §3); exhaustive, so a new topic cannot be added without deciding.
fn scope_for(topic: Topic) -> Option<&'static str> {
    match topic {
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersPaid
        | Topic::OrdersFulfilled
        | Topic::OrdersPartiallyFulfilled
        | Topic::OrdersCancelled
        | Topic::OrdersEdited
        | Topic::OrdersDelete
        | Topic::RefundsCreate
        | Topic::CheckoutsCreate
        | Topic::CheckoutsUpdate
        | Topic::CheckoutsDelete => Some("read_orders"),
        Topic::CustomersCreate
        | Topic::CustomersUpdate
        | Topic::CustomersEnable
        | Topic::CustomersDisable
        | Topic::CustomersDelete
        | Topic::CustomersEmailMarketingConsentUpdate
        | Topic::CustomersMarketingConsentUpdate
        | Topic::CustomersPurchasingSummary
        | Topic::CustomerTagsAdded
        | Topic::CustomerTagsRemoved => Some("read_customers"),
        Topic::CustomersMerge => Some("read_customer_merge"),
        Topic::ProductsCreate | Topic::ProductsUpdate | Topic::ProductsDelete => {
            Some("read_products")
        }
        Topic::FulfillmentsCreate | Topic::FulfillmentsUpdate => Some("read_fulfillments"),
        Topic::AppUninstalled
        | Topic::CustomersRedact
        | Topic::CustomersDataRequest
        | Topic::ShopRedact => None,
    }
}

fn app() -> toml::Table {
    APP_TOML.parse().expect("deploy/shopify.app.toml is TOML")
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// (topics, compliance topics, uris) over every `[[webhooks.subscriptions]]`.
fn subscriptions() -> (Vec<String>, Vec<String>, Vec<String>) {
    let app = app();
    let subs = app["webhooks"]["subscriptions"]
        .as_array()
        .expect("[[webhooks.subscriptions]]");
    let (mut topics, mut compliance, mut uris) = (Vec::new(), Vec::new(), Vec::new());
    for sub in subs {
        let sub = sub.as_table().expect("a table");
        for key in sub.keys() {
            assert!(
                ["topics", "compliance_topics", "uri"].contains(&key.as_str()),
                "unexpected key {key}"
            );
        }
        topics.extend(sub.get("topics").map(strings).unwrap_or_default());
        compliance.extend(
            sub.get("compliance_topics")
                .map(strings)
                .unwrap_or_default(),
        );
        uris.push(sub["uri"].as_str().expect("uri").to_owned());
    }
    (topics, compliance, uris)
}

fn set(items: &[String]) -> BTreeSet<String> {
    let set: BTreeSet<String> = items.iter().cloned().collect();
    assert_eq!(set.len(), items.len(), "a topic is listed twice: {items:?}");
    set
}

#[test]
fn every_handled_topic_is_subscribed_and_nothing_else() {
    let (topics, compliance, _) = subscriptions();
    let handled: BTreeSet<String> = Topic::ALL
        .into_iter()
        .filter(|t| !COMPLIANCE.contains(t))
        .map(|t| t.as_str().to_owned())
        .collect();
    let subscribed = set(&topics);
    let missing: Vec<_> = handled.difference(&subscribed).collect();
    let extra: Vec<_> = subscribed.difference(&handled).collect();
    assert!(
        missing.is_empty(),
        "handled by the worker, not subscribed: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "subscribed, not handled by the worker: {extra:?}"
    );
    let wanted: BTreeSet<String> = COMPLIANCE.iter().map(|t| t.as_str().to_owned()).collect();
    assert_eq!(set(&compliance), wanted);
    assert!(
        COMPLIANCE.iter().all(|t| Topic::ALL.contains(t)),
        "the worker handles the compliance topics"
    );
}

#[test]
fn subscriptions_go_to_the_ingress_over_https() {
    let (_, _, uris) = subscriptions();
    assert_eq!(uris.len(), 2);
    for uri in uris {
        assert!(
            uri.starts_with("https://") && uri.ends_with("/webhooks/shopify"),
            "{uri}"
        );
    }
}

#[test]
fn the_api_version_is_the_one_the_service_pins() {
    let app = app();
    let version = app["webhooks"]["api_version"]
        .as_str()
        .expect("api_version");
    assert_eq!(version, DEFAULT_API_VERSION);
    assert_eq!(version, AdminSettings::default().api_version);
}

#[test]
fn the_scopes_cover_every_subscription_and_the_admin_jobs() {
    let app = app();
    let scopes: BTreeSet<&str> = app["access_scopes"]["scopes"]
        .as_str()
        .expect("a comma-separated string")
        .split(',')
        .map(str::trim)
        .collect();
    for topic in Topic::ALL {
        if let Some(scope) = scope_for(topic) {
            assert!(scopes.contains(scope), "{topic} needs {scope}");
        }
    }
    // Consent write-back, and the backfill of orders older than 60 days.
    for scope in ["write_customers", "read_all_orders"] {
        assert!(scopes.contains(scope), "{scope}");
    }
    assert_eq!(app["embedded"].as_bool(), Some(false));
    assert!(
        app["client_id"]
            .as_str()
            .is_some_and(|c| c.contains("REPLACE"))
    );
}
