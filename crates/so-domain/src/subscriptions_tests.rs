use super::*;

const URL: &str = "https://sync.example.com";

fn desired(topics: &[Topic]) -> Desired {
    Desired {
        uri: callback_uri(URL),
        api_version: "2026-07".to_owned(),
        topics: topics.to_vec(),
        granted_scopes: None,
    }
}

fn listed(id: u32, topic: &str, uri: &str) -> Listed {
    Listed {
        id: format!("gid://shopify/WebhookSubscription/{id}"),
        topic: topic.to_owned(),
        uri: uri.to_owned(),
        api_version: Some("2026-07".to_owned()),
    }
}

const RIGHT: &str = "https://sync.example.com/webhooks/shopify";

#[test]
fn graphql_topic_names() {
    assert_eq!(graphql_topic(Topic::OrdersCreate), "ORDERS_CREATE");
    assert_eq!(
        graphql_topic(Topic::CustomerTagsAdded),
        "CUSTOMER_TAGS_ADDED"
    );
    assert_eq!(
        graphql_topic(Topic::CustomersEmailMarketingConsentUpdate),
        "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE"
    );
    assert_eq!(
        callback_uri("https://a.example/"),
        "https://a.example/webhooks/shopify"
    );
}

#[test]
fn api_topics_leave_out_the_compliance_ones() {
    let topics: Vec<Topic> = api_topics().collect();
    assert_eq!(topics.len(), Topic::ALL.len() - 3);
    assert!(!topics.contains(&Topic::ShopRedact));
    assert!(topics.contains(&Topic::AppUninstalled));
}

#[test]
fn an_empty_shop_gets_every_topic_created() {
    let d = desired(&[Topic::OrdersCreate, Topic::ProductsUpdate]);
    let p = plan(&d, &[]);
    assert_eq!(
        p.actions,
        vec![
            Action::Create {
                topic: Topic::OrdersCreate
            },
            Action::Create {
                topic: Topic::ProductsUpdate
            }
        ]
    );
    assert!(p.has_drift());
    assert_eq!(p.counts()[&State::Missing], 2);
}

#[test]
fn a_shop_in_order_needs_nothing() {
    let d = desired(&[Topic::OrdersCreate]);
    let p = plan(&d, &[listed(1, "ORDERS_CREATE", RIGHT)]);
    assert!(p.actions.is_empty());
    assert_eq!(p.ok, vec![Topic::OrdersCreate]);
    assert!(!p.has_drift());
}

#[test]
fn an_old_address_of_the_service_is_updated() {
    let d = desired(&[Topic::OrdersCreate, Topic::OrdersPaid]);
    let p = plan(
        &d,
        &[
            listed(
                1,
                "ORDERS_CREATE",
                "https://old.example.net/webhooks/shopify",
            ),
            listed(2, "ORDERS_PAID", "https://sync.example.com/hooks"),
        ],
    );
    assert_eq!(p.actions.len(), 2);
    assert!(
        matches!(&p.actions[0], Action::Update { id, topic: Topic::OrdersCreate, .. } if id.ends_with("/1"))
    );
    assert!(
        matches!(&p.actions[1], Action::Update { id, topic: Topic::OrdersPaid, .. } if id.ends_with("/2"))
    );
    assert_eq!(p.counts()[&State::WrongAddress], 2);
}

#[test]
fn duplicates_are_deleted_keeping_one() {
    let d = desired(&[Topic::OrdersCreate]);
    let p = plan(
        &d,
        &[
            listed(1, "ORDERS_CREATE", RIGHT),
            listed(2, "ORDERS_CREATE", RIGHT),
            listed(
                3,
                "ORDERS_CREATE",
                "https://old.example.net/webhooks/shopify",
            ),
        ],
    );
    let deleted: Vec<&str> = p
        .actions
        .iter()
        .map(|a| match a {
            Action::Delete { id, .. } => id.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        deleted,
        [
            "gid://shopify/WebhookSubscription/2",
            "gid://shopify/WebhookSubscription/3"
        ]
    );
    assert_eq!(p.ok, vec![Topic::OrdersCreate]);
}

#[test]
fn foreign_addresses_are_reported_and_left_alone() {
    let d = desired(&[Topic::OrdersCreate]);
    let pubsub = listed(1, "ORDERS_CREATE", "pubsub://project:topic");
    let other = listed(2, "ORDERS_CREATE", "https://erp.example.org/shopify");
    let unhandled = listed(3, "BULK_OPERATIONS_FINISH", RIGHT);
    let p = plan(&d, &[pubsub.clone(), other.clone(), unhandled.clone()]);
    assert_eq!(
        p.actions,
        vec![Action::Create {
            topic: Topic::OrdersCreate
        }]
    );
    assert_eq!(p.foreign, vec![pubsub, other, unhandled]);
    assert_eq!(p.counts()[&State::Foreign], 3);
}

#[test]
fn topics_without_their_scope_cannot_be_subscribed() {
    let mut d = desired(&[
        Topic::OrdersCreate,
        Topic::CustomersMerge,
        Topic::ProductsCreate,
    ]);
    d.granted_scopes = Some(vec!["read_orders".to_owned(), "write_products".to_owned()]);
    let p = plan(&d, &[]);
    assert_eq!(
        p.blocked.get("CUSTOMERS_MERGE"),
        Some(&Blocked::MissingScope("read_customer_merge".to_owned()))
    );
    assert_eq!(
        p.actions,
        vec![
            Action::Create {
                topic: Topic::OrdersCreate
            },
            Action::Create {
                topic: Topic::ProductsCreate
            }
        ]
    );
    assert_eq!(p.counts()[&State::CannotSubscribe], 1);
    assert_eq!(
        Blocked::MissingScope("read_orders".to_owned()).to_string(),
        "cannot subscribe: missing scope read_orders"
    );
}

#[test]
fn another_payload_version_is_reported_not_changed() {
    let d = desired(&[Topic::OrdersCreate]);
    let mut old = listed(1, "ORDERS_CREATE", RIGHT);
    old.api_version = Some("2025-01".to_owned());
    let p = plan(&d, &[old.clone()]);
    assert!(p.actions.is_empty());
    assert_eq!(p.wrong_version, vec![old]);
    assert!(p.has_drift());
}

#[test]
fn protected_data_covers_customer_and_order_topics() {
    assert!(needs_protected_data(Topic::OrdersCreate));
    assert!(needs_protected_data(Topic::CustomerTagsAdded));
    assert!(needs_protected_data(Topic::CheckoutsUpdate));
    assert!(!needs_protected_data(Topic::ProductsUpdate));
    assert!(!needs_protected_data(Topic::AppUninstalled));
}
