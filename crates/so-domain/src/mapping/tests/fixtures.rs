//! The sample payloads of every supported topic map without error.

use super::*;

/// Every sample payload of a topic we map decodes and maps without error.
#[test]
fn every_fixture_of_a_supported_topic_maps() {
    use crate::Topic;
    use crate::shopify::{ShopifyPayload, decode};
    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                "../../../../../../shared/fixtures/shopify/",
                $name,
                ".json"
            ))
        };
    }
    let fixtures = [
        (
            Topic::OrdersCreate,
            fixture!("webhook-2026-07-orders__create"),
        ),
        (
            Topic::OrdersUpdated,
            fixture!("webhook-2026-07-orders__updated"),
        ),
        (Topic::OrdersPaid, fixture!("webhook-2026-07-orders__paid")),
        (
            Topic::OrdersFulfilled,
            fixture!("webhook-2026-07-orders__fulfilled"),
        ),
        (
            Topic::OrdersPartiallyFulfilled,
            fixture!("webhook-2026-07-orders__partially_fulfilled"),
        ),
        (
            Topic::OrdersCancelled,
            fixture!("webhook-2026-07-orders__cancelled"),
        ),
        (
            Topic::OrdersEdited,
            fixture!("webhook-2026-07-orders__edited"),
        ),
        (
            Topic::OrdersDelete,
            fixture!("webhook-2026-07-orders__delete"),
        ),
        (
            Topic::RefundsCreate,
            fixture!("webhook-2026-07-refunds__create"),
        ),
        (
            Topic::CustomersCreate,
            fixture!("webhook-2026-07-customers__create"),
        ),
        (
            Topic::CustomersUpdate,
            fixture!("webhook-2026-07-customers__update"),
        ),
        (
            Topic::CustomersUpdate,
            fixture!("webhook-2024-10-customers__update"),
        ),
        (
            Topic::CustomersEnable,
            fixture!("webhook-2026-07-customers__enable"),
        ),
        (
            Topic::CustomersDisable,
            fixture!("webhook-2026-07-customers__disable"),
        ),
        (
            Topic::CustomersDelete,
            fixture!("webhook-2026-07-customers__delete"),
        ),
        (
            Topic::CustomersMerge,
            fixture!("webhook-2026-07-customers__merge"),
        ),
        (
            Topic::CustomersEmailMarketingConsentUpdate,
            fixture!("webhook-2026-07-customers_email_marketing_consent__update"),
        ),
        (
            Topic::CustomersMarketingConsentUpdate,
            fixture!("webhook-2026-07-customers_marketing_consent__update"),
        ),
        (
            Topic::CustomerTagsAdded,
            fixture!("webhook-2026-07-customer_tags_added"),
        ),
        (
            Topic::CustomerTagsRemoved,
            fixture!("webhook-2026-07-customer_tags_removed"),
        ),
        (
            Topic::CustomersPurchasingSummary,
            fixture!("webhook-2026-07-customers__purchasing_summary"),
        ),
        (
            Topic::ProductsCreate,
            fixture!("webhook-2026-07-products__create"),
        ),
        (
            Topic::ProductsUpdate,
            fixture!("webhook-2026-07-products__update"),
        ),
        (
            Topic::ProductsDelete,
            fixture!("webhook-2026-07-products__delete"),
        ),
        (
            Topic::CheckoutsCreate,
            fixture!("webhook-2026-07-checkouts__create"),
        ),
        (
            Topic::CheckoutsUpdate,
            fixture!("webhook-2026-07-checkouts__update"),
        ),
        (
            Topic::CheckoutsDelete,
            fixture!("webhook-2026-07-checkouts__delete"),
        ),
        (
            Topic::CustomersRedact,
            fixture!("webhook-2026-07-customers__redact"),
        ),
        (
            Topic::CustomersDataRequest,
            fixture!("webhook-2026-07-customers__data_request"),
        ),
        (Topic::ShopRedact, fixture!("webhook-2026-07-shop__redact")),
        (
            Topic::AppUninstalled,
            fixture!("webhook-2026-07-app__uninstalled"),
        ),
    ];
    let c = ctx("uk:");
    let who = customer_ref("uk:", 1);
    // Order state from the sample order, for the sample refund (same order id).
    let mut last_order: Option<OrderState> = None;
    for (topic, body) in fixtures {
        let payload = decode(topic, body.as_bytes()).unwrap_or_else(|e| panic!("{topic}: {e:?}"));
        let records: Vec<PushRecord> = match payload {
            ShopifyPayload::Order(o) => {
                let m = map_order(&c, &o, Some(&who), None).unwrap();
                last_order = Some(m.state);
                m.records
            }
            ShopifyPayload::OrderDelete(_) => map_order_delete(&c, last_order.as_ref()).unwrap().1,
            ShopifyPayload::Refund(r) => map_refund(&c, &r, last_order.as_ref()).unwrap().records,
            ShopifyPayload::Customer(cu) => map_customer(&c, &who, &cu, LegacyParts::ALL).unwrap(),
            ShopifyPayload::CustomerDelete(_) => map_customer_delete(&c, &who).unwrap(),
            ShopifyPayload::EmailConsent(u) => map_email_consent(&c, &who, &u).unwrap(),
            ShopifyPayload::SmsConsent(u) => map_sms_consent(&c, &who, &u).unwrap(),
            ShopifyPayload::TagsAdded(t) => map_tags(
                &c,
                &who,
                &apply_tag_change(&TagSet::default(), &t.tags, &[]),
            )
            .unwrap(),
            ShopifyPayload::TagsRemoved(t) => map_tags(
                &c,
                &who,
                &apply_tag_change(&TagSet::default(), &[], &t.tags),
            )
            .unwrap(),
            ShopifyPayload::PurchasingSummary(s) => map_purchasing_summary(&c, &who, &s).unwrap(),
            ShopifyPayload::Product(p) => map_product(&c, &p).unwrap(),
            ShopifyPayload::ProductDelete(d) => map_product_delete(&c, d.id, &[]).unwrap(),
            // Identity-only or not mapped to records (see docs/mapping.md).
            ShopifyPayload::CustomerMerge(_)
            | ShopifyPayload::OrderEdited(_)
            | ShopifyPayload::Checkout(_)
            | ShopifyPayload::CheckoutDelete(_)
            | ShopifyPayload::CustomerRedact(_)
            | ShopifyPayload::DataRequest(_)
            | ShopifyPayload::ShopRedact
            | ShopifyPayload::AppUninstalled
            | ShopifyPayload::NotMapped(_) => Vec::new(),
        };
        for r in &records {
            assert_eq!(r.body["@type"], r.record_type.as_str(), "{topic}");
            assert_eq!(r.body["id"], r.id.as_str(), "{topic}");
            assert!(r.id.starts_with("uk:"), "{topic}: {}", r.id);
        }
    }
}
