//! The bodies of `peak`'s webhooks: Shopify's documented samples
//! (`shared/fixtures/shopify`) with the burst's ids, times, states, lines
//! and amounts written over them, so each has a real payload's shape and
//! size. Built when sent, not ahead: a burst's bodies would take a gigabyte.
//!
//! Each version an event carries is stamped where the service's record
//! shows it, for the fake's write log to tell versions apart: an order's
//! `name` (pushed as `web_id`), a customer's last name, a product's title
//! (and so its variants'), `~v<n>` at the end ([`version_in`]). A checkout's
//! version is its `updated_at` (the abandonment event's `timestamp`).

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use crate::peak_plan::{Event, Kind, Plan, VARIANTS};

/// Shipping of every order, in pence.
pub(crate) const SHIPPING: u64 = 499;
pub(crate) const VARIANT_TITLES: [&str; VARIANTS] = ["S", "M", "L"];

pub(crate) struct Templates {
    pub(crate) order: Value,
    pub(crate) refund: Value,
    customer: Value,
    product: Value,
    checkout: Value,
}

fn read(dir: &Path, file: &str) -> anyhow::Result<Value> {
    let path = dir.join(file);
    let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_slice(&raw)?)
}

/// The start of the burst's hour (Black Friday), for `at` shop seconds.
pub(crate) fn shop_time(at: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
        + Duration::seconds(at)
}

pub(crate) fn time(at: i64) -> Value {
    json!(shop_time(at).to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// The version stamp of `text` (`"#123~v2"` → 2).
pub(crate) fn version_in(text: &str) -> Option<u32> {
    let (_, rest) = text.rsplit_once("~v")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

pub(crate) fn order_name(id: u64, version: u32) -> String {
    format!("#{}~v{version}", id % 1_000_000)
}

pub(crate) fn last_name(version: u32) -> String {
    format!("Peak~v{version}")
}

pub(crate) fn product_title(id: u64, version: u32) -> String {
    format!("Launch {}~v{version}", id % 100_000)
}

/// A variant's id: the product's id, then its position.
pub(crate) fn variant_id(product: u64, variant: usize) -> u64 {
    product * 10 + variant as u64
}

/// A variant's price in pence (the product's base plus its size).
pub(crate) fn price(product: u64, variant: usize) -> u64 {
    1_999 + (product % 10) * 500 + variant as u64 * 200
}

pub(crate) fn money(pence: u64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

pub(crate) fn money_set(pence: u64) -> Value {
    let one = json!({"amount": money(pence), "currency_code": "GBP"});
    json!({"shop_money": one, "presentment_money": one})
}

pub(crate) fn set(v: &mut Value, pairs: Vec<(&str, Value)>) {
    if let Some(obj) = v.as_object_mut() {
        for (k, x) in pairs {
            obj.insert(k.to_owned(), x);
        }
    }
}

/// The first element of a template's array field.
pub(crate) fn first(v: &Value, key: &str) -> Value {
    v.get(key)
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or_else(|| json!({}))
}

impl Templates {
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Templates> {
        Ok(Templates {
            order: read(dir, "webhook-2026-07-orders__create.json")?,
            refund: read(dir, "webhook-2026-07-refunds__create.json")?,
            customer: read(dir, "webhook-2026-07-customers__create.json")?,
            product: read(dir, "webhook-2026-07-products__create.json")?,
            checkout: read(dir, "webhook-2026-07-checkouts__create.json")?,
        })
    }

    /// The body of one event of `plan`.
    pub(crate) fn body(&self, plan: &Plan, e: &Event) -> anyhow::Result<Vec<u8>> {
        let v = match e.kind {
            Kind::OrderCreate | Kind::OrderPaid | Kind::OrderFulfilled | Kind::OrderCancelled => {
                self.order(plan, &plan.orders[e.entity], e)
            }
            Kind::Refund => self.refund(plan, &plan.orders[e.entity], e.at),
            Kind::CustomerCreate | Kind::CustomerUpdate => self.customer(plan, e),
            Kind::Consent { subscribed } => consent(plan, e, subscribed),
            Kind::ProductCreate | Kind::ProductUpdate => self.product(plan, e),
            Kind::CheckoutCreate | Kind::CheckoutUpdate => self.checkout(plan, e),
        };
        Ok(serde_json::to_vec(&v)?)
    }

    fn customer(&self, plan: &Plan, e: &Event) -> Value {
        let c = &plan.customers[e.entity];
        let mut v = self.customer.clone();
        let mut address = v.get("default_address").cloned().unwrap_or_default();
        set(
            &mut address,
            vec![
                ("customer_id", json!(c.id)),
                ("first_name", json!("Ada")),
                ("last_name", json!("Peak")),
                ("city", json!("London")),
                ("zip", json!("N1 9GU")),
                ("country", json!("GB")),
                ("country_code", json!("GB")),
            ],
        );
        set(
            &mut v,
            vec![
                ("id", json!(c.id)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/Customer/{}", c.id)),
                ),
                ("email", json!(c.email)),
                ("first_name", json!("Ada")),
                ("last_name", json!(last_name(e.version))),
                ("state", json!("enabled")),
                ("currency", json!("GBP")),
                ("created_at", time(c.created)),
                ("updated_at", time(e.at)),
                ("default_address", address),
            ],
        );
        v
    }

    fn product(&self, plan: &Plan, e: &Event) -> Value {
        let id = plan.products[e.entity];
        let title = product_title(id, e.version);
        let template = first(&self.product, "variants");
        let variants: Vec<Value> = (0..VARIANTS)
            .map(|j| {
                let mut v = template.clone();
                let vid = variant_id(id, j);
                set(
                    &mut v,
                    vec![
                        ("id", json!(vid)),
                        (
                            "admin_graphql_api_id",
                            json!(format!("gid://shopify/ProductVariant/{vid}")),
                        ),
                        ("product_id", json!(id)),
                        ("title", json!(VARIANT_TITLES[j])),
                        ("option1", json!(VARIANT_TITLES[j])),
                        ("position", json!(j + 1)),
                        ("price", json!(money(price(id, j)))),
                        ("compare_at_price", Value::Null),
                        ("sku", json!(format!("LAUNCH-{id}-{j}"))),
                        ("inventory_quantity", json!(100)),
                        ("old_inventory_quantity", json!(100)),
                        ("updated_at", time(e.at)),
                    ],
                );
                v
            })
            .collect();
        let gids: Vec<Value> = (0..VARIANTS)
            .map(|j| {
                json!({"admin_graphql_api_id": format!("gid://shopify/ProductVariant/{}", variant_id(id, j)),
                       "updated_at": time(e.at)})
            })
            .collect();
        let mut v = self.product.clone();
        set(
            &mut v,
            vec![
                ("id", json!(id)),
                (
                    "admin_graphql_api_id",
                    json!(format!("gid://shopify/Product/{id}")),
                ),
                ("title", json!(title)),
                ("handle", json!(format!("launch-{id}"))),
                ("vendor", json!("Peak")),
                ("status", json!("active")),
                ("created_at", time(-86_400)),
                ("updated_at", time(e.at)),
                ("variants", Value::Array(variants)),
                ("variant_gids", Value::Array(gids)),
            ],
        );
        v
    }

    fn checkout(&self, plan: &Plan, e: &Event) -> Value {
        let c = &plan.checkouts[e.entity];
        let (email, customer) = self.buyer_block(plan, c.buyer);
        let template = first(&self.checkout, "line_items");
        let mut total = SHIPPING;
        let lines: Vec<Value> = c
            .lines
            .iter()
            .enumerate()
            .map(|(j, l)| {
                let product = plan.catalogue[l.product];
                let each = price(product, l.variant);
                total += each * u64::from(l.quantity);
                let mut line = template.clone();
                set(
                    &mut line,
                    vec![
                        ("key", json!(format!("{}{j}", c.token))),
                        ("product_id", json!(product)),
                        ("variant_id", json!(variant_id(product, l.variant))),
                        ("title", json!(format!("Bestseller {}", product % 100_000))),
                        (
                            "presentment_title",
                            json!(format!("Bestseller {}", product % 100_000)),
                        ),
                        ("variant_title", json!(VARIANT_TITLES[l.variant])),
                        ("sku", json!(format!("BF-{product}-{}", l.variant))),
                        ("quantity", json!(l.quantity)),
                        ("price", json!(money(each))),
                        ("variant_price", json!(money(each))),
                        ("line_price", json!(money(each * u64::from(l.quantity)))),
                        ("tax_lines", json!([])),
                    ],
                );
                line
            })
            .collect();
        let mut v = self.checkout.clone();
        set(
            &mut v,
            vec![
                ("token", json!(c.token)),
                (
                    "cart_token",
                    json!(c.token.chars().rev().collect::<String>()),
                ),
                ("email", json!(email)),
                ("customer", customer),
                ("created_at", time(c.created)),
                ("updated_at", time(e.at)),
                ("completed_at", Value::Null),
                ("currency", json!("GBP")),
                ("presentment_currency", json!("GBP")),
                ("name", json!(format!("#c{}", e.entity))),
                (
                    "abandoned_checkout_url",
                    json!(format!(
                        "https://peak.example.com/checkouts/{}/recover?key=k{}",
                        c.token, e.entity
                    )),
                ),
                ("line_items", Value::Array(lines)),
                ("tax_lines", json!([])),
                ("total_tax", json!("0.00")),
                ("total_price", json!(money(total))),
                ("subtotal_price", json!(money(total - SHIPPING))),
                ("total_line_items_price", json!(money(total - SHIPPING))),
            ],
        );
        v
    }
}

fn consent(plan: &Plan, e: &Event, subscribed: bool) -> Value {
    let c = &plan.customers[e.entity];
    json!({
        "customer_id": c.id,
        "email_address": c.email,
        "email_marketing_consent": {
            "state": if subscribed { "subscribed" } else { "unsubscribed" },
            "opt_in_level": "single_opt_in",
            "consent_updated_at": time(e.at),
        }
    })
}

#[cfg(test)]
mod tests {
    use so_domain::shopify::decode;
    use so_domain::{Topic, TopicName, route_payload};

    use super::*;
    use crate::peak_plan;

    #[test]
    fn stamps_read_back() {
        assert_eq!(version_in(&order_name(930_000_000_000_123_456, 3)), Some(3));
        assert_eq!(
            version_in(&format!("{} - M", product_title(8_300_000_001, 12))),
            Some(12)
        );
        assert_eq!(version_in(&last_name(1)), Some(1));
        assert_eq!(version_in("Peak"), None);
    }

    #[test]
    fn every_body_routes_and_decodes_as_the_service_reads_it() {
        let templates = Templates::load(&crate::payloads::default_dir()).unwrap();
        let plan = peak_plan::build(200, true, 1_000);
        let mut kinds = std::collections::HashSet::new();
        for e in &plan.events {
            if !kinds.insert(e.kind) {
                continue;
            }
            let body = templates.body(&plan, e).unwrap();
            let topic = TopicName::parse(e.kind.topic()).unwrap();
            assert!(
                route_payload(&topic, &body).is_ok(),
                "{} does not route",
                e.kind.topic()
            );
            let known = Topic::parse(e.kind.topic()).unwrap();
            if let Err(err) = decode(known, &body) {
                panic!("{} does not decode: {err:?}", e.kind.topic());
            }
        }
        assert!(kinds.len() >= 11, "{kinds:?}");
    }
}
