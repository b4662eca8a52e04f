//! Deterministic, realistic-looking shop data for tests and benchmarks.
//!
//! The same [`GenerateSpec`] always yields the same dataset: a small
//! splitmix64 generator (stable across dependency versions) drives every
//! choice, and timestamps are offsets back from `spec.now`.
//!
//! - Ids are above 2^53, like Shopify's, so a client that parses them as
//!   `f64` loses precision and fails.
//! - Emails are `first.last.N@example.com`; about 1 in 40 customers who are
//!   not subscribed have no email at all (phone only).
//! - Exactly `floor(customers × subscriber_share)` customers are
//!   `SUBSCRIBED`, spread evenly; the rest are mostly `NOT_SUBSCRIBED`, then
//!   `UNSUBSCRIBED`, `PENDING`, and a few `INVALID` / `REDACTED`.
//! - Customers were created over the last two years; each has
//!   `orders_per_customer` orders placed after that, with 1–3 lines from the
//!   catalogue; about 1 in 10 orders has a refund, 1 in 50 is cancelled.
//! - About `checkout_share` of customers with an email have an abandoned
//!   checkout from the last 30 days, 30% of them later completed.

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};

use crate::model::{
    AbandonedCheckout, Address, CheckoutLineItem, Customer, EmailConsent, LineItem, MarketingState,
    OptInLevel, Order, Product, Refund, RefundLineItem, Variant,
};

/// First customer id; all generated ids are above 2^53.
pub const CUSTOMER_ID_BASE: u64 = 7_000_000_000_000_000_000;
const ORDER_ID_BASE: u64 = 5_600_000_000_000_000_000;
const LINE_ITEM_ID_BASE: u64 = 14_000_000_000_000_000_000;
const REFUND_ID_BASE: u64 = 980_000_000_000_000_000;
const REFUND_LINE_ID_BASE: u64 = 650_000_000_000_000_000;
const PRODUCT_ID_BASE: u64 = 8_100_000_000_000_000_000;
const VARIANT_ID_BASE: u64 = 4_400_000_000_000_000_000;
const CHECKOUT_ID_BASE: u64 = 3_300_000_000_000_000_000;
const CHECKOUT_LINE_ID_BASE: u64 = 2_200_000_000_000_000_000;
/// Spacing between consecutive generated ids.
const ID_STRIDE: u64 = 1_009;

const FIRST_NAMES: &[&str] = &[
    "Olivia", "Noah", "Amelia", "George", "Isla", "Muhammad", "Ava", "Oliver", "Mia", "Leo",
    "Freya", "Arthur", "Lily", "Oscar", "Sophia", "Harry", "Grace", "Theo", "Ella", "Jack",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
];
const CITIES: &[(&str, &str)] = &[
    ("London", "E1 6AN"),
    ("Manchester", "M1 1AE"),
    ("Leeds", "LS1 4DY"),
    ("Bristol", "BS1 5TR"),
    ("Glasgow", "G1 1XQ"),
    ("Cardiff", "CF10 1EP"),
];
const PRODUCT_WORDS: &[&str] = &[
    "Linen", "Wool", "Canvas", "Leather", "Cotton", "Merino", "Denim", "Cashmere",
];
const PRODUCT_KINDS: &[&str] = &["Shirt", "Jumper", "Tote", "Belt", "Scarf", "Jacket", "Cap"];
const TAGS: &[&str] = &["vip", "wholesale", "newsletter", "returning"];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSpec {
    pub customers: usize,
    pub orders_per_customer: usize,
    /// Share of customers `SUBSCRIBED`, 0.0–1.0.
    pub subscriber_share: f64,
    pub products: usize,
    /// Share of customers with an email who have an abandoned checkout.
    pub checkout_share: f64,
    pub seed: u64,
    /// Timestamps are spread back from here.
    pub now: DateTime<Utc>,
}

impl GenerateSpec {
    /// 25 products, 20% abandoned checkouts, a fixed seed, and `now` at the
    /// start of today (UTC) so a day's runs agree and recent orders stay
    /// within the 60-day window.
    pub fn new(customers: usize, orders_per_customer: usize, subscriber_share: f64) -> Self {
        let now = Utc::now();
        let today = Utc
            .timestamp_opt(now.timestamp() - now.timestamp().rem_euclid(86_400), 0)
            .single()
            .unwrap_or(now);
        GenerateSpec {
            customers,
            orders_per_customer,
            subscriber_share: subscriber_share.clamp(0.0, 1.0),
            products: 25,
            checkout_share: 0.2,
            seed: 0x5EED_0F5A_5409,
            now: today,
        }
    }
}

/// A generated shop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub products: Vec<Product>,
    pub checkouts: Vec<AbandonedCheckout>,
}

impl Dataset {
    /// Customers in `state`.
    pub fn count_in_state(&self, state: MarketingState) -> usize {
        self.customers
            .iter()
            .filter(|c| c.email.is_some() && c.marketing_state() == state)
            .count()
    }
}

/// splitmix64: tiny, fast, and its output never changes between releases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// A moment in `[from, to]`.
    fn between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds().max(0) as u64;
        from + TimeDelta::seconds(self.below(span + 1) as i64)
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn id(base: u64, i: usize) -> u64 {
    base + (i as u64) * ID_STRIDE
}

/// Builds the dataset `spec` describes.
pub fn generate(spec: &GenerateSpec) -> Dataset {
    let mut rng = Rng(spec.seed);
    let now = spec.now;
    let two_years_ago = now - TimeDelta::days(730);
    let products = products(spec, &mut rng, two_years_ago);

    let mut data = Dataset {
        products,
        ..Dataset::default()
    };
    let (mut line_n, mut refund_n, mut refund_line_n, mut order_n, mut checkout_n) =
        (0, 0, 0, 0, 0);
    for i in 0..spec.customers {
        let c = customer(spec, &mut rng, i, two_years_ago);
        for _ in 0..spec.orders_per_customer {
            let placed = rng.between(c.created_at, now);
            let mut lines = Vec::new();
            for _ in 0..=rng.below(3) {
                let p = &data.products[rng.below(data.products.len() as u64) as usize];
                let v = &p.variants[rng.below(p.variants.len() as u64) as usize];
                lines.push(LineItem {
                    id: id(LINE_ITEM_ID_BASE, line_n),
                    quantity: 1 + rng.below(3) as u32,
                    sku: v.sku.clone(),
                    title: p.title.clone(),
                    variant_id: Some(v.id),
                    product_id: Some(p.id),
                    unit_price: v.price.clone(),
                });
                line_n += 1;
            }
            let cents = |l: &LineItem| {
                let (whole, frac) = l.unit_price.split_once('.').unwrap_or((&l.unit_price, "0"));
                whole.parse::<u64>().unwrap_or(0) * 100 + frac.parse::<u64>().unwrap_or(0)
            };
            let subtotal: u64 = lines.iter().map(|l| cents(l) * u64::from(l.quantity)).sum();
            let mut refunds = Vec::new();
            let mut current = subtotal;
            let mut status = "PAID";
            let roll = rng.below(100);
            let mut cancelled_at = None;
            if roll < 10 {
                let l = &lines[0];
                refunds.push(Refund {
                    id: id(REFUND_ID_BASE, refund_n),
                    created_at: rng.between(placed, now),
                    total_refunded: money(cents(l)),
                    line_items: vec![RefundLineItem {
                        id: id(REFUND_LINE_ID_BASE, refund_line_n),
                        line_item_id: l.id,
                        quantity: 1,
                        subtotal: money(cents(l)),
                    }],
                });
                refund_n += 1;
                refund_line_n += 1;
                current -= cents(l);
                status = if current == 0 {
                    "REFUNDED"
                } else {
                    "PARTIALLY_REFUNDED"
                };
            } else if roll < 12 {
                cancelled_at = Some(rng.between(placed, now));
                current = 0;
                status = "VOIDED";
            }
            let updated = refunds
                .iter()
                .map(|r| r.created_at)
                .chain(cancelled_at)
                .max()
                .unwrap_or(placed);
            data.orders.push(Order {
                id: id(ORDER_ID_BASE, order_n),
                name: format!("#{}", 1001 + order_n),
                email: c.email.clone(),
                customer_id: Some(c.id),
                created_at: placed,
                updated_at: updated,
                processed_at: placed,
                cancelled_at,
                currency: "GBP".to_owned(),
                subtotal_price: money(subtotal),
                // UK VAT is included in the price: 1/6 of the gross.
                total_tax: money(subtotal / 6),
                total_discounts: "0.00".to_owned(),
                total_price: money(subtotal),
                current_total_price: money(current),
                financial_status: status.to_owned(),
                line_items: lines,
                refunds,
            });
            order_n += 1;
        }
        if c.email.is_some() && rng.unit() < spec.checkout_share {
            let created = rng.between(now - TimeDelta::days(30), now);
            let p = &data.products[rng.below(data.products.len() as u64) as usize];
            let v = &p.variants[0];
            let completed = (rng.below(10) < 3).then(|| rng.between(created, now));
            let token: String = (0..2).map(|_| format!("{:016x}", rng.next())).collect();
            data.checkouts.push(AbandonedCheckout {
                id: id(CHECKOUT_ID_BASE, checkout_n),
                token,
                created_at: created,
                updated_at: completed.unwrap_or(created),
                completed_at: completed,
                customer_id: Some(c.id),
                currency: "GBP".to_owned(),
                total_price: v.price.clone(),
                line_items: vec![CheckoutLineItem {
                    id: id(CHECKOUT_LINE_ID_BASE, checkout_n),
                    title: p.title.clone(),
                    quantity: 1,
                    variant_id: Some(v.id),
                    product_id: Some(p.id),
                    sku: v.sku.clone(),
                }],
            });
            checkout_n += 1;
        }
        data.customers.push(c);
    }
    data
}

fn products(spec: &GenerateSpec, rng: &mut Rng, since: DateTime<Utc>) -> Vec<Product> {
    let mut variant_n = 0;
    (0..spec.products.max(1))
        .map(|i| {
            let title = format!("{} {}", rng.pick(PRODUCT_WORDS), rng.pick(PRODUCT_KINDS));
            let created = rng.between(since, spec.now);
            let price = 900 + rng.below(120) * 50;
            let sizes = ["S", "M", "L"];
            let variants = (0..=rng.below(3) as usize)
                .map(|s| {
                    let v = Variant {
                        id: id(VARIANT_ID_BASE, variant_n),
                        sku: Some(format!("SKU-{i:04}-{}", sizes[s])),
                        price: money(price),
                        title: sizes[s].to_owned(),
                    };
                    variant_n += 1;
                    v
                })
                .collect();
            Product {
                id: id(PRODUCT_ID_BASE, i),
                handle: format!("{}-{i}", title.to_lowercase().replace(' ', "-")),
                title,
                vendor: "Fake Threads".to_owned(),
                product_type: "Apparel".to_owned(),
                status: if i % 10 == 9 { "ARCHIVED" } else { "ACTIVE" }.to_owned(),
                tags: Vec::new(),
                created_at: created,
                updated_at: rng.between(created, spec.now),
                variants,
            }
        })
        .collect()
}

fn customer(spec: &GenerateSpec, rng: &mut Rng, i: usize, since: DateTime<Utc>) -> Customer {
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let created = rng.between(since, spec.now);
    let updated = rng.between(created, spec.now);
    let share = spec.subscriber_share;
    let subscribed = ((i + 1) as f64 * share).floor() > (i as f64 * share).floor();
    let has_email = subscribed || rng.below(40) != 0;
    let state = if subscribed {
        MarketingState::Subscribed
    } else {
        match rng.below(100) {
            0..55 => MarketingState::NotSubscribed,
            55..85 => MarketingState::Unsubscribed,
            85..96 => MarketingState::Pending,
            96..98 => MarketingState::Invalid,
            _ => MarketingState::Redacted,
        }
    };
    let (city, zip) = CITIES[rng.below(CITIES.len() as u64) as usize];
    let tags = if rng.below(5) == 0 {
        vec![rng.pick(TAGS).to_owned()]
    } else {
        Vec::new()
    };
    let phone = format!("+4477009{:05}", rng.below(100_000));
    Customer {
        id: id(CUSTOMER_ID_BASE, i),
        email: has_email.then(|| format!("{first}.{last}.{i}@example.com").to_lowercase()),
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        phone: (!has_email || rng.below(3) == 0).then_some(phone),
        state: "ENABLED".to_owned(),
        tags,
        created_at: created,
        updated_at: updated,
        email_consent: has_email.then(|| EmailConsent {
            state,
            opt_in_level: Some(if rng.below(4) == 0 {
                OptInLevel::ConfirmedOptIn
            } else {
                OptInLevel::SingleOptIn
            }),
            consent_updated_at: (state != MarketingState::NotSubscribed)
                .then(|| rng.between(created, updated)),
        }),
        default_address: Some(Address {
            address1: Some(format!("{} High Street", 1 + rng.below(200))),
            city: Some(city.to_owned()),
            province_code: None,
            country_code: Some("GB".to_owned()),
            zip: Some(zip.to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GenerateSpec {
        GenerateSpec {
            now: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            ..GenerateSpec::new(500, 2, 0.3)
        }
    }

    #[test]
    fn deterministic() {
        assert_eq!(generate(&spec()), generate(&spec()));
    }

    #[test]
    fn shape_matches_the_spec() {
        let s = spec();
        let d = generate(&s);
        assert_eq!(d.customers.len(), 500);
        assert_eq!(d.orders.len(), 1000);
        assert_eq!(d.count_in_state(MarketingState::Subscribed), 150);
        assert!(d.customers.iter().all(|c| c.id > (1 << 53)));
        assert!(d.orders.iter().all(|o| o.id > (1 << 53)));
        let no_email = d.customers.iter().filter(|c| c.email.is_none()).count();
        assert!((1..40).contains(&no_email), "{no_email}");
        for state in [
            MarketingState::NotSubscribed,
            MarketingState::Unsubscribed,
            MarketingState::Pending,
        ] {
            assert!(d.count_in_state(state) > 10, "{state:?}");
        }
        let earliest = d.customers.iter().map(|c| c.created_at).min().unwrap();
        assert!(earliest < s.now - TimeDelta::days(600));
        let recent = d
            .orders
            .iter()
            .filter(|o| o.created_at > s.now - TimeDelta::days(60))
            .count();
        assert!(recent > 0 && recent < d.orders.len());
        assert!(d.orders.iter().any(|o| !o.refunds.is_empty()));
        assert!(!d.checkouts.is_empty());
        for o in &d.orders {
            for r in &o.refunds {
                for rl in &r.line_items {
                    assert!(o.line_items.iter().any(|l| l.id == rl.line_item_id));
                }
            }
        }
    }
}
