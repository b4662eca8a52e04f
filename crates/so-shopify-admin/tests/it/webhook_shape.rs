//! Nodes fetched from the fake, converted to webhook payloads, then read
//! back by the worker's own decoder (`so_domain::shopify::decode`) and
//! mappers: what the worker sees must be what the Admin API said.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};
use so_domain::identity::{ContactRef, Namespace};
use so_domain::mapping::{
    LegacyParts, MappingContext, OrderStatus, map_customer, map_order, map_product,
};
use so_domain::shopify::{self, ConsentState, Money, ShopifyPayload};
use so_domain::{EntityKey, ShopDomain, ShopifyId, TopicName, WebhookId, route_payload};
use so_fake_shopify::{GenerateSpec, generate};
use so_shopify_admin::{
    AbandonedCheckout, Customer, Order, Page, Product, Synthesized, backfill_webhook_id,
    checkout_webhook, customer_webhook, order_webhook, orders_bulk_query, product_webhook,
};

use crate::support::{client, fake};

const SHOP: &str = "backfill-test.myshopify.com";

fn decode(s: &Synthesized) -> ShopifyPayload {
    let TopicName::Known(topic) = TopicName::parse(s.topic).unwrap() else {
        panic!("unknown topic {}", s.topic);
    };
    shopify::decode(topic, &s.body_bytes())
        .unwrap_or_else(|e| panic!("{e}: {:?} in {}", e.source, s.body))
}

fn route(s: &Synthesized) -> EntityKey {
    route_payload(&TopicName::parse(s.topic).unwrap(), &s.body_bytes()).unwrap()
}

fn utc(t: Option<DateTime<FixedOffset>>) -> Option<DateTime<Utc>> {
    t.map(|t| t.with_timezone(&Utc))
}

fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn ctx() -> MappingContext {
    MappingContext::new(
        &ShopDomain::parse(SHOP).unwrap(),
        Namespace::parse("").unwrap(),
        Utc::now(),
    )
}

async fn walk<T, F, Fut>(mut fetch: F) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after.take()).await;
        let next = page.next_cursor().map(str::to_owned);
        out.extend(page.nodes);
        match next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

/// Every key of `ours` is one Shopify's webhook of that resource has too.
fn keys_within(ours: &Value, theirs: &Value, what: &str) {
    let theirs: BTreeSet<&String> = theirs.as_object().unwrap().keys().collect();
    let extra: Vec<&String> = ours
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !theirs.contains(k))
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: not in Shopify's payload: {extra:?}"
    );
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../../shared/fixtures/shopify/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[tokio::test]
async fn customers_decode_to_what_the_admin_api_said() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(200, 0, 0.3));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let customers: Vec<Customer> = walk(|after| {
        let c = client.clone();
        async move { c.customers_page(after.as_deref(), None, 100).await.unwrap() }
    })
    .await;
    assert_eq!(customers.len(), data.customers.len());
    let seeded: BTreeMap<u64, _> = data.customers.iter().map(|c| (c.id, c)).collect();
    let legacy = fixture("webhook-2024-10-customers__update.json");
    let mut states = BTreeSet::new();
    let mut tagged = 0;
    for node in &customers {
        let s = customer_webhook(node);
        let seed = seeded[&node.id.id()];
        assert_eq!(s.topic, "customers/update");
        assert_eq!(s.entity_id, seed.id.to_string());
        assert_eq!(s.updated_at, Some(seed.updated_at));
        assert_eq!(route(&s), EntityKey::Customer(seed.id));
        keys_within(&s.body, &legacy, "customer");
        if let Some(a) = s.body.get("default_address") {
            keys_within(a, &legacy["default_address"], "default_address");
        }
        let ShopifyPayload::Customer(c) = decode(&s) else {
            panic!("not a customer");
        };
        assert_eq!(c.id, ShopifyId::new(seed.id));
        assert!(c.id.get() > 1 << 53);
        assert_eq!(c.email, seed.email);
        assert_eq!(c.first_name, seed.first_name);
        assert_eq!(c.last_name, seed.last_name);
        assert_eq!(c.phone, seed.phone);
        assert_eq!(c.state.as_deref(), Some("enabled"));
        assert_eq!(c.verified_email, Some(seed.email.is_some()));
        assert_eq!(utc(c.created_at), Some(seed.created_at));
        assert_eq!(utc(c.updated_at), Some(seed.updated_at));
        let tags: Vec<String> = c
            .tags
            .as_deref()
            .unwrap()
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        assert_eq!(tags, seed.tags);
        tagged += usize::from(!tags.is_empty());
        let address = c.default_address.as_ref().unwrap();
        let seed_address = seed.default_address.as_ref().unwrap();
        assert_eq!(address.city, seed_address.city);
        assert_eq!(address.zip, seed_address.zip);
        assert_eq!(address.country_code, seed_address.country_code);
        match (&seed.email, &seed.email_consent) {
            (Some(_), Some(consent)) => {
                let got = c.email_marketing_consent.as_ref().unwrap();
                let expected = ConsentState::from(consent.state.as_str().to_ascii_lowercase());
                assert_eq!(got.state.as_ref(), Some(&expected));
                assert_eq!(
                    got.opt_in_level.as_deref(),
                    consent
                        .opt_in_level
                        .map(|l| l.as_str().to_ascii_lowercase())
                        .as_deref()
                );
                assert_eq!(utc(got.consent_updated_at), consent.consent_updated_at);
                states.insert(consent.state.as_str());
            }
            _ => assert_eq!(c.email_marketing_consent, None),
        }
        // The worker's mapper takes it, consent and tags included.
        let contact = ContactRef::customer(&Namespace::parse("").unwrap(), c.id);
        let records = map_customer(&ctx(), &contact, &c, LegacyParts::ALL).unwrap();
        assert_eq!(records.len(), 1);
    }
    assert!(tagged > 10, "{tagged}");
    assert!(states.len() >= 5, "{states:?}");
}

#[test]
fn customer_consent_falls_back_to_the_default_email_address() {
    let node: Customer = serde_json::from_value(json!({
        "id": "gid://shopify/Customer/9007199254740993",
        "defaultEmailAddress": {"emailAddress": "a@example.com", "marketingState": "UNSUBSCRIBED",
                                "marketingOptInLevel": "CONFIRMED_OPT_IN", "marketingUpdatedAt": "2024-05-01T10:00:00Z"},
        "state": "DISABLED", "note": "VIP, call first", "verifiedEmail": false,
        "tags": ["vip", "wholesale"], "updatedAt": "2024-05-02T10:00:00Z"
    }))
    .unwrap();
    let s = customer_webhook(&node);
    assert_eq!(
        s.body["email_marketing_consent"],
        json!({"state": "unsubscribed", "opt_in_level": "confirmed_opt_in",
               "consent_updated_at": "2024-05-01T10:00:00Z"})
    );
    assert_eq!(s.body["id"], json!(9_007_199_254_740_993_u64));
    let ShopifyPayload::Customer(c) = decode(&s) else {
        panic!("not a customer");
    };
    assert_eq!(c.id.get(), 9_007_199_254_740_993);
    assert_eq!(c.email.as_deref(), Some("a@example.com"));
    assert_eq!(c.state.as_deref(), Some("disabled"));
    assert_eq!(c.verified_email, Some(false));
    assert_eq!(c.tags.as_deref(), Some("vip, wholesale"));
    assert_eq!(
        c.email_marketing_consent.unwrap().state,
        Some(ConsentState::Unsubscribed)
    );
    assert_eq!(s.body["note"], json!("VIP, call first"));
}

#[test]
fn unknown_consent_states_are_left_out_not_guessed() {
    let node: Customer = serde_json::from_value(json!({
        "id": "gid://shopify/Customer/1",
        "email": "a@example.com",
        "emailMarketingConsent": {"marketingState": "SOMETHING_NEW", "consentUpdatedAt": null},
        "tags": []
    }))
    .unwrap();
    let s = customer_webhook(&node);
    assert!(
        s.body.get("email_marketing_consent").is_none(),
        "{}",
        s.body
    );
    assert_eq!(s.body["tags"], json!(""));
    let ShopifyPayload::Customer(c) = decode(&s) else {
        panic!("not a customer");
    };
    assert_eq!(c.email_marketing_consent, None);
    assert_eq!(c.updated_at, None);
}

/// The worker's view of one order against the seeded one.
fn check_order(node: &Order, seed: &so_fake_shopify::Order, with_refund_lines: bool) {
    let s = order_webhook(node);
    assert_eq!(s.topic, "orders/updated");
    assert_eq!(s.entity_id, seed.id.to_string());
    assert_eq!(s.updated_at, Some(seed.updated_at));
    assert_eq!(route(&s), EntityKey::Order(seed.id));
    let shape = fixture("webhook-2026-07-orders__create.json");
    let refund_shape = fixture("webhook-2026-07-refunds__create.json");
    keys_within(&s.body, &shape, "order");
    keys_within(&s.body["customer"], &shape["customer"], "order customer");
    for l in s.body["line_items"].as_array().unwrap() {
        keys_within(l, &shape["line_items"][0], "line item");
    }
    for r in s.body["refunds"].as_array().unwrap() {
        keys_within(r, &refund_shape, "refund");
        for l in r["refund_line_items"].as_array().unwrap() {
            keys_within(l, &refund_shape["refund_line_items"][0], "refund line");
        }
        for t in r["transactions"].as_array().unwrap() {
            keys_within(t, &refund_shape["transactions"][0], "transaction");
        }
    }

    let ShopifyPayload::Order(o) = decode(&s) else {
        panic!("not an order");
    };
    assert_eq!(o.id, ShopifyId::new(seed.id));
    assert!(o.id.get() > 1 << 53);
    assert_eq!(o.name.as_deref(), Some(seed.name.as_str()));
    assert_eq!(o.email, seed.email);
    assert_eq!(utc(o.created_at), Some(seed.created_at));
    assert_eq!(utc(o.processed_at), Some(seed.processed_at));
    assert_eq!(utc(o.cancelled_at), seed.cancelled_at);
    assert_eq!(o.currency.as_deref(), Some(seed.currency.as_str()));
    assert_eq!(o.total_price, Some(money(&seed.total_price)));
    assert_eq!(o.subtotal_price, Some(money(&seed.subtotal_price)));
    assert_eq!(o.total_tax, Some(money(&seed.total_tax)));
    assert_eq!(o.total_discounts, Some(money(&seed.total_discounts)));
    assert_eq!(
        o.financial_status,
        Some(seed.financial_status.to_ascii_lowercase())
    );
    // UNFULFILLED is REST's `null`.
    assert_eq!(o.fulfillment_status, None);
    assert_eq!(o.test, Some(false));
    let customer = o.customer.as_ref().unwrap();
    assert_eq!(Some(customer.id.get()), seed.customer_id);
    assert_eq!(customer.email, seed.email);
    assert!(customer.first_name.is_some());
    let lines: Vec<_> = o
        .line_items
        .iter()
        .map(|l| {
            (
                l.id.get(),
                l.product_id.map(ShopifyId::get),
                l.variant_id.map(ShopifyId::get),
                l.sku.clone(),
                l.quantity,
                l.price,
            )
        })
        .collect();
    let expected: Vec<_> = seed
        .line_items
        .iter()
        .map(|l| {
            (
                l.id,
                l.product_id,
                l.variant_id,
                l.sku.clone(),
                u64::from(l.quantity),
                money(&l.unit_price),
            )
        })
        .collect();
    assert_eq!(lines, expected);

    assert_eq!(o.refunds.len(), seed.refunds.len());
    let mut refunded = Money::ZERO;
    for (r, sr) in o.refunds.iter().zip(&seed.refunds) {
        assert_eq!(r.id.get(), sr.id);
        assert_eq!(r.order_id, o.id);
        assert_eq!(utc(r.created_at), Some(sr.created_at));
        assert_eq!(r.amount(), money(&sr.total_refunded));
        refunded = refunded + r.amount();
        let refund_lines: Vec<_> = r
            .refund_line_items
            .iter()
            .map(|l| (l.line_item_id.get(), l.quantity, l.amount()))
            .collect();
        let expected: Vec<_> = if with_refund_lines {
            sr.line_items
                .iter()
                .map(|l| (l.line_item_id, u64::from(l.quantity), money(&l.subtotal)))
                .collect()
        } else {
            Vec::new()
        };
        assert_eq!(refund_lines, expected);
    }

    // What the worker stores and pushes: totals net of refunds match
    // Shopify's current total, and the status follows the refunds.
    let mapped = map_order(&ctx(), &o, None, None).unwrap();
    let state = &mapped.state;
    assert_eq!(state.grand_total, money(&seed.total_price));
    let stored: Money = state.refunds.values().map(|r| r.amount).sum();
    assert_eq!(stored, refunded);
    if seed.cancelled_at.is_none() {
        assert_eq!(
            state.grand_total - stored,
            money(&seed.current_total_price),
            "order {}",
            seed.id
        );
    }
    let expected_status = match seed.financial_status.as_str() {
        "PAID" => OrderStatus::Paid,
        "PARTIALLY_REFUNDED" => OrderStatus::PartialRefund,
        "REFUNDED" => OrderStatus::Refunded,
        _ => OrderStatus::Cancelled,
    };
    assert_eq!(state.status(), expected_status, "order {}", seed.id);
    assert!(!state.test);
    assert_eq!(state.lines.len(), seed.line_items.len());
}

#[tokio::test]
async fn orders_from_pages_decode_with_lines_refunds_and_net_totals() {
    let (fake, shop) = fake().await;
    // Enough orders for refunds and cancellations (about 1 in 50).
    let data = generate(&GenerateSpec::new(100, 3, 0.3));
    shop.seed_dataset(&data);
    shop.set_bucket(5000.0, 5000.0);
    let client = client(&fake);
    let orders: Vec<Order> = walk(|after| {
        let c = client.clone();
        async move { c.orders_page(after.as_deref(), None, 250).await.unwrap() }
    })
    .await;
    assert_eq!(orders.len(), data.orders.len());
    let seeded: BTreeMap<u64, _> = data.orders.iter().map(|o| (o.id, o)).collect();
    for node in &orders {
        assert!(!node.line_items.truncated());
        check_order(node, seeded[&node.id.id()], true);
    }
    let refunded = orders.iter().filter(|o| !o.refunds.is_empty()).count();
    let cancelled = orders.iter().filter(|o| o.cancelled_at.is_some()).count();
    assert!(refunded > 3 && cancelled > 0, "{refunded} {cancelled}");
}

#[tokio::test]
async fn orders_from_bulk_rows_take_refund_amounts_from_transactions() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(40, 3, 0.3));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let id = client
        .run_bulk_query(&orders_bulk_query(None))
        .await
        .unwrap();
    let op = client
        .wait_bulk(&id, Duration::from_millis(10))
        .await
        .unwrap();
    let mut rows = client.bulk_rows::<Order>(&op).await.unwrap();
    let seeded: BTreeMap<u64, _> = data.orders.iter().map(|o| (o.id, o)).collect();
    let mut n = 0;
    while let Some(node) = rows.next().await.unwrap() {
        check_order(&node, seeded[&node.id.id()], false);
        n += 1;
    }
    assert_eq!(n, data.orders.len());
}

#[test]
fn refunds_without_money_have_no_transactions_and_fall_back_to_lines() {
    let node: Order = serde_json::from_value(json!({
        "id": "gid://shopify/Order/820982911946154508", "name": "#1",
        "createdAt": "2024-01-01T00:00:00Z", "currencyCode": "GBP",
        "totalPriceSet": {"shopMoney": {"amount": "30.00", "currencyCode": "GBP"}},
        "displayFulfillmentStatus": "FULFILLED", "displayFinancialStatus": "PAID", "test": true,
        "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/18446744073709551615", "quantity": 3,
                                 "title": "T", "product": {"id": "gid://shopify/Product/9007199254740993"},
                                 "originalUnitPriceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}}}]},
        "refunds": [{"id": "gid://shopify/Refund/5", "createdAt": "2024-01-02T00:00:00Z",
                     "totalRefundedSet": {"shopMoney": {"amount": "0.00", "currencyCode": "GBP"}},
                     "refundLineItems": {"nodes": [
                         {"id": "gid://shopify/RefundLineItem/6", "lineItem": {"id": "gid://shopify/LineItem/18446744073709551615"},
                          "quantity": 1, "subtotalSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}}},
                         {"quantity": 1}
                     ]}}]
    }))
    .unwrap();
    let s = order_webhook(&node);
    assert_eq!(s.body["refunds"][0]["transactions"], json!([]));
    assert_eq!(s.body["fulfillment_status"], json!("fulfilled"));
    let ShopifyPayload::Order(o) = decode(&s) else {
        panic!("not an order");
    };
    assert_eq!(o.line_items[0].id.get(), u64::MAX);
    assert_eq!(
        o.line_items[0].product_id.unwrap().get(),
        9_007_199_254_740_993
    );
    assert_eq!(o.line_items[0].variant_id, None);
    // The line without its line item cannot be decoded and is dropped.
    assert_eq!(o.refunds[0].refund_line_items.len(), 1);
    assert_eq!(o.refunds[0].amount(), money("10.00"));
    assert_eq!(o.test, Some(true));
    assert_eq!(o.updated_at, None);
}

#[tokio::test]
async fn products_decode_with_their_variants() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(1, 0, 0.3));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let products: Vec<Product> = walk(|after| {
        let c = client.clone();
        async move { c.products_page(after.as_deref(), None, 10).await.unwrap() }
    })
    .await;
    assert_eq!(products.len(), data.products.len());
    let shape = fixture("webhook-2026-07-products__update.json");
    let mut archived = 0;
    for node in &products {
        let seed = data.products.iter().find(|p| p.id == node.id.id()).unwrap();
        let s = product_webhook(node);
        assert_eq!(s.topic, "products/update");
        assert_eq!(s.entity_id, seed.id.to_string());
        assert_eq!(s.updated_at, Some(seed.updated_at));
        assert_eq!(route(&s), EntityKey::Product(seed.id));
        keys_within(&s.body, &shape, "product");
        for v in s.body["variants"].as_array().unwrap() {
            keys_within(v, &shape["variants"][0], "variant");
        }
        let ShopifyPayload::Product(p) = decode(&s) else {
            panic!("not a product");
        };
        assert_eq!(p.id.get(), seed.id);
        assert!(p.id.get() > 1 << 53);
        assert_eq!(p.title.as_deref(), Some(seed.title.as_str()));
        assert_eq!(p.handle.as_deref(), Some(seed.handle.as_str()));
        assert_eq!(p.vendor.as_deref(), Some(seed.vendor.as_str()));
        assert_eq!(p.product_type.as_deref(), Some(seed.product_type.as_str()));
        assert_eq!(p.status, Some(seed.status.to_ascii_lowercase()));
        archived += usize::from(seed.status == "ARCHIVED");
        assert_eq!(utc(p.updated_at), Some(seed.updated_at));
        let variants: Vec<_> = p
            .variants
            .iter()
            .map(|v| (v.id.get(), v.sku.clone(), v.price, v.title.clone()))
            .collect();
        let expected: Vec<_> = seed
            .variants
            .iter()
            .map(|v| {
                (
                    v.id,
                    v.sku.clone(),
                    Some(money(&v.price)),
                    Some(v.title.clone()),
                )
            })
            .collect();
        assert_eq!(variants, expected);
        let records = map_product(&ctx(), &p).unwrap();
        assert_eq!(records.len(), 1 + seed.variants.len());
    }
    assert!(archived > 0);
}

#[test]
fn product_tags_are_a_comma_separated_string() {
    let node: Product = serde_json::from_value(json!({
        "id": "gid://shopify/Product/1", "title": "T", "handle": "t",
        "status": "DRAFT", "tags": ["summer", "sale"]
    }))
    .unwrap();
    let s = product_webhook(&node);
    assert_eq!(s.body["tags"], json!("summer, sale"));
    assert_eq!(s.body["status"], json!("draft"));
    assert_eq!(s.body["variants"], json!([]));
}

#[tokio::test]
async fn checkouts_decode_keyed_by_their_token() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(120, 0, 0.3));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let checkouts: Vec<AbandonedCheckout> = walk(|after| {
        let c = client.clone();
        async move {
            c.abandoned_checkouts_page(after.as_deref(), None, 50)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(checkouts.len(), data.checkouts.len());
    assert!(!checkouts.is_empty());
    let shape = fixture("webhook-2026-07-checkouts__update.json");
    for node in &checkouts {
        let seed = data
            .checkouts
            .iter()
            .find(|c| c.id == node.id.id())
            .unwrap();
        let customer = data
            .customers
            .iter()
            .find(|c| Some(c.id) == seed.customer_id)
            .unwrap();
        let s = checkout_webhook(node).unwrap();
        assert_eq!(s.topic, "checkouts/update");
        assert_eq!(s.entity_id, seed.token);
        assert_eq!(s.updated_at, Some(seed.updated_at));
        assert_eq!(route(&s), EntityKey::Checkout(seed.token.clone()));
        keys_within(&s.body, &shape, "checkout");
        keys_within(&s.body["customer"], &shape["customer"], "checkout customer");
        for l in s.body["line_items"].as_array().unwrap() {
            keys_within(l, &shape["line_items"][0], "checkout line");
        }
        let ShopifyPayload::Checkout(c) = decode(&s) else {
            panic!("not a checkout");
        };
        assert_eq!(c.key(), Some(seed.token.as_str()));
        assert_eq!(c.email, customer.email);
        assert_eq!(utc(c.created_at), Some(seed.created_at));
        assert_eq!(utc(c.completed_at), seed.completed_at);
        assert_eq!(c.currency.as_deref(), Some(seed.currency.as_str()));
        assert_eq!(c.total_price, Some(money(&seed.total_price)));
        assert!(
            c.abandoned_checkout_url
                .as_deref()
                .unwrap()
                .contains(&seed.token)
        );
        let buyer = c.customer.as_ref().unwrap();
        assert_eq!(buyer.id.get(), customer.id);
        assert_eq!(buyer.first_name, customer.first_name);
        let lines: Vec<_> = c
            .line_items
            .iter()
            .map(|l| {
                (
                    l.product_id.map(ShopifyId::get),
                    l.variant_id.map(ShopifyId::get),
                    l.sku.clone(),
                    l.quantity,
                )
            })
            .collect();
        let expected: Vec<_> = seed
            .line_items
            .iter()
            .map(|l| {
                (
                    l.product_id,
                    l.variant_id,
                    l.sku.clone(),
                    u64::from(l.quantity),
                )
            })
            .collect();
        assert_eq!(lines, expected);
    }
    assert!(checkouts.iter().any(|c| c.completed_at.is_some()));
}

#[test]
fn checkouts_without_a_token_are_skipped() {
    for url in [
        None,
        Some("https://shop.example/cart/recover?key=k"),
        Some("https://shop.example/1/checkouts//recover"),
    ] {
        let node: AbandonedCheckout = serde_json::from_value(json!({
            "id": "gid://shopify/AbandonedCheckout/1",
            "abandonedCheckoutUrl": url,
            "createdAt": "2024-05-01T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(checkout_webhook(&node), None, "{url:?}");
    }
}

#[test]
fn backfill_webhook_ids_are_stable_and_follow_updated_at() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let t1 = Some(at("2024-05-01T10:00:00Z"));
    let t2 = Some(at("2024-05-01T10:00:01Z"));
    let id = backfill_webhook_id(SHOP, "orders/updated", "820982911946154508", t1);
    assert_eq!(
        id,
        backfill_webhook_id(SHOP, "orders/updated", "820982911946154508", t1)
    );
    assert!(id.starts_with("bf-") && id.len() <= 100, "{id}");
    assert_eq!(WebhookId::parse(&id).unwrap().as_str(), id);
    let others = [
        backfill_webhook_id(SHOP, "orders/updated", "820982911946154508", t2),
        backfill_webhook_id(SHOP, "orders/updated", "820982911946154508", None),
        backfill_webhook_id(SHOP, "orders/updated", "820982911946154509", t1),
        backfill_webhook_id(SHOP, "customers/update", "820982911946154508", t1),
        backfill_webhook_id(
            "other.myshopify.com",
            "orders/updated",
            "820982911946154508",
            t1,
        ),
    ];
    let distinct: BTreeSet<&String> = others.iter().chain([&id]).collect();
    assert_eq!(distinct.len(), others.len() + 1);

    // Through a payload: the same node twice, the same id; a newer version,
    // another id.
    let mut node: Product = serde_json::from_value(json!({
        "id": "gid://shopify/Product/1", "title": "T", "handle": "t",
        "updatedAt": "2024-05-01T10:00:00Z"
    }))
    .unwrap();
    let first = product_webhook(&node).webhook_id(SHOP);
    assert_eq!(first, product_webhook(&node).webhook_id(SHOP));
    assert_eq!(first, backfill_webhook_id(SHOP, "products/update", "1", t1));
    node.updated_at = t2;
    assert_ne!(first, product_webhook(&node).webhook_id(SHOP));
}
