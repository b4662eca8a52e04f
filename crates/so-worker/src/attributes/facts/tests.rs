use std::collections::BTreeMap;

use chrono::DateTime;
use serde_json::json;
use so_domain::freshness::{EntityKind, Watermark, WatermarkKey};
use so_domain::mapping::{Buyer, OrderState, OrderStatus};
use so_domain::shopify::{Money, ShopifyId};
use so_domain::{ShopDomain, WebhookId};

use super::{Facts, Overlay};
use crate::pending::Changes;
use crate::rules::Rules;

fn rules() -> Rules {
    let no_env: [(&str, &str); 0] = [];
    let config = so_platform::Config::load(None, no_env).unwrap();
    Rules::build(&config).unwrap()
}

fn shop() -> ShopDomain {
    ShopDomain::parse("a.myshopify.com").unwrap()
}

fn buyer(id: &str) -> Buyer {
    Buyer {
        id: id.to_owned(),
        collection: "shopify_customers".to_owned(),
        customer_id: Some(id.to_owned()),
    }
}

fn order(id: u64, contact: &str, total: &str) -> OrderState {
    OrderState {
        order_id: ShopifyId::new(id),
        presentment_currency: None,
        timestamp: DateTime::parse_from_rfc3339(&format!("2026-11-{id:02}T10:00:00+00:00"))
            .unwrap(),
        currency: "GBP".to_owned(),
        grand_total: Money::parse(total).unwrap(),
        base_status: OrderStatus::Paid,
        test: false,
        lines: Vec::new(),
        refunds: BTreeMap::new(),
        buyer: Some(buyer(contact)),
    }
}

fn facts(orders: Vec<OrderState>) -> Facts {
    let mut f = Facts::default();
    f.orders.insert((shop(), "7".to_owned()), orders);
    f
}

#[test]
fn the_batchs_own_order_states_count_as_if_committed() {
    let rules = rules();
    let f = facts(vec![order(1, "7", "10.00"), order(2, "7", "20.00")]);
    let changes = Changes {
        order_states: vec![
            // Order 2 moved to another buyer, order 3 is new, order 1 grew.
            (shop(), order(2, "8", "20.00")),
            (shop(), order(3, "7", "5.00")),
            (shop(), order(1, "7", "15.00")),
        ],
        ..Changes::default()
    };
    let overlay = Overlay::of(std::iter::once(&changes));
    let p = f
        .attributes(&rules, &shop(), &buyer("7"), Some(&overlay))
        .unwrap();
    assert_eq!(p["shopify_orders_count"], json!(2));
    assert_eq!(p["shopify_total_spent"], json!(20.0));
    assert_eq!(p["shopify_last_order_total"], json!(5.0));
    let committed = f.attributes(&rules, &shop(), &buyer("7"), None).unwrap();
    assert_eq!(committed["shopify_orders_count"], json!(2));
    assert_eq!(committed["shopify_total_spent"], json!(30.0));
}

#[test]
fn a_purchasing_summary_in_the_batch_owns_count_and_total() {
    let rules = rules();
    let f = facts(vec![order(1, "7", "10.00")]);
    let changes = Changes {
        watermarks: vec![(
            WatermarkKey {
                shop: shop(),
                kind: EntityKind::PurchasingSummary,
                id: "7".to_owned(),
            },
            Watermark {
                version: chrono::Utc::now(),
                webhook_id: WebhookId::parse("w1").unwrap(),
            },
        )],
        ..Changes::default()
    };
    let overlay = Overlay::of(std::iter::once(&changes));
    let p = f
        .attributes(&rules, &shop(), &buyer("7"), Some(&overlay))
        .unwrap();
    assert!(p.get("shopify_orders_count").is_none(), "{p:?}");
    assert_eq!(p["shopify_last_order_total"], json!(10.0));
}

#[test]
fn nothing_is_sent_about_a_customer_that_is_not_active() {
    let rules = rules();
    let mut f = facts(vec![order(1, "7", "10.00")]);
    f.inactive.insert((shop(), ShopifyId::new(7)));
    assert!(f.attributes(&rules, &shop(), &buyer("7"), None).is_none());
    assert!(f.attributes(&rules, &shop(), &buyer("8"), None).is_some());
}
