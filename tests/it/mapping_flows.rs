//! Products, minimal products for unknown order lines, multi-currency
//! refunds, deletes of unknown orders and checkout deletes, end to end
//! against the fake Ometria (what it received, not the worker's report), on
//! both store backends. Payloads are built from Shopify's documented
//! samples in `shared/fixtures/shopify/`.

use std::time::Duration;

use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;
use so_fake_ometria::FakeOmetria;
use so_testkit::{Backend, FakeConfig, TestApp, TestAppOptions, Webhook, eventually};

const SHOP: &str = "test-shop.myshopify.com";

async fn app(backend: Backend, shop_toml: &str) -> TestApp {
    app_with(backend, shop_toml, FakeConfig::unlimited()).await
}

async fn app_with(backend: Backend, shop_toml: &str, fake: FakeConfig) -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        worker: true,
        backend,
        partitions: 2,
        fake,
        config_toml: Some(format!("[shops.\"{SHOP}\"]\n{shop_toml}")),
        ..TestAppOptions::default()
    })
    .await
}

async fn send(app: &TestApp, topic: &str, body: &Value) {
    let wh = Webhook::new(topic, serde_json::to_vec(body).unwrap()).shop(SHOP);
    let res = app.send(&wh).await;
    assert_eq!(res.status(), 200, "{topic}: {}", res.text().await.unwrap());
}

fn fixture(topic: &str) -> Value {
    let file = so_testkit::fixtures::dir().join(format!("webhook-2026-07-{topic}.json"));
    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap()
}

async fn record_where(
    fake: &FakeOmetria,
    t: RecordType,
    id: &str,
    ok: impl Fn(&Map<String, Value>) -> bool,
) -> Map<String, Value> {
    eventually(Duration::from_secs(30), || async {
        match fake.record(t, id) {
            Some(r) if ok(&r) => Ok(r),
            other => Err(format!("{} {id}: {other:?}", t.as_str())),
        }
    })
    .await
}

const PRODUCT: &str = "788032119674292900";

async fn products_carry_the_shop_s_storefront(backend: Backend) {
    let app = app(
        backend,
        "storefront_url = \"https://shop.example.com\"\nstore = \"uk-store\"\ncurrency = \"GBP\"\n",
    )
    .await;
    // Shopify's sample: two variants on sale (19.99, was 24.99); the
    // second is taken off sale here, and the product gets an image.
    let mut product = fixture("products__update");
    product["variants"][1]["compare_at_price"] = Value::Null;
    product["image"] = json!({"id": 1, "src": "https://cdn.example.com/tee.png"});
    send(&app, "products/update", &product).await;
    let fake = app.ometria();
    let parent = record_where(fake, RecordType::Product, PRODUCT, |_| true).await;
    assert_eq!(
        parent["url"],
        "https://shop.example.com/products/example-t-shirt"
    );
    assert_eq!(parent["image_url"], "https://cdn.example.com/tee.png");
    assert_eq!(parent["currency"], "GBP");
    assert_eq!(parent["listings"][0]["store"], "uk-store");
    assert_eq!(parent["listings"][0]["currency"], "GBP");
    let variant = |i: usize| {
        let id = product["variants"][i]["id"].as_u64().unwrap();
        fake.record(RecordType::Product, &format!("{PRODUCT}_{id}"))
            .unwrap()
    };
    let (on_sale, off_sale) = (variant(0), variant(1));
    assert_eq!(on_sale["special_price"], json!(19.99));
    assert_eq!(on_sale["price"], json!(24.99));
    assert_eq!(
        on_sale["url"],
        format!(
            "https://shop.example.com/products/example-t-shirt?variant={}",
            product["variants"][0]["id"]
        )
    );
    assert!(
        off_sale.get("special_price").is_none(),
        "not on sale: {off_sale:?}"
    );
    assert_eq!(off_sale["price"], json!(19.99));
    assert_eq!(off_sale["currency"], "GBP");
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn products_carry_the_shop_s_storefront_on_sqlite() {
    products_carry_the_shop_s_storefront(Backend::Sqlite).await;
}

#[tokio::test]
async fn products_carry_the_shop_s_storefront_on_postgres() {
    products_carry_the_shop_s_storefront(Backend::Postgres).await;
}

/// Every `presentment_money` in `v` becomes `rate` × its shop money in
/// `currency`, as for a shopper paying in another currency.
fn present_in(v: &mut Value, currency: &str, rate: f64) {
    match v {
        Value::Object(map) => {
            if let (Some(shop), Some(Value::Object(p))) = (
                map.get("shop_money").cloned(),
                map.get_mut("presentment_money"),
            ) {
                let amount: f64 = shop["amount"].as_str().unwrap().parse().unwrap();
                p.insert("amount".into(), json!(format!("{:.2}", amount * rate)));
                p.insert("currency_code".into(), json!(currency));
            }
            map.values_mut().for_each(|x| present_in(x, currency, rate));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| present_in(x, currency, rate)),
        _ => {}
    }
}

/// The sample order (shop currency USD, 404.95) paid in `currency`.
fn order_paid_in(id: u64, currency: &str, rate: f64) -> Value {
    let mut order = fixture("orders__create");
    order["id"] = json!(id);
    order["financial_status"] = json!("paid");
    order["cancelled_at"] = Value::Null;
    order["test"] = json!(false);
    order["presentment_currency"] = json!(currency);
    present_in(&mut order, currency, rate);
    order
}

/// The sample refund of `lines` of the sample order, on order `order_id`,
/// paid back in `currency` by one transaction (its `currency` left `null`,
/// as in the sample).
fn refund_in(id: u64, order_id: u64, lines: usize, currency: &str, rate: f64) -> Value {
    let mut refund = fixture("refunds__create");
    refund["id"] = json!(id);
    refund["order_id"] = json!(order_id);
    let items = refund["refund_line_items"].as_array_mut().unwrap();
    items.truncate(lines);
    let shop_total: f64 = items
        .iter()
        .map(|l| {
            l["subtotal_set"]["shop_money"]["amount"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        })
        .sum();
    present_in(&mut refund, currency, rate);
    let mut transaction = refund["transactions"][0].clone();
    transaction["order_id"] = json!(order_id);
    transaction["amount"] = json!(format!("{:.2}", shop_total * rate));
    refund["transactions"] = json!([transaction]);
    refund
}

/// `require_known_products`: whether the fake Ometria rejects an order
/// naming a product it does not have (undocumented [U]; both are run).
async fn orders_refunds_and_deletes(backend: Backend, require_known_products: bool) {
    let fake = FakeConfig {
        require_known_products,
        ..FakeConfig::unlimited()
    };
    let app = app_with(backend, "namespace = \"\"\n", fake).await;
    let fake = app.ometria();
    // Full refund paid back in euros (364.46 EUR for 404.95 USD): read as
    // shop money the euros would make it partial.
    let (eur, jpy) = (1_000_000_001_u64, 1_000_000_002_u64);
    send(&app, "orders/create", &order_paid_in(eur, "EUR", 0.9)).await;
    record_where(fake, RecordType::Order, &eur.to_string(), |_| true).await;
    send(&app, "refunds/create", &refund_in(71, eur, 5, "EUR", 0.9)).await;
    let o = record_where(fake, RecordType::Order, &eur.to_string(), |o| {
        o["status"] != "paid"
    })
    .await;
    assert_eq!(
        (&o["status"], &o["is_valid"]),
        (&json!("refunded"), &json!(false))
    );
    // One line (89.99 USD) paid back in yen (13 498.50 JPY): read as shop
    // money the yen would make it a full refund.
    send(&app, "orders/create", &order_paid_in(jpy, "JPY", 150.0)).await;
    record_where(fake, RecordType::Order, &jpy.to_string(), |_| true).await;
    send(&app, "refunds/create", &refund_in(72, jpy, 1, "JPY", 150.0)).await;
    let o = record_where(fake, RecordType::Order, &jpy.to_string(), |o| {
        o["status"] != "paid"
    })
    .await;
    assert_eq!(
        (&o["status"], &o["is_valid"]),
        (&json!("partial_refund"), &json!(true))
    );
    assert_eq!(o["lineitems"][0]["refunded"], json!(89.99));

    // The sample's product was never delivered: a minimal record went
    // ahead of the first order, once.
    let product = fake
        .record(RecordType::Product, PRODUCT)
        .expect("minimal product");
    assert_eq!(product["title"], "Aviator sunglasses");
    assert_eq!(product["price"], json!(89.99));
    assert_eq!(product["currency"], "USD");
    assert_eq!(fake.write_count(RecordType::Product, PRODUCT), 1);
    let log = fake.requests();
    let first = |t| {
        log.iter()
            .position(|r| r.record_type == Some(t) && r.status == 200)
    };
    assert!(
        first(RecordType::Product) < first(RecordType::Order),
        "the product is pushed before the order"
    );

    // An order with a variant of an unknown product: parent and variant,
    // once, though a second order names them too.
    let mut order = order_paid_in(1_000_000_003, "USD", 1.0);
    order["line_items"][0]["product_id"] = json!(555);
    order["line_items"][0]["variant_id"] = json!(5551);
    order["line_items"][0]["variant_title"] = json!("Gold");
    send(&app, "orders/create", &order).await;
    record_where(fake, RecordType::Order, "1000000003", |_| true).await;
    order["id"] = json!(1_000_000_004_u64);
    send(&app, "orders/create", &order).await;
    record_where(fake, RecordType::Order, "1000000004", |_| true).await;
    let variant = fake.record(RecordType::Product, "555_5551").unwrap();
    assert_eq!(variant["title"], "Aviator sunglasses - Gold");
    assert_eq!(variant["sku"], "SKU2006-001");
    assert_eq!(fake.write_count(RecordType::Product, "555"), 1);
    assert_eq!(fake.write_count(RecordType::Product, "555_5551"), 1);
    assert_eq!(fake.write_count(RecordType::Product, PRODUCT), 1);

    // orders/delete of an order never stored: nothing at all.
    let orders_before = fake.count(RecordType::Order);
    send(&app, "orders/delete", &json!({"id": 4_242})).await;
    app.wait_outcome("no_records", 1.0).await;
    assert!(fake.record(RecordType::Order, "4242").is_none());
    assert_eq!(fake.count(RecordType::Order), orders_before);
    // ... while a known one is marked deleted.
    send(&app, "orders/delete", &json!({"id": jpy})).await;
    let o = record_where(fake, RecordType::Order, &jpy.to_string(), |o| {
        o["status"] == "deleted"
    })
    .await;
    assert_eq!(o["is_valid"], false);
    assert!(fake.push_errors().is_empty(), "{:?}", fake.push_errors());
    app.teardown().await;
}

#[tokio::test]
async fn orders_refunds_and_deletes_on_sqlite() {
    orders_refunds_and_deletes(Backend::Sqlite, true).await;
}

#[tokio::test]
async fn orders_refunds_and_deletes_on_postgres() {
    orders_refunds_and_deletes(Backend::Postgres, true).await;
}

#[tokio::test]
async fn orders_refunds_and_deletes_with_a_lenient_ometria() {
    orders_refunds_and_deletes(Backend::Sqlite, false).await;
}

async fn checkout_delete_by_token(backend: Backend) {
    let app = app(
        backend,
        "abandoned_checkouts = { enabled = true, delay_secs = 1, event_type = \"checkout_left\" }\n",
    )
    .await;
    let store = app.store().await;
    let shop = so_domain::ShopDomain::parse(SHOP).unwrap();
    // Shopify's sample checkout (token "123123123"), and its sample delete,
    // which names only the cart token.
    let kept = fixture("checkouts__create");
    let mut other = kept.clone();
    other["token"] = json!("456456456");
    other["cart_token"] = json!("other-cart");
    other["email"] = json!("other@example.com");
    other["customer"] = Value::Null;
    for c in [&kept, &other] {
        send(&app, "checkouts/create", c).await;
    }
    for token in ["123123123", "456456456"] {
        eventually(Duration::from_secs(30), || async {
            match store.checkout(&shop, token).await.unwrap() {
                Some(_) => Ok(()),
                None => Err(format!("checkout {token} not stored yet")),
            }
        })
        .await;
    }
    let delete = fixture("checkouts__delete");
    assert!(delete.get("token").is_none() && delete["cart_token"] == kept["cart_token"]);
    send(&app, "checkouts/delete", &delete).await;
    // The other checkout is abandoned: its event shows the checks run.
    record_where(
        app.ometria(),
        RecordType::CustomEvent,
        "checkout_456456456",
        |_| true,
    )
    .await;
    app.wait_outcome("checkout_completed", 1.0).await;
    assert!(
        app.ometria()
            .record(RecordType::CustomEvent, "checkout_123123123")
            .is_none(),
        "a deleted checkout is never abandoned"
    );
    assert!(
        store
            .checkout(&shop, "123123123")
            .await
            .unwrap()
            .unwrap()
            .completed
    );
    drop(store);
    app.teardown().await;
}

#[tokio::test]
async fn checkouts_delete_is_matched_by_token_on_sqlite() {
    checkout_delete_by_token(Backend::Sqlite).await;
}

#[tokio::test]
async fn checkouts_delete_is_matched_by_token_on_postgres() {
    checkout_delete_by_token(Backend::Postgres).await;
}

/// A subscribers-only shop holds a non-subscriber's order with the minimal
/// products it carries; those are not delivered, so a subscriber's later
/// order naming them sends them.
async fn held_minimal_products_are_not_counted_as_delivered(backend: Backend) {
    use crate::payloads::{consent, order};
    let app = app(backend, "namespace = \"\"\nprofiles = \"subscribers\"\n").await;
    let fake = app.ometria();
    let with_unknown_product = |id: u64, customer: u64, email: &str| {
        let mut o = order(
            id,
            Some((customer, email)),
            email,
            "2026-11-20T10:00:00+00:00",
            "paid",
        );
        o["line_items"][0]["product_id"] = json!(777);
        o["line_items"][0]["variant_id"] = json!(7771);
        o
    };
    send(
        &app,
        "orders/create",
        &with_unknown_product(1_000_000_011, 11, "held@example.com"),
    )
    .await;
    app.wait_outcome("held_not_subscribed", 1.0).await;
    assert!(
        fake.record(RecordType::Product, "777").is_none(),
        "held, not sent"
    );
    send(
        &app,
        "customers_email_marketing_consent/update",
        &consent(
            12,
            "sub@example.com",
            "subscribed",
            "2026-11-20T09:00:00+00:00",
        ),
    )
    .await;
    record_where(fake, RecordType::Contact, "12", |_| true).await;
    send(
        &app,
        "orders/create",
        &with_unknown_product(1_000_000_012, 12, "sub@example.com"),
    )
    .await;
    record_where(fake, RecordType::Order, "1000000012", |_| true).await;
    assert!(fake.record(RecordType::Product, "777").is_some());
    assert!(fake.record(RecordType::Product, "777_7771").is_some());
    app.teardown().await;
}

#[tokio::test]
async fn held_minimal_products_are_not_counted_as_delivered_on_sqlite() {
    held_minimal_products_are_not_counted_as_delivered(Backend::Sqlite).await;
}

#[tokio::test]
async fn held_minimal_products_are_not_counted_as_delivered_on_postgres() {
    held_minimal_products_are_not_counted_as_delivered(Backend::Postgres).await;
}
