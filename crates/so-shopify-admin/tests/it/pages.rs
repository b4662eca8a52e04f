//! Typed pages over generated data: every record exactly once, filters,
//! nested lines, the 60-day order window.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration as TimeDelta, SecondsFormat, Utc};
use so_fake_shopify::{Dataset, GenerateSpec, generate};
use so_shopify_admin::{AdminClient, EmailMarketingState, Page};

use crate::support::{client, fake};

fn dataset() -> Dataset {
    generate(&GenerateSpec::new(260, 2, 0.3))
}

/// Walks a connection from the start; `fetch` gets the cursor.
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

async fn all_customer_ids(client: &AdminClient, filter: Option<&str>, first: u32) -> Vec<u64> {
    walk(|after| {
        let c = client.clone();
        let filter = filter.map(str::to_owned);
        async move {
            c.customers_page(after.as_deref(), filter.as_deref(), first)
                .await
                .unwrap()
        }
    })
    .await
    .into_iter()
    .map(|c| c.id.id())
    .collect()
}

#[tokio::test]
async fn customer_pages_return_every_customer_exactly_once() {
    let (fake, shop) = fake().await;
    let data = dataset();
    shop.seed_dataset(&data);
    let client = client(&fake);
    let ids = all_customer_ids(&client, None, 37).await;
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(ids.len(), data.customers.len(), "duplicates or gaps");
    let expected: BTreeSet<u64> = data.customers.iter().map(|c| c.id).collect();
    assert_eq!(unique, expected);
    // Ids above 2^53 arrive intact.
    assert!(ids.iter().all(|id| *id > 1 << 53));
}

#[tokio::test]
async fn customers_carry_consent_as_seeded() {
    let (fake, shop) = fake().await;
    let data = dataset();
    shop.seed_dataset(&data);
    let client = client(&fake);
    let page = client.customers_page(None, None, 249).await.unwrap();
    assert_eq!(page.nodes.len(), 249);
    let seeded: BTreeMap<u64, _> = data.customers.iter().map(|c| (c.id, c)).collect();
    for c in &page.nodes {
        let s = seeded[&c.id.id()];
        assert_eq!(c.email_address(), s.email.as_deref());
        match &s.email {
            None => assert_eq!(c.marketing_state(), None),
            Some(_) => assert_eq!(
                c.marketing_state().map(|m| m.as_str()),
                Some(s.marketing_state().as_str())
            ),
        }
        assert_eq!(c.updated_at, Some(s.updated_at));
    }
    let subscribed = page
        .nodes
        .iter()
        .filter(|c| c.marketing_state() == Some(EmailMarketingState::Subscribed))
        .count();
    assert!(subscribed > 50, "{subscribed}");
}

#[tokio::test]
async fn incremental_filters_select_by_updated_at() {
    let (fake, shop) = fake().await;
    let data = dataset();
    shop.seed_dataset(&data);
    let client = client(&fake);
    let since = data.customers[10].updated_at;
    let filter = format!(
        "updated_at:>'{}'",
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let ids: BTreeSet<u64> = all_customer_ids(&client, Some(&filter), 100)
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<u64> = data
        .customers
        .iter()
        .filter(|c| c.updated_at > since)
        .map(|c| c.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < data.customers.len());
    assert_eq!(ids, expected);
    let subscribed = all_customer_ids(&client, Some("email_marketing_state:SUBSCRIBED"), 200).await;
    assert_eq!(
        subscribed.len(),
        data.count_in_state(so_fake_shopify::MarketingState::Subscribed)
    );
}

#[tokio::test]
async fn order_pages_carry_lines_and_refunds() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(40, 3, 0.3));
    shop.seed_dataset(&data);
    // Order pages are expensive (~30 points an order): a Plus-sized restore
    // rate keeps the test fast.
    shop.set_bucket(2000.0, 2000.0);
    let client = client(&fake);
    let orders = walk(|after| {
        let c = client.clone();
        async move { c.orders_page(after.as_deref(), None, 250).await.unwrap() }
    })
    .await;
    // 250 was clamped to what fits in 1000 points.
    assert!(
        shop.requests()
            .iter()
            .all(|r| r.requested_cost <= Some(1000))
    );
    assert_eq!(orders.len(), data.orders.len());
    let seeded: BTreeMap<u64, _> = data.orders.iter().map(|o| (o.id, o)).collect();
    for o in &orders {
        let s = seeded[&o.id.id()];
        let lines: Vec<u64> = o.line_items.nodes.iter().map(|l| l.id.id()).collect();
        let expected: Vec<u64> = s.line_items.iter().map(|l| l.id).collect();
        assert_eq!(lines, expected);
        assert!(!o.line_items.truncated());
        assert_eq!(o.customer.as_ref().map(|c| c.id.id()), s.customer_id);
        assert_eq!(
            o.current_total_price_set
                .as_ref()
                .map(|m| m.shop_money.amount.as_str()),
            Some(s.current_total_price.as_str())
        );
        assert_eq!(o.refunds.len(), s.refunds.len());
        for (r, sr) in o.refunds.iter().zip(&s.refunds) {
            let refunded: Vec<u64> = r
                .refund_line_items
                .nodes
                .iter()
                .filter_map(|l| l.line_item.as_ref().map(|li| li.id.id()))
                .collect();
            let expected: Vec<u64> = sr.line_items.iter().map(|l| l.line_item_id).collect();
            assert_eq!(refunded, expected);
        }
    }
    assert!(orders.iter().any(|o| !o.refunds.is_empty()));
}

#[tokio::test]
async fn without_read_all_orders_only_the_last_60_days_are_visible() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(40, 3, 0.3));
    shop.seed_dataset(&data);
    shop.set_read_all_orders(false);
    let client = client(&fake);
    let orders = walk(|after| {
        let c = client.clone();
        async move { c.orders_page(after.as_deref(), None, 8).await.unwrap() }
    })
    .await;
    let cutoff = Utc::now() - TimeDelta::days(60);
    let expected = data
        .orders
        .iter()
        .filter(|o| o.created_at >= cutoff)
        .count();
    assert_eq!(orders.len(), expected);
    assert!(expected > 0 && expected < data.orders.len());
}

#[tokio::test]
async fn products_and_checkouts_page_through() {
    let (fake, shop) = fake().await;
    let data = generate(&GenerateSpec::new(200, 0, 0.3));
    shop.seed_dataset(&data);
    let client = client(&fake);
    let products = walk(|after| {
        let c = client.clone();
        async move { c.products_page(after.as_deref(), None, 7).await.unwrap() }
    })
    .await;
    assert_eq!(products.len(), data.products.len());
    for p in &products {
        let s = data.products.iter().find(|s| s.id == p.id.id()).unwrap();
        let variants: Vec<u64> = p.variants.nodes.iter().map(|v| v.id.id()).collect();
        assert_eq!(
            variants,
            s.variants.iter().map(|v| v.id).collect::<Vec<_>>()
        );
        assert_eq!(p.status.as_deref(), Some(s.status.as_str()));
    }
    let checkouts = walk(|after| {
        let c = client.clone();
        async move {
            c.abandoned_checkouts_page(after.as_deref(), None, 5)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(checkouts.len(), data.checkouts.len());
    assert!(!checkouts.is_empty());
    for c in &checkouts {
        let s = data.checkouts.iter().find(|s| s.id == c.id.id()).unwrap();
        assert_eq!(c.token(), Some(s.token.as_str()));
        assert_eq!(c.completed_at, s.completed_at);
        assert_eq!(c.line_items.nodes.len(), s.line_items.len());
        assert_eq!(c.customer.as_ref().map(|k| k.id.id()), s.customer_id);
    }
}
